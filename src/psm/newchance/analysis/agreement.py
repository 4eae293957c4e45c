"""How many published matching cells a data set reproduces: Table 1, A1–A5, Table 2 and the sub-group table.

:func:`matching_agreement` runs the published specification (:data:`~psm.newchance.analysis.specification.PUBLISHED`)
on every window and sub-group, exactly as the notebooks do, and compares each table with its published
twin cell by cell (:func:`psm.newchance.published.compare.compare_tables`: a reproduced value agrees when
it lies within the published rounding). The sub-group table is compared twice, once with each window's own
outcome and once with the total outcome on each window's sample (the construction the published rows
appear to use). :func:`psm.newchance.published.compare.agreement_counts` turns the result into the counts
per table shown in the report and in ``data/synthetic/README.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from psm.newchance.analysis import tables
from psm.newchance.analysis.specification import main_analyses, subgroup_analyses
from psm.newchance.preparation.prepare import AnalysisFile
from psm.newchance.published import compare

SUBGROUP_TOTAL = "Sub-group table (total outcome)"
"""Name of the second sub-group comparison (total outcome on each window's sample)."""


def matching_agreement(files: AnalysisFile | Mapping[str, AnalysisFile]) -> pd.DataFrame:
    """Every compared cell of the matching tables, published vs reproduced (tidy, one row per cell).

    ``files``: an analysis file (or :func:`~psm.newchance.analysis.specification.load_files`' mapping).
    The ``table`` column names the table: ``"Table 1"``, ``"A1"`` … ``"A5"``, ``"Table 2"``,
    ``"Sub-group table"`` and :data:`SUBGROUP_TOTAL`.
    """
    runs = main_analyses(files)
    parts = [
        compare.compare_tables(tables.balance_table(runs[w]), tables.published_balance_table(w), table=table_id)
        for w, table_id in tables.BALANCE_TABLE_IDS.items()
    ]
    parts.append(compare.compare_tables(tables.effect_table(runs), tables.published_effect_table("table_2"),
                                        table="Table 2"))
    published_subgroups = tables.published_effect_table("subgroups")
    for name, outcome in (("Sub-group table", "window"), (SUBGROUP_TOTAL, "total")):
        reproduced = tables.effect_table(subgroup_analyses(files, outcome=outcome))
        parts.append(compare.compare_tables(reproduced, published_subgroups, table=name))
    return pd.concat(parts, ignore_index=True)


# --- what no data set can reproduce: the before-matching rows --------------------------------------
def _row_cells(published: pd.Series) -> list[tuple[str, float, float]]:
    """(column, low, high) of the published cells of one effect row (flags: low = high = 0 or 1)."""
    cells = []
    for column in tables.EFFECT_COLUMNS:
        value, tolerance, _, kind = compare._published_cell(published[column], None)
        slack = compare._FLOAT_SLACK * max(1.0, abs(value))
        cells.append((column, value - tolerance - slack, value + tolerance + slack))
    return cells


def before_matching_cells(n1: int, n0: int, k1, k0) -> dict[str, np.ndarray]:
    """psmatch2's Unmatched row from the counts alone: ``k1`` of ``n1`` treated and ``k0`` of ``n0``
    controls reoffended (arrays broadcast). treated ``k1/n1``, control ``k0/n0``, their difference,
    the pooled OLS SE ``sqrt(s2 (1/n1 + 1/n0))`` with ``s2 = (k1 (1 - p1) + k0 (1 - p0)) / (n1 + n0 - 2)``
    (the residual sum of squares of a 0/1 outcome is ``k (1 - p)``), t and the star ``|t| >= 1.96``."""
    k1, k0 = np.asarray(k1, float), np.asarray(k0, float)
    p1, p0 = k1 / n1, k0 / n0
    s2 = (k1 * (1 - p1) + k0 * (1 - p0)) / (n1 + n0 - 2)
    se = np.sqrt(s2 * (1 / n1 + 1 / n0))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (p1 - p0) / se
    return {"treated": p1, "control": p0, "difference": p1 - p0, "star": (np.abs(t) >= 1.96).astype(float),
            "se": se, "t": t}


def before_matching_bound(n1s, n0: int, published: pd.Series, *, k1=None, k0=None) -> tuple[int, dict]:
    """The most cells of one published before-matching row that any counts reproduce together.

    Exhaustive: every treated group size ``n1`` in ``n1s`` (an int or a range), every number of
    treated reoffenders ``k1`` (0..n1, or the given one) and of control reoffenders ``k0`` (0..n0, or
    the given one). Returns the maximum number of cells within rounding and one argmax
    ``{"n1", "k1", "k0", "cells": [columns within rounding]}``.
    """
    best, where = -1, {}
    cells = _row_cells(published)
    for n1 in np.atleast_1d(n1s):
        n1 = int(n1)
        if n1 < 2:
            continue
        K1 = np.arange(n1 + 1)[:, None] if k1 is None else np.array([[k1]])
        K0 = np.arange(n0 + 1)[None, :] if k0 is None else np.array([[k0]])
        values = before_matching_cells(n1, n0, K1, K0)
        shape = (len(K1), K0.shape[1])
        hits = {c: np.broadcast_to((values[c] >= lo) & (values[c] <= hi), shape) for c, lo, hi in cells}
        total = sum(h.astype(int) for h in hits.values())
        i, j = np.unravel_index(np.argmax(total), total.shape)
        if total[i, j] > best:
            best = int(total[i, j])
            where = {"n1": n1, "k1": int(K1[i, 0]), "k0": int(K0[0, j]), "cells": [c for c in hits if hits[c][i, j]]}
    return best, where


def _design_sizes() -> tuple[dict[str, int], int, dict[str, tuple[int, int]]]:
    """Treated per window (from the referral strata), controls, and each sub-group's treated and controls
    in the full sample (Table 1's means as counts, which win over the sub-group Ns)."""
    from psm.newchance.synthetic import design

    sizes = [m for (_, _, m, _) in design.REFERRAL_STRATA]
    n1 = {w: sum(sizes[: len(sizes) - k]) for k, w in enumerate(tables.published.WINDOWS)}
    t, c, n = design.TREATED_COUNTS, design.COMPARISON_COUNTS, design.N_COMPARISON
    non_white_t = sum(k for (_, _, _, k) in design.REFERRAL_STRATA)
    sub = {
        "unemployed_only": (n1["total"] - t["employed_or_no_data"], n - c["employed_or_no_data"]),
        "white_only": (n1["total"] - non_white_t, n - c["non_white"]),
        "mh_marker_yes": (t["mh_yes"], c["mh_yes"]),
        "substance_misuse_marker_yes": (t["substance_yes"], c["substance_yes"]),
    }
    return n1, n, sub


TEXT_TOTAL_COUNTS = (90, 161)
"""Reoffenders overall, treated of 410 and comparison of 362: the joint-file text's 22.0% and 44.5%
(which win over Table 2's 0.23 / 0.44 for the total row)."""


def before_matching_proofs() -> pd.DataFrame:
    """For every published before-matching row (Table 2, the sub-group table): the most cells any counts
    reproduce together, by exhaustive search (:func:`before_matching_bound`).

    Group sizes: Table 2's window Ns (treated 410, 407, 396, 380, 348, 248; controls 362); a sub-group's
    full-sample sizes follow from Table 1's means, and in the 6- and 12-month windows its treated size is
    anything the window allows (the controls are all eligible). The total row of Table 2 is also bounded
    with the text's counts (:data:`TEXT_TOTAL_COUNTS`), the decision this data set follows. Columns:
    ``table``, ``row``, ``treated`` (size or range), ``controls``, ``reachable`` (cells of 6),
    ``unreachable`` (6 - reachable), ``example`` (counts attaining it) and ``cells`` (the cells attained).
    """
    n1, n0, sub = _design_sizes()
    published_t2 = tables.published_effect_table("table_2")
    published_sub = tables.published_effect_table("subgroups")
    rows = []

    def add(table, label, treated, size, row, **fixed):
        best, where = before_matching_bound(size, n0 if table == "Table 2" else sub_c, row, **fixed)
        rows.append({"table": table, "row": label, "treated": treated, "controls": n0 if table == "Table 2" else sub_c,
                     "reachable": best, "unreachable": 6 - best,
                     "example": f"{where['k1']}/{where['n1']} vs {where['k0']}", "cells": ", ".join(where["cells"])})

    sub_c = 0
    for w in tables.published.WINDOWS:
        row = published_t2.loc[(w, "before_matching")]
        if w == "total":
            add("Table 2", "total (text counts 90 / 161)", str(n1[w]), n1[w], row,
                k1=TEXT_TOTAL_COUNTS[0], k0=TEXT_TOTAL_COUNTS[1])
        else:
            add("Table 2", w, str(n1[w]), n1[w], row)
    for key, (a, sub_c) in sub.items():
        for w in ("total", "6m", "12m"):
            lo, hi = max(2, a - (n1["total"] - n1[w])), min(a, n1[w])
            size = a if w == "total" else range(lo, hi + 1)
            add("Sub-group table", f"{key} {w}", str(a) if w == "total" else f"{lo}-{hi}", size,
                published_sub.loc[(key, w, "before_matching")])
    return pd.DataFrame(rows)


def unmatched_proofs() -> pd.DataFrame:
    """Unmatched means of A1–A5 that contradict the numbers that win (Table 1's counts, the White-only Ns).

    - A binary covariate with ``K`` treated women coded 1 (Table 1) has, in a window of ``n`` of the
      410 treated, between ``K - (410 - n)`` and ``min(K, n)`` of them: a printed mean whose interval holds
      none of those counts is unreachable.
    - The comparison group is the same 362 women in every window, so its unmatched means equal Table 1's;
      a window table printing another value that no count fits together with Table 1's is unreachable.
    - A5's ethnicity: the White-only N of 12 months (458, consistent with Table 1's 286 White controls)
      leaves ``248 - (458 - 286) = 76`` non-White treated women of 248.

    Columns: ``table``, ``covariate``, ``column``, ``published``, ``reachable`` (the counts' means nearest
    the interval) and ``reason``.
    """
    from psm.newchance.synthetic import design

    n1, n0, _ = _design_sizes()
    t, c = design.TREATED_COUNTS, design.COMPARISON_COUNTS
    non_white = sum(k for (_, _, _, k) in design.REFERRAL_STRATA)
    counts = {"Ethnicity": (non_white, c["non_white"]), "Substance Marker": (t["substance_yes"], c["substance_yes"]),
              "MH marker": (t["mh_yes"], c["mh_yes"]), "Employment": (t["employed_or_no_data"], c["employed_or_no_data"])}
    sums = {"Offence Type": (None, n0 + c["violent"] + 2 * c["property"])}
    rows = []
    table_1 = tables.published_balance_table("total")
    for window, table_id in tables.BALANCE_TABLE_IDS.items():
        if window == "total":
            continue
        published = tables.published_balance_table(window)
        for label, (k1, k0) in {**counts, **sums}.items():
            if k1 is not None:
                n = n1[window]
                lo_k, hi_k = max(0, k1 - (n1["total"] - n)), min(k1, n)
                low, high = _row_interval(published.loc[label, "unmatched_treated"])
                if hi_k / n < low or lo_k / n > high:
                    rows.append({"table": table_id, "covariate": label, "column": "unmatched_treated",
                                 "published": published.loc[label, "unmatched_treated"],
                                 "reachable": f"{lo_k}/{n} to {hi_k}/{n} = {lo_k / n:.4f} to {hi_k / n:.4f}",
                                 "reason": f"Table 1: {k1} of {n1['total']} treated"})
            low, high = _row_interval(published.loc[label, "unmatched_control"])
            if not low <= k0 / n0 <= high:
                rows.append({"table": table_id, "covariate": label, "column": "unmatched_control",
                             "published": published.loc[label, "unmatched_control"], "reachable": f"{k0 / n0:.4f}",
                             "reason": f"the same {n0} controls as Table 1 ({table_1.loc[label, 'unmatched_control']})"})
    twelve = n1["12m"]
    white_controls = n0 - c["non_white"]
    nw = twelve - (458 - white_controls)
    low, high = _row_interval(tables.published_balance_table("12m").loc["Ethnicity", "unmatched_treated"])
    if not low <= nw / twelve <= high:
        rows.append({"table": "A5", "covariate": "Ethnicity", "column": "unmatched_treated",
                     "published": tables.published_balance_table("12m").loc["Ethnicity", "unmatched_treated"],
                     "reachable": f"{nw}/{twelve} = {nw / twelve:.4f}",
                     "reason": f"White-only N 458 (12 months) with {white_controls} White controls"})
    return pd.DataFrame(rows)


def _row_interval(text) -> tuple[float, float]:
    value, tolerance, _, _ = compare._published_cell(text, None)
    slack = compare._FLOAT_SLACK * max(1.0, abs(value))
    return value - tolerance - slack, value + tolerance + slack
