"""Balance and overlap figures. Every function returns a :class:`matplotlib.figure.Figure`; none shows it.

* :func:`bias_dotplot` -- pstest's ``both graph``: standardised %bias per covariate before (hollow circle)
  and after (cross) matching, rows sorted by the unmatched bias, descending, with a line at zero
  (pstest.ado l.389-395; the New Chance report's Graph 31).
* :func:`love_plot` -- cobalt's Love plot: absolute SMD before/after with reference lines at 0.1 and
  0.25, or absolute %bias with the 5% line.
* :func:`score_distribution` -- psgraph-like mirrored histograms of the propensity score of treated
  (up) and controls (down), before matching (counts) and after (matching weights), with the region of
  common support shaded and units off support drawn separately.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from psm._balance_inputs import is_matching, resolve_estimand, resolve_samples
from psm.balance import BalanceTable
from psm.plots import style

__all__ = ["bias_dotplot", "love_plot", "score_distribution"]

_MAX_LABELLED_ROWS = 30  # pstest drops the row labels above 30 covariates


def _rows_sorted(table: BalanceTable, key: pd.Series) -> tuple[pd.Index, list[str]]:
    """Covariates ordered by ``key`` descending (top row first) and their display labels."""
    order = key.sort_values(ascending=False, kind="stable").index
    return order, [table.label(c) for c in order]


def _dot_axes(ax: Axes, labels: list[str]) -> np.ndarray:
    """One row per covariate, first label at the top, with faint dotted guides (Stata ``graph dot``)."""
    y = np.arange(len(labels))[::-1].astype(float)
    for yi in y:
        ax.axhline(yi, color=style.LIGHT_GREY, linestyle=":", linewidth=0.8, zorder=0)
    ax.set_yticks(y)
    ax.set_yticklabels(labels if len(labels) <= _MAX_LABELLED_ROWS else [""] * len(labels))
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.tick_params(axis="y", length=0)
    ax.spines["left"].set_visible(False)
    return y


def bias_dotplot(table: BalanceTable, *, title: str | None = None) -> Figure:
    """pstest ``both graph``: %bias before (hollow circle) and after (cross) matching, per covariate.

    Rows are sorted by the unmatched standardised %bias, descending (``over(varname, sort(1)
    descending)``), with a vertical line at 0. Values are ``table.table["pct_bias_unmatched"]`` and
    ``["pct_bias_matched"]``; the two series are the Axes collections labelled "Unmatched" and "Matched".

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> bal = psm.balance(df, ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                   psm.match(df, "treat", ps))
    >>> fig = psm.plots.bias_dotplot(bal)
    >>> [c.get_label() for c in fig.axes[0].collections]
    ['Unmatched', 'Matched']
    """
    t = table.table
    order, labels = _rows_sorted(table, t["pct_bias_unmatched"])
    with style.styled():
        fig, (ax,) = style.new_figure(6.4, 1.2 + 0.32 * len(order))
        y = _dot_axes(ax, labels)
        ax.axvline(0, color=style.GREY, linewidth=1, zorder=1)
        ax.scatter(t.loc[order, "pct_bias_unmatched"], y, marker="o", facecolors="none",
                   edgecolors=style.UNMATCHED, linewidths=1.4, s=42, label="Unmatched", zorder=3)
        ax.scatter(t.loc[order, "pct_bias_matched"], y, marker="x", color=style.MATCHED,
                   linewidths=1.6, s=42, label="Matched", zorder=4)
        ax.set_xlabel("Standardised % bias across covariates (%)")
        ax.set_title(title or "Standardised % bias before and after matching")
        ax.legend(loc="lower right")
    return fig


_LOVE_STATS = {
    "smd": (
        "smd",
        (0.1, 0.25),
        "Absolute standardised mean difference (SD units)\n(binary covariates: difference in proportions)",
        "Standardised mean differences before and after matching",
    ),
    "pct_bias": (
        "pct_bias",
        (5.0,),
        "Absolute standardised % bias (pstest, %)",
        "Standardised % bias before and after matching",
    ),
}


def love_plot(
    table: BalanceTable,
    *,
    stat: Literal["smd", "pct_bias"] = "smd",
    absolute: bool = True,
    thresholds: Sequence[float] | None = None,
    title: str | None = None,
) -> Figure:
    """Love plot (cobalt ``love.plot``): balance statistic per covariate, unmatched vs matched.

    ``stat="smd"`` plots cobalt's SMD (``smd_unmatched``/``smd_matched``: estimand's SD denominator,
    binary covariates as raw differences) with reference lines at 0.1 and 0.25; ``stat="pct_bias"``
    plots pstest's %bias with the 5% line. Rows are sorted by the unmatched value, largest at the top
    (cobalt ``var.order = "unadjusted"``). ``absolute=True`` (default) plots absolute values.

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> bal = psm.balance(df, ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                   psm.match(df, "treat", ps))
    >>> fig = psm.plots.love_plot(bal, stat="pct_bias")
    >>> top = max(fig.axes[0].get_yticklabels(), key=lambda label: label.get_position()[1])
    >>> top.get_text()                                   # the worst-balanced covariate before matching
    'race=black'
    """
    if stat not in _LOVE_STATS:
        raise ValueError(f"stat must be one of {sorted(_LOVE_STATS)}, got {stat!r}")
    prefix, default_lines, xlabel, default_title = _LOVE_STATS[stat]
    t = table.table
    before, after = t[f"{prefix}_unmatched"], t[f"{prefix}_matched"]
    if absolute:
        before, after = before.abs(), after.abs()
    else:
        xlabel = xlabel.replace("Absolute s", "S")
    order, labels = _rows_sorted(table, before)
    lines = default_lines if thresholds is None else tuple(thresholds)
    with style.styled():
        fig, (ax,) = style.new_figure(6.4, 1.2 + 0.32 * len(order))
        y = _dot_axes(ax, labels)
        ax.axvline(0, color=style.GREY, linewidth=1, zorder=1)
        for value in lines:
            for v in (value,) if absolute else (-value, value):
                ax.axvline(v, color=style.GREY, linestyle="--", linewidth=0.9, zorder=1)
        ax.scatter(before.loc[order], y, marker="o", color=style.UNMATCHED, s=36, label="Unmatched", zorder=3)
        ax.scatter(after.loc[order], y, marker="D", color=style.MATCHED, s=30, label="Matched", zorder=4)
        if absolute:
            ax.set_xlim(left=0)
        ax.set_xlabel(xlabel)
        ax.set_title(title or default_title)
        ax.legend(loc="lower right", title=f"Lines at {', '.join(f'{v:g}' for v in lines)}")
    return fig


# --------------------------------------------------------------------------------------------------
# propensity-score distributions (psgraph)


def _histogram_layers(
    ax: Axes, edges: np.ndarray, layers: list[tuple[str, np.ndarray, np.ndarray, str, str | None, float]]
) -> None:
    """Stacked bars per side; ``layers`` = (label, scores, weights, colour, hatch, sign)."""
    width = np.diff(edges)
    bottoms = {1.0: np.zeros(len(width)), -1.0: np.zeros(len(width))}
    for label, values, weights, colour, hatch, sign in layers:
        if values.size == 0:
            continue
        counts, _ = np.histogram(values, bins=edges, weights=weights)
        ax.bar(edges[:-1], sign * counts, width=width, bottom=bottoms[sign], align="edge", color=colour,
               alpha=0.85, edgecolor="white", linewidth=0.5, hatch=hatch, label=label)
        bottoms[sign] = bottoms[sign] + sign * counts
    ax.axhline(0, color="black", linewidth=0.8)
    ax.yaxis.set_major_formatter(lambda v, _: f"{abs(v):g}")


def _support_region(score: np.ndarray, treated: np.ndarray, region: Any) -> tuple[float, float] | None:
    """Default: the overlap ``[max(min1, min0), min(max1, max0)]`` of the two groups' scores."""
    if region is None or region is False:
        return None
    if isinstance(region, str) and region == "overlap":
        s1, s0 = score[treated], score[~treated]
        return float(max(s1.min(), s0.min())), float(min(s1.max(), s0.max()))
    lo, hi = region
    return float(lo), float(hi)


