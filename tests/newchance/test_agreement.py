"""Agreement of the committed synthetic data with the published matching tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from psm.effects import _unmatched_row
from psm.newchance.analysis import tables
from psm.newchance.analysis.agreement import (
    SUBGROUP_TOTAL,
    before_matching_bound,
    before_matching_cells,
    before_matching_proofs,
    matching_agreement,
    unmatched_proofs,
)
from psm.newchance.analysis.specification import load_files
from psm.newchance.published.compare import agreement_counts

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "data" / "synthetic"

# Cells of data/synthetic within the published rounding, per table, as stated in data/synthetic/README.md.
COMMITTED_AGREEMENT = {
    "Table 1": 19, "A1": 20, "A2": 20, "A3": 19, "A4": 15, "A5": 18, "Table 2": 54,
    "Sub-group table": 62, SUBGROUP_TOTAL: 74, "overall": 301,
}


@pytest.fixture(scope="module")
def counts():
    return agreement_counts(matching_agreement(load_files(COMMITTED)))


def test_every_published_matching_cell_is_compared(counts):
    """7 covariates x 7 columns per balance table, 12 rows x 6 columns of Table 2, 24 x 6 of the sub-group table."""
    expected = {"Table 1": 49, "A1": 49, "A2": 49, "A3": 49, "A4": 49, "A5": 49, "Table 2": 72,
                "Sub-group table": 144, SUBGROUP_TOTAL: 144}
    assert counts["compared"].drop("overall").to_dict() == expected
    assert counts.loc["overall", "compared"] == 654


def test_agreement_does_not_drop_below_the_committed_figure(counts):
    for table, committed in COMMITTED_AGREEMENT.items():
        assert counts.loc[table, "match"] >= committed, table


def test_readme_states_the_committed_figures():
    readme = (COMMITTED / "README.md").read_text(encoding="utf-8")
    overall = COMMITTED_AGREEMENT["overall"]
    assert f"**{overall} of 654**" in readme


# --- the proofs of unreachability ---------------------------------------------------------------
def test_before_matching_cells_by_hand():
    """90 of 410 treated and 161 of 362 controls: the residual sum of squares of a 0/1 outcome is
    k (1 - k/n), so s2 = (90 * 320/410 + 161 * 201/362) / 770."""
    cells = before_matching_cells(410, 362, 90, 161)
    s2 = (90 * 320 / 410 + 161 * 201 / 362) / 770
    se = np.sqrt(s2 * (1 / 410 + 1 / 362))
    assert cells["treated"] == pytest.approx(90 / 410) and cells["control"] == pytest.approx(161 / 362)
    assert cells["se"] == pytest.approx(se)
    assert cells["t"] == pytest.approx((90 / 410 - 161 / 362) / se)
    assert cells["star"] == 1.0


@settings(max_examples=30, deadline=None)
@given(n1=st.integers(2, 40), n0=st.integers(2, 40), data=st.data())
def test_before_matching_cells_equal_psmatch2s_unmatched_row(n1, n0, data):
    """The counts-only formulas give the library's Unmatched row (pooled OLS SE) on any 0/1 data."""
    k1, k0 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n0))
    if k1 in (0, n1) and k0 in (0, n0):
        return  # no variation within the groups: SE 0
    y = np.r_[np.ones(k1), np.zeros(n1 - k1), np.ones(k0), np.zeros(n0 - k0)]
    row = _unmatched_row(y, np.r_[np.ones(n1), np.zeros(n0)].astype(bool))
    cells = before_matching_cells(n1, n0, k1, k0)
    assert cells["difference"] == pytest.approx(row.difference)
    assert cells["se"] == pytest.approx(row.se)
    assert cells["t"] == pytest.approx(row.t)


def test_table_2_before_matching_rows_reach_at_most_28_of_36_cells():
    """Every count pair of every window: at most 28 of the 36 cells together; the six t-values and
    two SEs (total, 60 days) are never within rounding with the rest."""
    published = tables.published_effect_table("table_2")
    sizes = {"total": 410, "30d": 407, "60d": 396, "90d": 380, "6m": 348, "12m": 248}
    bounds = {w: before_matching_bound(n1, 362, published.loc[(w, "before_matching")]) for w, n1 in sizes.items()}
    assert sum(b for b, _ in bounds.values()) == 28
    assert all("t" not in where["cells"] for _, where in bounds.values())
    # the text's counts (22.0%, 44.5%) leave the total row two cells: the control rate and the star
    best, where = before_matching_bound(410, 362, published.loc[("total", "before_matching")], k1=90, k0=161)
    assert (best, where["cells"]) == (2, ["control", "star"])


def test_readme_proofs_tables_are_the_exhaustive_searches():
    readme = (COMMITTED / "README.md").read_text(encoding="utf-8")
    assert before_matching_proofs().to_markdown(index=False) in readme
    assert unmatched_proofs().to_markdown(index=False, disable_numparse=True) in readme


def test_unmatched_proofs_by_hand():
    """A1 (407 of the 410 treated) prints MH 0.48, but Table 1 leaves at most 193 coded 1: 193/407 =
    0.4742 < 0.475. A3 and A4 print 1.82 for the 362 controls whose mean is 662/362 = 1.8287 (Table 1: 1.83)."""
    proofs = unmatched_proofs().set_index(["table", "covariate", "column"])
    assert ("A1", "MH marker", "unmatched_treated") in proofs.index
    assert 193 / 407 < 0.475
    assert ("A3", "Offence Type", "unmatched_control") in proofs.index
    assert proofs.loc[("A4", "Offence Type", "unmatched_control"), "reachable"] == f"{662 / 362:.4f}"
    assert len(proofs) == 5
