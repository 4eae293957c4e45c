"""Figures of the descriptive and reoffending sections (Graphs 1–30), drawn from their tables.

Every function takes a table of :mod:`psm.newchance.analysis.descriptives` or
:mod:`psm.newchance.analysis.reoffending` and returns a :class:`matplotlib.figure.Figure` in psm's shared
style (:mod:`psm.plots.style`); nothing is shown and no pyplot state is touched. The plotted values are the
table's (tests check bar heights against the table), so a figure never disagrees with its CSV.

* :func:`distribution_chart` — bars of ``percent`` (labelled with count and percent) with N in the
  title; a table grouped by ``by`` (Graphs 4–6, 8–10, ...) gets one panel per group, each with its N.
* :func:`rate_chart` — bars of the reoffending ``rate`` per category with the average rate drawn as
  a dashed, labelled line (the report's red line); a crossed table (Graphs 29–30) gets grouped bars.

With ``min_count`` (supplied data) a chart is drawn from the table as the report writes it, after
:func:`psm.newchance.report.disclosure.protect_table`: every hidden cell (small counts, complements,
secondary suppression) is a bar not drawn and labelled ``<min_count``, an N below the threshold is
written ``N <min_count`` in titles, and axis limits come from the drawn bars only, so no chart shows
or implies what its table hides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from psm.newchance.report.disclosure import protect_table, suppression_marker
from psm.plots import style

__all__ = ["distribution_chart", "rate_chart"]

_BAR = style.BLUE
_AVERAGE = style.VERMILLION
_SERIES = (style.BLUE, style.ORANGE, style.SKY, style.PURPLE, style.GREY)
_HATCHES = ("", "//", "..", "xx", "\\\\")


def _protected(table: pd.DataFrame, min_count: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(numbers with hidden cells as NaN, the table as written) for a chart of supplied data."""
    if min_count is None:
        return table, table
    written, _ = protect_table(table, min_count)
    numbers = written.apply(lambda column: pd.to_numeric(column, errors="coerce") if column.dtype == object else column)
    return numbers, written


def _n_text(written: pd.DataFrame) -> str:
    n = written["N"].unique()
    if len(n) == 1:
        return f"N = {n[0]}" if not isinstance(n[0], str) else f"N {n[0]}"
    numbers = pd.to_numeric(written["N"], errors="coerce")
    return f"N = {int(numbers.sum())}" if numbers.notna().all() else "N not shown"


def _bars(ax: Axes, labels: list[str], values: np.ndarray, texts: list[str]) -> None:
    """One bar per label, annotated with ``texts`` (at the axis for bars not drawn); long labels slanted."""
    x = np.arange(len(labels))
    drawn = np.isfinite(values)
    bars = ax.bar(x, values, color=_BAR, width=0.7)
    ax.bar_label(bars, [t if ok else "" for t, ok in zip(texts, drawn, strict=True)], fontsize=8, padding=2)
    for xi, text in zip(x[~drawn], np.asarray(texts, dtype=object)[~drawn], strict=True):
        ax.annotate(text, (xi, 0), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x)
    long = max((len(s) for s in labels), default=0) > 8
    ax.set_xticklabels(labels, rotation=30 if long else 0, ha="right" if long else "center")


