"""The report's front page: ``index.html`` and ``README.md`` linking every output under the folder.

Both pages give the run's parameters, the data source (``dataset.yaml`` description, a SYNTHETIC DATA
banner when ``synthetic: true``), the package versions and the date, then link each executed
notebook, each table (CSV, markdown, published-vs-reproduced view) and each figure. Captions come
from the writer's manifest; any other file found under the folder is listed too, so nothing written
goes unlinked.
"""

from __future__ import annotations

import datetime as dt
import platform
from dataclasses import dataclass, field
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

from psm.newchance.report.writer import MANIFEST, SYNTHETIC_BANNER, read_manifest

__all__ = ["VERSIONED_PACKAGES", "DatasetInfo", "RunInfo", "package_versions", "write_index"]

#: Packages whose versions the index reports (with Python itself).
VERSIONED_PACKAGES: tuple[str, ...] = ("psm", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "nbclient")
_PAGES = ("index.html", "README.md")
_HIDDEN = {MANIFEST, ".psm-report"}


def package_versions() -> dict[str, str]:
    """Installed versions of :data:`VERSIONED_PACKAGES` and Python ("not installed" if absent)."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            if name == "psm":  # running from a source tree without installation
                import psm

                versions[name] = f"{psm.__version__} (source tree)"
            else:
                versions[name] = "not installed"
    return versions


@dataclass(frozen=True)
class DatasetInfo:
    """The data source as the front pages state it: folder, ``dataset.yaml`` description, synthetic
    flag, and the extract date used (command line or dataset.yaml)."""

    path: Path
    description: str
    synthetic: bool
    extract_date: str


@dataclass(frozen=True)
class RunInfo:
    """Everything the front page states about a run."""

    parameters: dict[str, Any]
    dataset: DatasetInfo
    started: dt.datetime
    seconds: float
    notebooks: list[tuple[str, str, float]]  # (notebook file name, html path relative to out_dir, seconds)
    versions: dict[str, str] = field(default_factory=package_versions)


def _other_files(out_dir: Path, linked: set[str]) -> list[str]:
    files = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    return [f for f in files if f not in linked and f not in _HIDDEN and f not in _PAGES]


def _collect(out_dir: Path, run: RunInfo) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    entries = read_manifest(out_dir)
    tables = [e for e in entries if e["kind"] == "table"]
    figures = [e for e in entries if e["kind"] == "figure"]
    linked = {f for e in entries for f in e["files"].values()} | {html for _, html, _ in run.notebooks}
    return tables, figures, _other_files(out_dir, linked)


def _comparison_text(entry: dict[str, Any]) -> str:
    counts = entry.get("comparison")
    if not counts:
        return ""
    compared = counts.get("match", 0) + counts.get("differs", 0)
    return f"{counts.get('match', 0)}/{compared} cells within published rounding"


_TABLE_LINKS = (("csv", "CSV"), ("markdown", "markdown"), ("comparison_html", "published vs reproduced"),
                ("comparison_markdown", "(md)"), ("comparison_csv", "(csv)"))  # fmt: skip


def _facts(run: RunInfo) -> dict[str, list[tuple[str, str]]]:
    ds = run.dataset
    return {
        "Run": [
            ("date", run.started.strftime("%Y-%m-%d %H:%M UTC")),
            ("duration", f"{run.seconds:.1f} s"),
            *[(k, "(none)" if v is None else str(v)) for k, v in run.parameters.items()],
        ],
        "Data source": [
            ("folder", str(ds.path)),
            ("description", ds.description or "(none given)"),
            ("synthetic", "yes — not real people" if ds.synthetic else "no — supplied data; aggregates only, small counts suppressed"),
            ("extract date used", ds.extract_date),
        ],
        "Software": list(run.versions.items()),
    }


def _html(out_dir: Path, run: RunInfo) -> str:
    tables, figures, others = _collect(out_dir, run)
    e = escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>New Chance re-analysis — report</title>',
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}"
        ".banner{background:#b00020;color:#fff;font-weight:bold;padding:.6em;font-size:1.3em}"
        "figure{display:inline-block;margin:.5em;max-width:30em}img{max-width:100%}</style></head><body>",
        "<h1>New Chance re-analysis — report</h1>",
    ]
    if run.dataset.synthetic:
        parts.append(f'<p class="banner">{SYNTHETIC_BANNER}: every number here comes from made-up people, '
                     "not from the New Chance evaluation.</p>")  # fmt: skip
    for title, rows in _facts(run).items():
        parts.append(f"<h2>{e(title)}</h2><table>")
        parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows]
        parts.append("</table>")
    parts.append("<h2>Notebooks</h2><ul>")
    parts += [f'<li><a href="{e(html)}">{e(name)}</a> ({sec:.1f} s)</li>' for name, html, sec in run.notebooks]
    parts.append(f"</ul><h2>Tables ({len(tables)})</h2>")
    if tables:
        parts.append("<table><tr><th>notebook</th><th>table</th><th>files</th><th>published</th></tr>")
        for t in tables:
            links = " ".join(f'<a href="{e(t["files"][k])}">{label}</a>' for k, label in _TABLE_LINKS if k in t["files"])
            parts.append(f"<tr><td>{e(t['section'])}</td><td>{e(t['caption'])}</td><td>{links}</td>"
                         f"<td>{e(_comparison_text(t))}</td></tr>")  # fmt: skip
        parts.append("</table>")
    parts.append(f"<h2>Figures ({len(figures)})</h2>")
    for f in figures:
        png = e(f["files"]["png"])
        parts.append(f'<figure><a href="{png}"><img src="{png}" alt="{e(f["caption"])}"></a>'
                     f"<figcaption>{e(f['section'])}: {e(f['caption'])}</figcaption></figure>")  # fmt: skip
    if others:
        parts.append("<h2>Other files</h2><ul>")
        parts += [f'<li><a href="{e(o)}">{e(o)}</a></li>' for o in others]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(out_dir: Path, run: RunInfo) -> str:
    tables, figures, others = _collect(out_dir, run)
    lines = ["# New Chance re-analysis — report", ""]
    if run.dataset.synthetic:
        lines += [f"> **{SYNTHETIC_BANNER}**: every number here comes from made-up people, not from the New Chance evaluation.", ""]
    for title, rows in _facts(run).items():
        lines += [f"## {title}", "", "| | |", "| --- | --- |"]
        lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in rows]
        lines.append("")
    lines += ["## Notebooks", ""]
    lines += [f"- [{name}]({html}) ({sec:.1f} s)" for name, html, sec in run.notebooks]
    lines += ["", f"## Tables ({len(tables)})", ""]
    if tables:
        lines += ["| notebook | table | files | published |", "| --- | --- | --- | --- |"]
        for t in tables:
            links = " ".join(f"[{label}]({t['files'][k]})" for k, label in _TABLE_LINKS if k in t["files"])
            lines.append(f"| {t['section']} | {_md_cell(t['caption'])} | {links} | {_comparison_text(t)} |")
    lines += ["", f"## Figures ({len(figures)})", ""]
    lines += [f"- [{_md_cell(f['caption'])}]({f['files']['png']}) ({f['section']})" for f in figures]
    if others:
        lines += ["", "## Other files", ""] + [f"- [{o}]({o})" for o in others]
    return "\n".join(lines) + "\n"


def write_index(out_dir: Path, run: RunInfo) -> Path:
    """Write ``index.html`` and ``README.md`` into ``out_dir``; return the path of ``index.html``."""
    out_dir = Path(out_dir)
    (out_dir / "README.md").write_text(_markdown(out_dir, run), "utf-8")
    index = out_dir / "index.html"
    index.write_text(_html(out_dir, run), "utf-8")
    return index
