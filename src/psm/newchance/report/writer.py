"""ReportWriter: how notebooks save their tables and figures into the report folder.

A notebook run by the report command receives ``out_dir``, ``synthetic``, ``min_count`` and
``notebook_name`` as parameters and writes through one writer::

    report = ReportWriter(out_dir, synthetic=synthetic, min_count=min_count, section=notebook_name)
    report.table("table_1", balance, caption="Table 1 ...", published=published.balance_table(printed=True))
    report.figure("graph_31", fig, caption="Graph 31 ...")

Layout under ``out_dir``::

    tables/<section>/<name>[_synthetic].csv        full precision, one column per index level
    tables/<section>/<name>[_synthetic].{md,html}  caption, banner, population and N, table, notes
    tables/<section>/<name>[_synthetic]_vs_published.{csv,md,html}   when ``published`` is given:
                                                    agreement count, how to read it, cell by cell
    figures/<section>/<name>[_synthetic].png
    manifest.json                                   captions and files, read by the index

With synthetic data every file name ends in ``_synthetic``, captions start with "SYNTHETIC DATA" and
figures carry the banner. With supplied data every table goes through the disclosure-control layer
(:func:`psm.newchance.report.disclosure.protect_table`: small counts, complements, derived cells,
secondary suppression, extremes; ``counts=``/``derived=`` add to the columns it recognises by name) and
the rule is written under the table. Text cells written to CSV that a spreadsheet would run as a
formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) get a leading apostrophe, and text
in markdown tables is escaped. Every table passes :func:`psm.newchance.report.disclosure.check_no_identifiers` before anything is
written. ``table`` returns the frame as written: display that, not the unsuppressed input, so the
executed notebook (also published as HTML) shows the same numbers.

``out_dir=None`` writes nothing (interactive exploration); the checks still run.

What people read (markdown, HTML) is formatted by :mod:`psm.newchance.report.formatting`: counts as
integers, fixed decimals per statistic, p-values ``<0.001`` below that, readable row labels. Each HTML
page is a complete document (:func:`psm.newchance.report.pages.document`) linking back to the index.
"""

from __future__ import annotations

import json
import re
from html import escape
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from psm.newchance.published import compare
from psm.newchance.report.formatting import format_table, is_number_text
from psm.newchance.report.pages import document, html_table
from psm.newchance.report.disclosure import (
    NOT_SHOWN,
    check_no_identifiers,
    protect_table,
    suppression_marker,
    suppression_note,
)

__all__ = [
    "MANIFEST",
    "MANIFEST_PARTS",
    "SAVED_PNG",
    "SYNTHETIC_BANNER",
    "ReportWriter",
    "csv_safe",
    "finalise_manifest",
    "markdown_safe",
    "read_manifest",
]

MANIFEST = "manifest.json"
MANIFEST_PARTS = ".manifest"
"""Each writer records into ``.manifest/<section>.json`` so notebooks can run at the same time;
:func:`finalise_manifest` merges the parts into ``manifest.json`` at the end of a report."""
SYNTHETIC_BANNER = "SYNTHETIC DATA"
SAVED_PNG = "_psm_report_png"
"""Attribute of a figure saved by :meth:`ReportWriter.figure`: the PNG as written."""
_SYNTHETIC_NOTE = "made-up people generated to resemble the published evaluation; these are not New Chance results"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_BACK = "../../index.html"  # from tables/<section>/ to the index

#: How to read a published-vs-reproduced page, by kind of data.
READING = {
    True: (
        "These are synthetic data: fictional people arranged so that the published specification, run by "
        "these notebooks, reproduces as many published cells as one data set can. A ✓ means the reproduced "
        "value lies within the published rounding. A ✗ is a cell that no data set can reproduce together "
        "with the others (some published numbers contradict each other: the repository's docs/evaluation.md "
        "and data/synthetic/README.md give the proofs) or one the reconstruction has not reached; either way "
        "it says nothing about the New Chance evaluation or about this code."
    ),
    False: (
        "On the evaluation's own data every cell should agree within the published rounding. A ✗ in a "
        "count (N) or an unmatched mean points to a different sample or coding; a ✗ only after matching "
        "can come from tie-breaking, common support or a changed covariate; a ✗ in a significance star or "
        "in the sign of an effect would change a published conclusion and is the worrying kind. Some "
        "published numbers contradict each other (see the repository's docs/evaluation.md), so a few "
        "cells cannot all agree."
    ),
}


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# "<" only where it could open an HTML tag: "<10" and "<0.001" stay as they read
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]>|]|<(?=[A-Za-z/!?]))")