def distribution_chart(table: pd.DataFrame, *, title: str, min_count: int | None = None) -> Figure:
    """Bar chart of a :func:`~psm.newchance.analysis.descriptives.distribution` table (percent of N).

    Bars are the ``percent`` column, labelled "count (percent%)"; the title ends with "(N = n)".
    With a two-level index (group, category) there is one panel per group, titled "group (N = n)".
    ``min_count`` (supplied data): categories with fewer people are not drawn and labelled "<min_count".
    """
    grouped = table.index.nlevels == 2
    groups = list(dict.fromkeys(table.index.get_level_values(0))) if grouped else [None]
    with style.styled():
        categories = table.index.get_level_values(-1).unique()
        width = max(4.0, 0.55 * len(categories) + 1.5)
        fig, axes = style.new_figure(width * len(groups) if grouped else width, 3.6, ncols=len(groups))
        numbers, written = _protected(table, min_count)
        marker = suppression_marker(min_count) if min_count else ""
        for ax, group in zip(axes, groups, strict=True):
            part = numbers.loc[group] if grouped else numbers
            shown = written.loc[group] if grouped else written
            values = part["percent"].to_numpy(float)
            hidden = pd.isna(part["count"]).to_numpy() & pd.notna(table.loc[group]["count"] if grouped else table["count"]).to_numpy()
            texts = [marker if h else f"{int(c)}\n({v:.0f}%)" if np.isfinite(v) else ""
                     for c, v, h in zip(part["count"], values, hidden, strict=True)]
            _bars(ax, [str(c) for c in part.index], np.where(hidden, np.nan, values), texts)
            ax.set_ylabel("% of N")
            top = np.nanmax(np.where(hidden, np.nan, values), initial=0.0)
            ax.set_ylim(0, max(top * 1.25, 1.0) if min_count is None else 100.0)
            if grouped:
                ax.set_title(f"{group} ({_n_text(shown)})", fontsize=10)
        if grouped:
            fig.suptitle(title, fontweight="bold")
        else:
            axes[0].set_title(f"{title} ({_n_text(written)})")
    return fig


def rate_chart(table: pd.DataFrame, *, title: str, average: float, min_count: int | None = None) -> Figure:
    """Reoffending rate per category of a :func:`~psm.newchance.analysis.reoffending.rate_table`, with the
    average rate as a dashed line labelled "average x%" (the report's red line).

    One index level: one bar per category, labelled with "reoffended/N". Two levels: groups of bars
    (first level on the axis, second level as coloured, hatched series). The title ends with "(N = n)".
    ``min_count`` (supplied data): categories with fewer than ``min_count`` people or reoffenders are
    not drawn.
    """
    numbers, _ = _protected(table, min_count)
    rates = numbers["rate"].astype(float)
    with style.styled():
        if table.index.nlevels == 1:
            labels = [str(c) for c in table.index]
            fig, (ax,) = style.new_figure(max(4.5, 0.7 * len(labels) + 1.5), 3.8)
            texts = [f"{int(r)}/{int(n)}" if np.isfinite(v) else (f"<{min_count}" if min_count else "")
                     for r, n, v in zip(numbers["reoffended"], numbers["N"], rates, strict=True)]
            _bars(ax, labels, rates.to_numpy(float), texts)
        else:
            outer = list(dict.fromkeys(table.index.get_level_values(0)))
            inner = list(dict.fromkeys(table.index.get_level_values(1)))
            fig, (ax,) = style.new_figure(max(6.0, 0.35 * len(outer) * len(inner) + 2.5), 4.2)
            width = 0.8 / len(inner)
            for k, level in enumerate(inner):
                values = rates.xs(level, level=1).reindex(outer).to_numpy(float)
                ax.bar(np.arange(len(outer)) + (k - (len(inner) - 1) / 2) * width, values, width=width,
                       color=_SERIES[k % len(_SERIES)], hatch=_HATCHES[(k // len(_SERIES)) % len(_HATCHES)],
                       edgecolor="white", label=str(level))
            ax.set_xticks(np.arange(len(outer)))
            ax.set_xticklabels([str(o) for o in outer], rotation=30, ha="right")
            ax.legend(title=table.index.names[1], loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.axhline(average, color=_AVERAGE, linestyle="--", linewidth=1.5, label=f"average {average:.0f}%")
        ax.annotate(f"average {average:.0f}%", xy=(1.0, average), xycoords=("axes fraction", "data"),
                    xytext=(3, 0), textcoords="offset points", color=_AVERAGE, fontsize=8, ha="left", va="center")
        top = np.nanmax(rates.to_numpy(float), initial=average)
        ax.set_ylim(0, max(top, average) * 1.2 + 1 if min_count is None else 100.0)
        ax.set_ylabel("Reoffended (%)")
        ax.set_title(f"{title} (N = {int(table['N'].sum())})")
    return fig
