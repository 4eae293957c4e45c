"""The report's front pages, ``index.html`` and ``index.md``: the answer first, then the way in.

1. **Headline** (:mod:`psm.newchance.report.headline`): did New Chance reduce reoffending, and how sure
   are we — Table 2's published and reproduced effect per follow-up window, the equal-follow-up row, the
   Abadie–Imbens interval and the critical Γ, each linking to its table, in words a non-statistician
   reads.
2. **Sections**: each executed notebook, what it holds, and how long it took.
3. **Everything**: every table (readable page, CSV, markdown, published-vs-reproduced view) and every
   figure (a thumbnail linking to the full-size image) by notebook, then the run's parameters, the data
   source (``dataset.yaml`` description, a SYNTHETIC DATA banner when ``synthetic: true``), the package
   versions and the date. Any other file found under the folder is listed too, so nothing goes unlinked.

The folder's ``README.md`` (a note kept in the repository) is neither written nor listed.
"""

from __future__ import annotations

import datetime as dt
import platform
import re
from dataclasses import dataclass, field
from html import escape
from importlib import metadata
from pathlib import Path
from typing import Any

from psm.newchance.report.headline import Headline, headline
from psm.newchance.report.output import KEPT, MARKER
from psm.newchance.report.pages import SYNTHETIC_WARNING, document
from psm.newchance.report.writer import MANIFEST, SYNTHETIC_BANNER, read_manifest

__all__ = ["PAGES", "VERSIONED_PACKAGES", "DatasetInfo", "RunInfo", "package_versions", "write_index"]

#: Packages whose versions the index reports (with Python itself).
VERSIONED_PACKAGES: tuple[str, ...] = ("psm", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "nbclient")
#: The front pages the report writes.
PAGES = ("index.html", "index.md")
_HIDDEN = {MANIFEST, MARKER, *KEPT}
TITLE = "New Chance re-analysis: did the programme reduce reoffending?"


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
    return [f for f in files if f not in linked and f not in _HIDDEN and f not in PAGES]


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
    return f"{counts.get('match', 0)} of {compared} cells agree"


_TABLE_LINKS = (("html", "table"), ("comparison_html", "published vs reproduced"), ("csv", "CSV"),
                ("markdown", "markdown"), ("comparison_csv", "comparison CSV"),
                ("comparison_markdown", "comparison markdown"))  # fmt: skip


def _is_wide(png: Path) -> bool:
    """A figure of several panels side by side (PNG at least twice as wide as high): shown full width
    on the index, so that its panels stay legible."""
    try:
        head = png.read_bytes()[:24]
    except OSError:
        return False
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    return height > 0 and width >= 2 * height


def notebook_title(out_dir: Path, html: str, name: str) -> str:
    """The first heading of an executed notebook's page (its title), or its file name."""
    path = out_dir / html
    text = path.read_text("utf-8", errors="replace") if path.is_file() else ""
    match = re.search(r"<h1[^>]*>(.*?)</h1>", text, flags=re.S)
    if not match:
        return Path(name).stem
    title = re.sub(r"<[^>]+>", "", match.group(1))
    return re.sub(r"\s+", " ", title.replace("¶", "")).strip()


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


# ---------------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------------


def _headline_html(answer: Headline | None) -> list[str]:
    e = escape
    if answer is None:
        return ["<p>The headline needs the tables of the matching (03) and robustness (05) notebooks, "
                "which this run did not write.</p>"]  # fmt: skip
    parts = [f'<div class="answer"><p><strong>{e(answer.verdict)}</strong></p><ul>']
    parts += [f'<li>{e(text)} <a href="{e(link)}">{e(label)}</a></li>' for text, label, link in answer.points]
    parts.append("</ul></div>")
    parts.append('<div class="wrap"><table class="headline"><caption>Reoffending after matching, by follow-up '
                 "window: published (Table 2) and reproduced</caption>")  # fmt: skip
    parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in answer.columns) + "</tr>")
    for row in answer.rows:
        parts.append("<tr>" + "".join(f'<td class="{"text" if i == 0 else "num"}">{e(v)}</td>' for i, v in enumerate(row)) + "</tr>")
    parts.append("</table></div>")
    parts.append(f"<p><small>{e(answer.footnote)}</small></p>")
    return parts


