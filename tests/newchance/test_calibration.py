"""The calibration table: its logic on hand-made inputs, and the committed synthetic data.

``MET`` lists every target the committed synthetic data meet today; the test fails as soon
as one drifts out of its tolerance. ``UNMET`` lists, with the reason, every target they do
not meet; a target that is neither is a new, unexplained miss and fails too.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from psm.newchance.published import calibration
from psm.newchance.published.calibration import Target, calibration_table
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.preparation.prepare import prepare

COMMITTED = Path(__file__).resolve().parents[2] / "data" / "synthetic"

WINDOWS = ("total", "30d", "60d", "90d", "6m", "12m")
MET = {
    "referrals", "January 2020 referrals removed", "invalid reoffending entries removed",
    "treated", "comparison", "joint file",
    *(f"N, {w}" for w in WINDOWS),
    *(f"{c} mean, {g}" for c in calibration.TABLE_1_COLUMNS for g in ("treated", "comparison")),
    "reoffended, treated, overall", "reoffended, comparison, overall", "reoffended, joint file, overall",
    *(f"reoffended, {g}, {w}" for g in ("treated", "comparison") for w in WINDOWS),
    "N, White only, total", "N, White only, 6m", "N, White only, 12m",
    "index offence Other crime share", "index offence Property crime share", "index offence Violent crime share",
    "White North European share", "age mean", "age minimum", "age maximum", "employed share",
    "engagement ongoing share", "engagement did not engage share", "engagement one appointment only share",
    "engagement length: did not engage or one appointment", "engagement length over 6 months share",
    "substance misuse not assessed share", "MH need not assessed share",
    "offences in 12 months before, mean", "offences in 12 months before, maximum",
    "offending history, minimum", "offending history, maximum",
    "reoffended overall, engaged (ongoing)", "reoffended overall, did not engage / one appointment",
    # conflicts with the 91 reoffenders (docs/evaluation.md §10) but happens to fall within 3 pp
    "reoffended overall, did not engage / one appointment (level split)",
}
UNMET = {  # target -> status (the reason is in the table's note and in data/synthetic/README.md)
    **{f"N, Unemployed only, {w}": "conflicts-with-Table-1" for w in ("total", "6m", "12m")},
    **{f"N, MH marker 'Yes', {w}": "conflicts-with-Table-1" for w in ("total", "6m", "12m")},
    **{f"N, Substance misuse marker 'Yes', {w}": "conflicts-with-Table-1" for w in ("total", "6m", "12m")},
    "unemployed share": "conflicts-with-Table-1",
    "substance misuse identified share": "conflicts-with-Table-1",
    "MH need identified share": "conflicts-with-Table-1",
    "offending history, mean": "conflicts-with-Table-1",
    "offences in 12 months after, mean": "conflicts-with-Table-2",
}


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return calibration_table(prepare(load_dataset(COMMITTED)))


# --- the committed synthetic data ------------------------------------------------------------
def test_every_target_is_listed_once(table):
    assert table["target"].is_unique
    assert set(table["target"]) == MET | set(UNMET)
    assert not MET & set(UNMET)


@pytest.mark.parametrize("target", sorted(MET))
def test_met_targets_stay_within_tolerance(table, target):
    row = table.set_index("target").loc[target]
    assert row["passed"] and row["status"] == "met", row.to_dict()


@pytest.mark.parametrize("target", sorted(UNMET))
def test_unmet_targets_carry_their_documented_reason(table, target):
    row = table.set_index("target").loc[target]
    assert not row["passed"]
    assert row["status"] == UNMET[target]
    assert "§" in row["note"]  # points to docs/evaluation.md


def test_every_unmet_reason_is_in_the_readme():
    readme = (COMMITTED / "README.md").read_text()
    for target in UNMET:
        assert target in readme, target


def test_published_column_holds_the_published_numbers(table):
    rows = table.set_index("target")["published"]
    assert rows["referrals"] == 421 and rows["N, 12m"] == 610
    assert rows["Offending History mean, comparison"] == 24.88  # Table 1
    assert rows["reoffended, comparison, overall"] == pytest.approx(0.445)  # joint-file text 44.5%
    assert rows["reoffended, treated, 60d"] == 0.06  # Table 2 before matching


def test_tolerances_are_the_documented_ones(table):
    t = table.set_index("target")["tolerance"]
    assert t["N, 30d"] == 0
    assert t["Age mean, treated"] == pytest.approx(0.02 * 33.04)  # 2% relative
    assert t["MH marker mean, comparison"] == 0.02                # 0.02 absolute for proportions
    assert t["reoffended, treated, 12m"] == 0.015                  # 1.5 percentage points


# --- the table's logic on hand-made inputs ---------------------------------------------------
def _one(value: float, **kwargs) -> pd.Series:
    target = Target("x", "src", kwargs.pop("published", 0.5), kwargs.pop("tolerance", 0.02), lambda af: value, **kwargs)
    return calibration_table(SimpleNamespace(), [target]).iloc[0]


def test_within_tolerance_is_met_including_the_boundary():
    assert _one(0.515)["status"] == "met"
    assert _one(0.52)["passed"]  # |0.52 - 0.5| = 0.02 = tolerance
    assert _one(0.48)["difference"] == pytest.approx(-0.02)


def test_outside_tolerance_is_not_met_or_names_the_conflict():
    assert _one(0.53)["status"] == "not met"
    row = _one(0.53, conflict="history_mean")
    assert row["status"] == "conflicts-with-Table-1" and "§7" in row["note"]
    assert _one(0.51, conflict="history_mean")["status"] == "met"  # a conflict that happens to fit is met


def test_missing_value_fails():
    assert not _one(float("nan"))["passed"]


def test_measures_on_a_tiny_analysis_file():
    data = pd.DataFrame({
        "treated": [1, 1, 1, 0], "reoffended_total": [1.0, 0.0, 0.0, 1.0],
        "engagement_level": ["ongoing", "ongoing", "did_not_engage", None],
    })
    af = SimpleNamespace(data=data)
    targets = {t.target: t for t in calibration.reoffending_targets() + calibration.descriptive_targets()}
    assert targets["reoffended, treated, overall"].measure(af) == pytest.approx(1 / 3)
    assert targets["reoffended, joint file, overall"].measure(af) == pytest.approx(2 / 4)
    assert targets["reoffended overall, engaged (ongoing)"].measure(af) == pytest.approx(1 / 2)
    assert targets["engagement ongoing share"].measure(af) == pytest.approx(2 / 3)


def test_markdown_rendering_lists_every_target(table):
    text = calibration.calibration_markdown(table)
    assert text.count("\n") == len(table) + 1
    assert "| referrals" in text