def _coarse_edges(score: np.ndarray, groups: list[np.ndarray], edges: np.ndarray, min_count: int) -> np.ndarray:
    """Merge adjacent bins (left to right; a short remainder joins the last bin) until each group has
    no unit or at least ``min_count`` units in every bin."""
    counts = np.array([np.histogram(score[g], bins=edges)[0] for g in groups])
    kept, pending = [edges[0]], np.zeros(len(groups), dtype=int)
    for k in range(len(edges) - 1):
        pending += counts[:, k]
        if ((pending == 0) | (pending >= min_count)).all():
            kept.append(edges[k + 1])
            pending[:] = 0
    if pending.any():
        if len(kept) > 1:
            kept[-1] = edges[-1]
        else:
            kept.append(edges[-1])

    def last_bin() -> np.ndarray:
        return np.array([((score[g] >= kept[-2]) & (score[g] <= kept[-1])).sum() for g in groups])

    while len(kept) > 2 and not ((last_bin() == 0) | (last_bin() >= min_count)).all():
        del kept[-2]
    return np.asarray(kept)


def score_distribution(
    matching_or_score: Any,
    *,
    treatment: pd.Series | None = None,
    weights: pd.Series | None = None,
    on_support: pd.Series | None = None,
    estimand: str | None = None,
    bins: int | Sequence[float] = 20,
    support_region: Literal["overlap"] | tuple[float, float] | None = "overlap",
    score_label: str = "Propensity score (probability of treatment)",
    title: str | None = None,
    min_count: int | None = None,
) -> Figure:
    """Propensity-score distributions of treated (up) and controls (down), before and after matching.

    ``min_count`` (for confidential data): adjacent bins are merged until every bar of every panel
    holds no units or at least ``min_count`` of them, units off support are counted in the bars of
    their group rather than stacked as a layer of their own, and the legend's off-support counts
    below ``min_count`` read ``<min_count``.

    ``matching_or_score`` is a ``Matching`` (duck-typed: ``.score``, ``.treated``, ``.on_support``,
    ``.weights``) or a score Series, in which case ``treatment`` and ``weights`` (Series on the same
    index) are required. Left panel: counts of all units, with units off support stacked in a hatched
    layer. Right panel: the matched sample, each unit counted with its matching weight as in
    :func:`psm.balance` (reference group: support indicator; others: weight, if on support). The shaded
    band is the region of common support (default: the overlap of the two groups' score ranges, which
    contains every treated unit psmatch2's ``common`` keeps; pass ``(lo, hi)`` to draw another or None).

    Examples
    --------
    >>> import psm
    >>> df = psm.datasets.lalonde()
    >>> ps = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
    ...                         link="logit")
    >>> fig = psm.plots.score_distribution(psm.match(df, "treat", ps))
    >>> [ax.get_title() for ax in fig.axes]
    ['Before matching', 'After matching']
    """
    if is_matching(matching_or_score):
        score = matching_or_score.score
    else:
        if treatment is None or weights is None:
            raise TypeError("with a score Series, pass treatment= and weights= (Series on the same index)")
        score = matching_or_score
    frame = pd.DataFrame(index=score.index)
    estimand = resolve_estimand(matching_or_score, estimand)
    source = matching_or_score if weights is None else weights
    samples = resolve_samples(frame, source, treatment, on_support, estimand, "support")
    s = score.to_numpy(dtype=float)
    tr, sup, w = samples.treated, samples.on_support, samples.weight
    edges = np.histogram_bin_edges(s, bins=bins)
    region = _support_region(s, tr, support_region)
    n_off1, n_off0 = int((tr & ~sup).sum()), int((~tr & ~sup).sum())
    matched = w > 0
    if min_count is None:
        before = [
            ("Treated on support", s[tr & sup], np.ones(int((tr & sup).sum())), style.TREATED, None, 1.0),
            (f"Treated off support (n={n_off1})", s[tr & ~sup], np.ones(n_off1), style.OFF_SUPPORT, "///", 1.0),
            ("Controls on support", s[~tr & sup], np.ones(int((~tr & sup).sum())), style.CONTROL, None, -1.0),
            (f"Controls off support (n={n_off0})", s[~tr & ~sup], np.ones(n_off0), style.OFF_SUPPORT, "\\\\\\", -1.0),
        ]
    else:
        edges = _coarse_edges(s, [tr, ~tr, tr & matched, ~tr & matched], edges, min_count)
        shown = {n: f"<{min_count}" if 0 < n < min_count else str(n) for n in (n_off1, n_off0)}
        before = [
            (f"Treated (off support: {shown[n_off1]})", s[tr], np.ones(int(tr.sum())), style.TREATED, None, 1.0),
            (f"Controls (off support: {shown[n_off0]})", s[~tr], np.ones(int((~tr).sum())), style.CONTROL, None, -1.0),
        ]
    after = [
        ("Treated (weighted)", s[tr & matched], w[tr & matched], style.TREATED, None, 1.0),
        ("Matched controls (weighted)", s[~tr & matched], w[~tr & matched], style.CONTROL, None, -1.0),
    ]
    with style.styled():
        fig, axes = style.new_figure(10.0, 5.0, ncols=2)
        for ax, layers, subtitle, ylabel in (
            (axes[0], before, "Before matching", "Number of units (treated up, controls down)"),
            (axes[1], after, "After matching", "Sum of matching weights (treated up, controls down)"),
        ):
            if region is not None:
                ax.axvspan(*region, color=style.LIGHT_GREY, zorder=0, label="Common support")
            _histogram_layers(ax, edges, layers)
            ax.set_title(subtitle)
            ax.set_xlabel(score_label)
            ax.set_ylabel(ylabel)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
        fig.suptitle(title or "Propensity-score distributions of treated and controls", fontweight="bold")
    return fig