def _agreement(tables: list[dict[str, Any]]) -> list[tuple[str, int, int]]:
    """(caption, cells within the published rounding, cells compared) per compared table, then "All
    compared tables"."""
    rows = []
    for t in tables:
        counts = t.get("comparison")
        if counts:
            caption = t["caption"].removeprefix(f"{SYNTHETIC_BANNER} — ").split(". Population:")[0]
            rows.append((caption, counts.get("match", 0), counts.get("match", 0) + counts.get("differs", 0)))
    if rows:
        rows.append(("All compared tables", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    return rows


def _agreement_note(synthetic: bool) -> str:
    if synthetic:
        return ("Cells of the published tables that the notebooks reproduce within the published rounding. On these "
                "synthetic data a cell that differs is either one no data set can reproduce together with the "
                "others (some published numbers contradict each other; the repository's data/synthetic/README.md "
                "gives the proofs) or one the reconstruction has not reached.")
    return ("Cells of the published tables that the notebooks reproduce within the published rounding. On the "
            "evaluation's own data every cell should agree, except where published numbers contradict each "
            "other (the repository's docs/evaluation.md).")


def _share(match: int, compared: int) -> str:
    return f"{match / compared:.0%}" if compared else "–"


def _html(out_dir: Path, run: RunInfo) -> str:
    tables, figures, others = _collect(out_dir, run)
    e = escape
    answer = headline(out_dir, tables)
    parts = [f"<h1>{e(TITLE)}</h1>"]
    parts += _headline_html(answer)
    parts.append("<h2>Sections</h2><ol start=\"0\">")
    for name, html, seconds in run.notebooks:
        title = notebook_title(out_dir, html, name)
        n_tables = sum(t["section"] == Path(name).stem for t in tables)
        n_figures = sum(f["section"] == Path(name).stem for f in figures)
        parts.append(f'<li><a href="{e(html)}">{e(title)}</a> — the executed notebook as a web page '
                     f"({n_tables} tables, {n_figures} figures; ran in {seconds:.1f} s)</li>")  # fmt: skip
    parts.append("</ol>")
    agreement_rows = _agreement(tables)
    if agreement_rows:
        parts.append(f"<h2>Agreement with the published tables</h2><p>{e(_agreement_note(run.dataset.synthetic))}</p>")
        parts.append("<table><tr><th>table</th><th>cells that agree</th><th>cells compared</th><th>share</th></tr>")
        parts += [f'<tr><td>{e(c)}</td><td class="num">{m}</td><td class="num">{n}</td>'
                  f'<td class="num">{_share(m, n)}</td></tr>' for c, m, n in agreement_rows]  # fmt: skip
        parts.append("</table>")
    titles = {Path(name).stem: notebook_title(out_dir, html, name) for name, html, _ in run.notebooks}
    parts.append(f"<h2>All tables ({len(tables)})</h2>")
    for section in dict.fromkeys(t["section"] for t in tables):
        parts.append(f"<h3>{e(titles.get(section, section))}</h3><ul>")
        for t in (t for t in tables if t["section"] == section):
            links = ", ".join(f'<a href="{e(t["files"][k])}">{label}</a>' for k, label in _TABLE_LINKS if k in t["files"])
            agreement = _comparison_text(t)
            parts.append(f"<li>{e(t['caption'])} — {links}" + (f" ({e(agreement)})" if agreement else "") + "</li>")
        parts.append("</ul>")
    parts.append(f"<h2>All figures ({len(figures)})</h2><p>Click a figure for the full-size image.</p>")
    for f in figures:
        png = e(f["files"]["png"])
        wide = ' class="wide"' if _is_wide(out_dir / f["files"]["png"]) else ""
        parts.append(f'<figure{wide}><a href="{png}"><img src="{png}" alt="{e(f["caption"])}" loading="lazy"></a>'
                     f'<figcaption>{e(f["section"])}: {e(f["caption"])} <a href="{png}">(full size)</a></figcaption>'
                     "</figure>")  # fmt: skip
    if others:
        parts.append("<h2>Other files</h2><ul>")
        parts += [f'<li><a href="{e(o)}">{e(o)}</a></li>' for o in others]
        parts.append("</ul>")
    for title, rows in _facts(run).items():
        parts.append(f"<h2>{e(title)}</h2><table>")
        parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows]
        parts.append("</table>")
    return document(TITLE, "\n".join(parts), synthetic=run.dataset.synthetic)


# ---------------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _markdown(out_dir: Path, run: RunInfo) -> str:
    tables, figures, others = _collect(out_dir, run)
    answer = headline(out_dir, tables)
    lines = [f"# {TITLE}", ""]
    if run.dataset.synthetic:
        lines += [f"> **{SYNTHETIC_BANNER}**: {SYNTHETIC_WARNING}", ""]
    if answer is None:
        lines += ["The headline needs the tables of the matching (03) and robustness (05) notebooks.", ""]
    else:
        lines += [f"**{answer.verdict}**", ""]
        lines += [f"- {text} [{label}]({link})" for text, label, link in answer.points]
        lines += ["", "| " + " | ".join(answer.columns) + " |", "|" + " --- |" * len(answer.columns)]
        lines += ["| " + " | ".join(_md_cell(v) for v in row) + " |" for row in answer.rows]
        lines += ["", f"*{answer.footnote}*", ""]
    lines += ["## Sections", ""]
    for name, html, seconds in run.notebooks:
        lines.append(f"- [{_md_cell(notebook_title(out_dir, html, name))}]({html}) — the executed notebook as a "
                     f"web page ({seconds:.1f} s)")  # fmt: skip
    agreement_rows = _agreement(tables)
    if agreement_rows:
        lines += ["", "## Agreement with the published tables", "", _agreement_note(run.dataset.synthetic), "",
                  "| table | cells that agree | cells compared | share |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {_md_cell(c)} | {m} | {n} | {_share(m, n)} |" for c, m, n in agreement_rows]
    lines += ["", f"## All tables ({len(tables)})", ""]
    for t in tables:
        links = ", ".join(f"[{label}]({t['files'][k]})" for k, label in _TABLE_LINKS if k in t["files"])
        agreement = _comparison_text(t)
        lines.append(f"- {t['section']}: {_md_cell(t['caption'])} — {links}" + (f" ({agreement})" if agreement else ""))
    lines += ["", f"## All figures ({len(figures)})", ""]
    lines += [f"- [{_md_cell(f['caption'])}]({f['files']['png']}) ({f['section']})" for f in figures]
    if others:
        lines += ["", "## Other files", ""] + [f"- [{o}]({o})" for o in others]
    for title, rows in _facts(run).items():
        lines += ["", f"## {title}", "", "| | |", "| --- | --- |"]
        lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def write_index(out_dir: Path, run: RunInfo) -> Path:
    """Write ``index.html`` and ``index.md`` into ``out_dir``; return the path of ``index.html``."""
    out_dir = Path(out_dir)
    (out_dir / "index.md").write_text(_markdown(out_dir, run), "utf-8")
    index = out_dir / "index.html"
    index.write_text(_html(out_dir, run), "utf-8")
    return index
