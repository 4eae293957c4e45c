"""Rendering of a :class:`psm.balance.BalanceTable`: the pstest and cobalt layouts as strings, Markdown,
LaTeX and HTML, and the text of Stata's ``pstest, both`` output.

The statistics live in :mod:`psm.balance`; this module only rounds and lays them out. Layout strings use
fixed decimals (means 2, %bias and %reduct 1, t, p and variance ratios 2; cobalt's differences and eCDF
statistics 3); pstest's own text uses Stata's ``%9.0g`` for means (:func:`psm._format.stata_g`). NaN
prints as an empty cell. Applications that print balance in a layout of their own build it from
:attr:`~psm.balance.BalanceTable.table`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from psm._format import stata_g
from psm.summary import Summary, SummaryTable

# (column, header, decimals) of each layout; headers follow pstest and cobalt.
_PSTEST = (  # per sample (U/M): the suffix is appended
    ("mean_treated", ("Mean", "Treated"), 2),
    ("mean_control", ("Mean", "Control"), 2),
    ("pct_bias", ("", "%bias"), 1),
    ("pct_reduction", ("%reduct", "|bias|"), 1),
    ("t", ("t-test", "t"), 2),
    ("p", ("t-test", "p>|t|"), 2),
    ("var_ratio", ("", "V(T)/V(C)"), 2),
)
_COBALT = (
    ("smd_unmatched", ("Diff", "Unmatched"), 3),
    ("smd_matched", ("Diff", "Matched"), 3),
    ("var_ratio_cobalt_unmatched", ("Var. ratio", "Unmatched"), 2),
    ("var_ratio_cobalt_matched", ("Var. ratio", "Matched"), 2),
    ("ecdf_mean_unmatched", ("eCDF mean", "Unmatched"), 3),
    ("ecdf_mean_matched", ("eCDF mean", "Matched"), 3),
    ("ecdf_max_unmatched", ("eCDF max (KS)", "Unmatched"), 3),
    ("ecdf_max_matched", ("eCDF max (KS)", "Matched"), 3),
)
Layout = Literal["pstest", "cobalt"]


def _fmt(value: Any, decimals: int) -> str:
    """Fixed decimals; NaN as an empty cell; no negative zero (``-0.00`` prints as ``0.00``)."""
    if value is None or not np.isfinite(value):
        return ""
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


class BalanceRendering:
    """The views and renderers of :class:`~psm.balance.BalanceTable` (which supplies ``table``,
    ``summary_stats``, ``var_ratio_bounds``, ``source`` and ``labels``)."""

    table: pd.DataFrame
    summary_stats: pd.DataFrame
    var_ratio_bounds: pd.DataFrame
    source: dict[str, str]
    labels: dict[str, str]
    base_levels: tuple[str, ...]

    def label(self, covariate: str) -> str:
        """Display name: ``labels`` entry, else the label of the parent factor plus ``=level``."""
        if covariate in self.labels:
            return self.labels[covariate]
        parent = self.source.get(covariate, covariate)
        if parent != covariate and parent in self.labels:
            return self.labels[parent] + covariate[len(parent) :]
        return covariate

    def _layout_numbers(self, spec: Sequence[tuple[str, tuple[str, str], int]]) -> pd.DataFrame:
        frame = self.table[[c for c, _, _ in spec]].copy()
        frame.columns = pd.MultiIndex.from_tuples([h for _, h, _ in spec])
        frame.index = pd.Index([self.label(c) for c in self.table.index], name="Variable")
        return frame

    def formatted(self, layout: Layout = "pstest") -> pd.DataFrame:
        """Strings at fixed decimals: ``"pstest"`` (one row per covariate and sample, U/M) or ``"cobalt"``."""
        if layout == "pstest":
            return self._pstest_strings()
        if layout != "cobalt":
            raise ValueError(f"layout must be 'pstest' or 'cobalt', got {layout!r}")
        spec = _COBALT
        numbers = self._layout_numbers(spec)
        return pd.DataFrame(
            {h: [_fmt(v, d) for v in numbers[h]] for (_, h, d) in spec}, index=numbers.index
        )

    def _pstest_strings(self) -> pd.DataFrame:
        rows, keys = [], []
        for cov, rec in self.table.iterrows():
            for sample, tag in (("unmatched", "U"), ("matched", "M")):
                cells = {}
                for col, header, d in _PSTEST:
                    name = col if col == "pct_reduction" else f"{col}_{sample}"
                    show = not (col == "pct_reduction" and sample == "unmatched")
                    text = _fmt(rec[name], d) if show else ""
                    if col == "var_ratio" and rec[f"var_ratio_flag_{sample}"]:
                        text += "*"
                    cells[header] = text
                rows.append(cells)
                keys.append((self.label(cov), tag))
        out = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(keys, names=["Variable", "Sample"]))
        out.columns = pd.MultiIndex.from_tuples(out.columns)
        return out

    def _summary_table(self, layout: Layout) -> SummaryTable:
        title = {"pstest": "Balance (pstest)", "cobalt": "Balance (cobalt)"}.get(layout, "")
        return SummaryTable(self.formatted(layout), title)

    def to_markdown(self, layout: Layout = "pstest") -> str:
        """Markdown pipe table (two-row headers joined, e.g. ``Mean: Treated``; ``|`` escaped)."""
        return SummaryTable(self.formatted(layout)).as_markdown()

    def to_latex(self, layout: Layout = "pstest") -> str:
        """LaTeX ``tabular`` (``%``, ``|`` and other special characters escaped)."""
        return SummaryTable(self.formatted(layout)).as_latex()

    def to_html(self, layout: Layout = "pstest") -> str:
        """HTML ``<table>``."""
        return SummaryTable(self.formatted(layout)).as_html()

    def _summary_block(self) -> pd.DataFrame:
        rows = {}
        for sample in ("unmatched", "matched"):
            st = self.summary_stats.loc[sample]
            rows[sample.capitalize()] = {
                "Ps R2": _fmt(st["pseudo_r2"], 3),
                "LR chi2": _fmt(st["lr_chi2"], 2),
                "p>chi2": _fmt(st["p_chi2"], 3),
                "MeanBias": _fmt(st["mean_abs_bias"], 1),
                "MedBias": _fmt(st["median_abs_bias"], 1),
                "B": _fmt(st["rubin_b"], 1) + ("*" if st["rubin_b_flag"] else ""),
                "R": _fmt(st["rubin_r"], 2) + ("*" if st["rubin_r_flag"] else ""),
                "%Var": _fmt(st["pct_var_flagged"], 0),
            }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "Sample"
        return frame

    # ---- pstest-style text -----------------------------------------------------------------------
    def summary(self, layout: Layout = "pstest") -> Summary:
        """The balance table and pstest's summary block as a :class:`~psm.summary.Summary`.

        Its text is laid out like Stata's ``pstest, both`` output (table, footer, summary block); its
        tables (the ``layout`` table, ``"pstest"`` or ``"cobalt"``, and the summary block) feed the HTML,
        LaTeX and Markdown writers.
        """
        b = self.var_ratio_bounds
        notes = [
            f"* if variance ratio outside [{b.loc['unmatched', 'lower']:.2f}; {b.loc['unmatched', 'upper']:.2f}]"
            f" for U and [{b.loc['matched', 'lower']:.2f}; {b.loc['matched', 'upper']:.2f}] for M",
            "* if B>25%, R outside [0.5; 2]",
        ]
        if self.base_levels:
            shown = ", ".join(self.label(c) for c in self.base_levels)
            notes.append(f"Base levels ({shown}) are shown in the table but, as in pstest, left out of the "
                         "probit and of MeanBias, MedBias and %Var.")
        tables = [self._summary_table(layout), SummaryTable(self._summary_block(), "Summary (pstest)")]
        return Summary("Covariate balance before (U) and after (M) matching", tables, notes,
                       text=self._pstest_text())

    def _pstest_text(self) -> str:
        """Text laid out like Stata's ``pstest, both`` output (table, footer, summary block)."""
        names = [self.label(c) for c in self.table.index]
        width = max(22, *(len(n) for n in names))
        rule = "-" * (width + 4) + "+" + "-" * 34 + "+" + "-" * 15 + "+" + "-" * 10
        lines = [
            rule,
            " " * (width - 8) + "  Unmatched |       Mean               %reduct |     t-test    |  V(T)/",
            "Variable".ljust(width - 8) + "    Matched | Treated Control    %bias  |bias| |    t    p>|t| |  V(C)",
            rule,
        ]
        for name, (_, r) in zip(names, self.table.iterrows()):
            for sample, tag in (("unmatched", "U"), ("matched", "M")):
                red = "" if sample == "unmatched" else _fmt(r["pct_reduction"], 1)
                vr = _fmt(r[f"var_ratio_{sample}"], 2) + ("*" if r[f"var_ratio_flag_{sample}"] else "")
                lines.append(
                    f"{(name if tag == 'U' else '').ljust(width + 1)}{tag}  | "
                    f"{stata_g(r[f'mean_treated_{sample}'], 7)} {stata_g(r[f'mean_control_{sample}'], 7)}  "
                    f"{_fmt(r[f'pct_bias_{sample}'], 1):>7}{red:>8} |"
                    f"{_fmt(r[f't_{sample}'], 2):>7}  {_fmt(r[f'p_{sample}'], 3):>5} |{vr:>6}"
                )
            lines.append(" " * (width + 4) + "|" + " " * 34 + "|" + " " * 15 + "|")
        lines.append(rule)
        b = self.var_ratio_bounds
        lines.append(
            f"* if variance ratio outside [{b.loc['unmatched', 'lower']:.2f}; {b.loc['unmatched', 'upper']:.2f}]"
            f" for U and [{b.loc['matched', 'lower']:.2f}; {b.loc['matched', 'upper']:.2f}] for M"
        )
        lines += ["", "-" * 11 + "+" + "-" * 71]
        lines.append(" Sample    | Ps R2   LR chi2   p>chi2   MeanBias   MedBias      B      R     %Var")
        lines.append("-" * 11 + "+" + "-" * 71)
        for sample, tag in (("unmatched", " Unmatched"), ("matched", " Matched  ")):
            st = self.summary_stats.loc[sample]
            row = (
                f"{tag} | {_fmt(st['pseudo_r2'], 3):>6} {_fmt(st['lr_chi2'], 2):>9} {_fmt(st['p_chi2'], 3):>8}"
                f"   {_fmt(st['mean_abs_bias'], 1):>6}    {_fmt(st['median_abs_bias'], 1):>6}"
                f"    {_fmt(st['rubin_b'], 1):>6}{'*' if st['rubin_b_flag'] else ''}"
            )
            row = row.ljust(69) + f"{_fmt(st['rubin_r'], 2):>5}{'*' if st['rubin_r_flag'] else ''}"
            lines.append(row.ljust(78) + f"{_fmt(st['pct_var_flagged'], 0):>3}")
        lines.append("-" * 11 + "+" + "-" * 71)
        lines.append("* if B>25%, R outside [0.5; 2]")
        if self.base_levels:
            shown = ", ".join(self.label(c) for c in self.base_levels)
            lines.append(f"Base levels ({shown}) are shown above but, as in pstest, left out of the probit")
            lines.append("and of MeanBias, MedBias and %Var.")
        return "\n".join(lines)