def _map_text(frame: pd.DataFrame, change: Any) -> pd.DataFrame:
    """``frame`` with ``change`` applied to every text cell, column name and index label."""
    def one(value: Any) -> Any:
        return change(value) if isinstance(value, str) else value

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(one)
    out.columns = out.columns.map(lambda c: tuple(one(x) for x in c) if isinstance(c, tuple) else one(c))
    out.index = out.index.map(lambda c: tuple(one(x) for x in c) if isinstance(c, tuple) else one(c))
    out.index.names = [one(n) for n in frame.index.names]
    return out


def _neutralise(text: str) -> str:
    if not text.startswith(_FORMULA_START):
        return text
    try:
        float(text)  # a negative number written as text is data, not a formula
        return text
    except ValueError:
        return "'" + text


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells (and labels) that a spreadsheet would run as a formula, prefixed with ``'``
    (OWASP's advice on CSV injection); numbers and other text are unchanged."""
    return _map_text(frame, _neutralise)


def markdown_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells (and labels) with markdown's special characters backslash-escaped, so a cell
    cannot make a link, an image, HTML or a new table column."""
    return _map_text(frame, lambda text: _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("\n", " "))


def _read_entries(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text("utf-8"))["entries"] if path.exists() else []


def _write_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps({"entries": entries}, indent=1, ensure_ascii=False) + "\n", "utf-8")


def read_manifest(out_dir: Path) -> list[dict[str, Any]]:
    """Entries written by :class:`ReportWriter` under ``out_dir`` (empty if none): the merged
    ``manifest.json`` and any per-notebook parts not merged yet, in section order."""
    out_dir = Path(out_dir)
    entries = _read_entries(out_dir / MANIFEST)
    for part in sorted((out_dir / MANIFEST_PARTS).glob("*.json")):
        entries.extend(_read_entries(part))
    return entries


def finalise_manifest(out_dir: Path) -> list[dict[str, Any]]:
    """Merge the per-notebook parts into ``manifest.json`` (sorted by section) and remove them."""
    out_dir = Path(out_dir)
    entries = sorted(read_manifest(out_dir), key=lambda e: e["section"])
    _write_entries(out_dir / MANIFEST, entries)
    parts = out_dir / MANIFEST_PARTS
    if parts.exists():
        for part in parts.glob("*.json"):
            part.unlink()
        parts.rmdir()
    return entries


def _group_sizes(sizes: Mapping[str, int], min_count: int | None) -> str:
    """``"N = 421 (59 treated, 362 comparison)"`` from ``attrs["group_sizes"]``; with ``min_count``
    (supplied data) the sizes go through :func:`protect_table` as the two groups of a test and their
    total, so a small group shows ``<k`` and takes the other with it."""
    if len(sizes) != 2:
        raise ValueError(f"group_sizes must name two groups (they are protected as a pair), got {dict(sizes)}")
    frame = pd.DataFrame({"N": [sum(sizes.values())], **{f"n_{i}": [n] for i, n in enumerate(sizes.values())}})
    if min_count is not None:
        frame = protect_table(frame, min_count)[0]
    groups = ", ".join(f"{frame[f'n_{i}'].iloc[0]} {name}" for i, name in enumerate(sizes))
    return f"N = {frame['N'].iloc[0]} ({groups})"


def _population_and_n(frame: pd.DataFrame, caption: str, min_count: int | None = None) -> str:
    """``"Population: ...; N = ..."`` from the frame's ``population`` attribute and its ``N`` column
    (or ``group_sizes`` attribute), unless the caption says it already."""
    if "Population:" in caption and "N " in caption:
        return ""
    parts = []
    if frame.attrs.get("population") and "Population:" not in caption:
        parts.append(f"Population: {frame.attrs['population']}")
    if frame.attrs.get("group_sizes") and "N" not in frame.columns:
        parts.append(_group_sizes(frame.attrs["group_sizes"], min_count))
    elif "N" in frame.columns:
        n = pd.to_numeric(frame["N"], errors="coerce").dropna().unique()
        if len(n) == 1:
            parts.append(f"N = {int(n[0])}")
        elif len(n) > 1:
            parts.append(f"N = {int(n.min())} to {int(n.max())} (column N, per row)")
    return "; ".join(parts) + ("." if parts else "")


class ReportWriter:
    """Writes a notebook's tables and figures into the report folder (see the module docstring).

    Parameters
    ----------
    out_dir
        The report folder, or None to write nothing.
    synthetic
        True when the data are synthetic (``dataset.yaml: synthetic: true``): names and captions are
        stamped, figures get a banner, and no count is suppressed.
    min_count
        Threshold of small-count suppression for supplied data (``--min-count``).
    section
        Sub-folder for this notebook's outputs (the notebook's name, e.g. ``01_descriptives``).
    """

    def __init__(self, out_dir: str | Path | None, *, synthetic: bool, min_count: int = 10, section: str = "main"):
        if not _NAME.match(section):
            raise ValueError(f"section must be a plain name (letters, digits, _ . -), got {section!r}")
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.synthetic = bool(synthetic)
        self.min_count = min_count
        self.section = section

    # -- naming ---------------------------------------------------------------------------------

    def _stem(self, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"output name must be a plain file name (letters, digits, _ . -), got {name!r}")
        return f"{name}_synthetic" if self.synthetic else name

    def _caption(self, caption: str) -> str:
        return f"{SYNTHETIC_BANNER} — {caption}" if self.synthetic else caption

    def _path(self, kind: str, filename: str) -> Path:
        assert self.out_dir is not None
        folder = self.out_dir / kind / self.section
        folder.mkdir(parents=True, exist_ok=True)
        return folder / filename

    # -- tables ---------------------------------------------------------------------------------

    def table(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        caption: str,
        published: pd.DataFrame | None = None,
        published_decimals: int | Mapping[Hashable, int] | None = None,
        counts: Sequence[Hashable] = (),
        derived: Sequence[Hashable] = (),
        notes: Sequence[str] = (),
        allow: Sequence[Hashable] = (),
        digits: int = 3,
    ) -> pd.DataFrame:
        """Write a table as CSV and markdown (and a published-vs-reproduced view); return it as written.

        ``counts``/``derived``: count columns and columns computed from them, suppressed below
        ``min_count`` for supplied data (descriptive tables). ``published``: the published table in
        the same layout (preferably printed text, see :func:`psm.newchance.published.compare.compare_tables`;
        ``published_decimals`` gives the precision of numeric cells). ``notes`` are printed under the
        table; ``allow`` lets names through the identifier guard; ``digits``: decimals of plain numbers
        (proportions, means) in the pages people read — counts, percentages, test statistics and
        p-values follow :mod:`psm.newchance.report.formatting`; the CSV keeps full precision. The CSV
        has one column per index level unless the index is a default RangeIndex.
        """
        check_no_identifiers(frame, allow=allow)
        stem = self._stem(name)
        suppress = not self.synthetic
        written, hidden = protect_table(frame, self.min_count, counts=counts, derived=derived) if suppress else (frame, 0)
        notes = [*notes, suppression_note(self.min_count)] if suppress else list(notes)
        entry: dict[str, Any] = {
            "kind": "table",
            "section": self.section,
            "name": name,
            "caption": self._caption(caption),
            "synthetic": self.synthetic,
            "suppressed_cells": hidden,
            "files": {},
        }
        comparison = None
        if published is not None:
            markers = [suppression_marker(self.min_count), NOT_SHOWN]
            reproduced = written.replace(markers, float("nan")) if suppress else written
            comparison = compare.compare_tables(reproduced, published, table=caption, decimals=published_decimals)
            entry["comparison"] = {k: int(v) for k, v in compare.status_counts(comparison).items()}
        if self.out_dir is None:
            return written
        with_index = not isinstance(written.index, pd.RangeIndex)
        csv = self._path("tables", f"{stem}.csv")
        csv_safe(written).to_csv(csv, index=with_index)
        shown = format_table(written, index=with_index, decimals=digits)
        about = _population_and_n(written, caption, self.min_count if suppress else None)
        markdown = self._path("tables", f"{stem}.md")
        markdown.write_text(self._table_markdown(shown, entry["caption"], about, notes), "utf-8")
        page = self._path("tables", f"{stem}.html")
        page.write_text(self._table_html(shown, entry["caption"], about, notes), "utf-8")
        entry["files"] = {"html": self._relative(page), "csv": self._relative(csv), "markdown": self._relative(markdown)}
        if comparison is not None:
            levels = [n if n is not None else f"level_{i + 1}" for i, n in enumerate(written.index.names)]
            entry["files"].update(self._write_comparison(stem, comparison, entry["caption"], levels))
        self._record(entry)
        return written

    def _table_markdown(self, shown: pd.DataFrame, caption: str, about: str, notes: Sequence[str]) -> str:
        lines = [f"### {caption}", ""]
        if self.synthetic:
            lines += [f"> **{SYNTHETIC_BANNER}** — {_SYNTHETIC_NOTE}.", ""]
        if about:
            lines += [about, ""]
        align = ["right" if any(map(str, shown[c])) and all(is_number_text(v) for v in shown[c] if v) else "left"
                 for c in shown.columns]  # fmt: skip
        lines += [markdown_safe(shown).to_markdown(index=False, disable_numparse=True, colalign=align), ""]
        lines += [f"*{note}*" for note in notes]
        return "\n".join(lines).rstrip() + "\n"

    def _table_html(self, shown: pd.DataFrame, caption: str, about: str, notes: Sequence[str]) -> str:
        body = [f"<h1>{escape(caption)}</h1>"]
        if about:
            body.append(f"<p>{escape(about)}</p>")
        body.append(html_table(shown))
        body += [f"<p><em>{escape(note)}</em></p>" for note in notes]
        body.append('<p>Full precision: the CSV file of the same name.</p>')
        return document(caption, "\n".join(body), synthetic=self.synthetic, back=_BACK)

    def _write_comparison(self, stem: str, comparison: pd.DataFrame, caption: str, levels: list[str]) -> dict[str, str]:
        title = f"Published vs reproduced: {caption}"
        counts = compare.status_counts(comparison)
        compared = int(counts["match"] + counts["differs"])
        summary = (f"{int(counts['match'])} of {compared} compared cells agree with the published table within "
                   f"its rounding; {int(counts['differs'])} differ.")  # fmt: skip
        reading = READING[self.synthetic]
        body = "\n".join([
            f"<h1>{escape(title)}</h1>",
            f'<p class="answer"><strong>{escape(summary)}</strong></p>',
            f'<div class="note"><p><strong>How to read this page.</strong> {escape(reading)}</p></div>',
            compare.to_html(comparison, summary=False),
        ])
        markdown = "\n".join([f"### {title}", ""]
                              + ([f"> **{SYNTHETIC_BANNER}** — {_SYNTHETIC_NOTE}.", ""] if self.synthetic else [])
                              + [f"**{summary}**", "", f"*How to read this page.* {reading}", "",
                                 compare.to_markdown(comparison, summary=False)])  # fmt: skip
        files = {}
        for key, suffix, text in (
            ("comparison_html", "html", document(title, body, synthetic=self.synthetic, back=_BACK)),
            ("comparison_markdown", "md", markdown),
            ("comparison_csv", "csv", None),
        ):
            path = self._path("tables", f"{stem}_vs_published.{suffix}")
            if text is None:
                csv_safe(compare.tidy(comparison, levels)).to_csv(path, index=False)
            else:
                path.write_text(text, "utf-8")
            files[key] = self._relative(path)
        return files

    # -- figures --------------------------------------------------------------------------------

    def figure(self, name: str, fig: Any, *, caption: str | None = None, dpi: int = 150) -> Path | None:
        """Save a matplotlib figure as PNG (with the SYNTHETIC DATA banner for synthetic data).

        ``caption`` defaults to the figure's name.
        The banner is added for saving only and removed again. The PNG's bytes are kept on the figure
        (:data:`SAVED_PNG`): a notebook opened with :func:`psm.newchance.report.session.open_notebook`
        displays that image instead of drawing the figure a second time (a multi-panel figure costs
        about half a second of CPU per drawing).
        """
        stem = self._stem(name)
        if self.out_dir is None:
            return None
        path = self._path("figures", f"{stem}.png")
        banner = None
        if self.synthetic:
            banner = fig.text(0.5, 1.0, SYNTHETIC_BANNER, ha="center", va="bottom", color="#b00020",
                              fontsize=12, fontweight="bold")  # fmt: skip
        try:
            fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        finally:
            if banner is not None:
                banner.remove()
        setattr(fig, SAVED_PNG, path.read_bytes())
        fig.stale = False  # as saved (the banner was only lent to the file); a later change makes it stale
        self._record(
            {
                "kind": "figure",
                "section": self.section,
                "name": name,
                "caption": self._caption(caption or name),
                "synthetic": self.synthetic,
                "files": {"png": self._relative(path)},
            }
        )
        return path

    # -- manifest -------------------------------------------------------------------------------

    def _relative(self, path: Path) -> str:
        assert self.out_dir is not None
        return path.relative_to(self.out_dir).as_posix()

    def _record(self, entry: dict[str, Any]) -> None:
        assert self.out_dir is not None
        key = (entry["kind"], entry["name"])
        part = self.out_dir / MANIFEST_PARTS / f"{self.section}.json"
        part.parent.mkdir(parents=True, exist_ok=True)
        entries = [e for e in _read_entries(part) if (e["kind"], e["name"]) != key]
        entries.append(entry)
        _write_entries(part, entries)
