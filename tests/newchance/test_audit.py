"""The audit of published tables: reproduces docs/evaluation.md §12-§14 (and the count
points of §1, §8, §9), passes tables that are consistent by construction, flags broken ones."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from psm.errors import ColumnNotFoundError
from psm.newchance.published.audit import (
    audit_balance,
    audit_effects,
    audit_published,
    audit_windows,
    balance_frame,
    effects_frame,
)
from psm.newchance.published.numbers import published_tables

# the project's account of the published evaluation, with the §13 table of feasible t intervals
EVALUATION = Path(__file__).resolve().parents[2] / "docs" / "evaluation.md"


@pytest.fixture(scope="module")
def published():
    return published_tables()


@pytest.fixture(scope="module")
def audit(published):
    return audit_published(published)


def _keys(findings: pd.DataFrame) -> set[tuple[str, str, str]]:
    return set(zip(findings["table"], findings["row"], findings["check"]))


# --- the published tables ------------------------------------------------------------------
def test_loader_keeps_printed_decimals(published):
    rows = {b["window"]: b for b in published["effects"]["table_2"]["blocks"]}
    assert rows["12 months"]["before_matching"]["t"].text == "-2.8"
    assert rows["total"]["before_matching"]["se"].text == "0.04"
    a5 = next(t for t in published["balance_tables"] if t["id"] == "A5")
    assert a5["rows"][0]["unmatched_treated"].text == "32.1"


def test_effect_findings_are_section_13(audit):
    # §13: 35 of 36 rows pass; only MH 'Yes', 6 months, After: |t| >= 0.365/0.065 = 5.615 vs -5.59
    effects = audit.findings[audit.findings["check"].isin(
        ["t = Difference / S.E.", "star = (|t| >= 1.96)", "Treated - Control = Difference"])]
    assert _keys(effects) == {("Sub-group", "MH marker 'Yes' / 6 months (N 299): After", "t = Difference / S.E.")}
    row = effects.iloc[0]
    assert (row["expected"], row["printed"]) == ("[5.615, 6.818]", "-5.59")
    counts = audit.checks.groupby("check")["verdict"].apply(lambda v: (v == "ok").sum())
    assert counts["star = (|t| >= 1.96)"] == 36 and counts["Treated - Control = Difference"] == 36


def test_feasible_t_intervals_match_the_section_13_table(audit):
    # the "feasible |D|/S.E." column of the §13 table in docs/evaluation.md, computed there by hand
    text = EVALUATION.read_text(encoding="utf-8")
    section = text.split("### §13")[1].split("### §14")[0]
    printed = re.findall(r"^\| (?:Table 2|Sub-group) \|.*?\| (\[[\d.]+, [\d.]+\]) \|", section, flags=re.M)
    ours = audit.checks[audit.checks["check"] == "t = Difference / S.E."]["expected"].tolist()
    assert len(printed) == 36
    assert ours == printed


def test_balance_findings_are_section_12(audit):
    # §12: Table A5 Employment is the only sign failure (%bias +8.2, matched 0.29 - 0.33, t -0.75);
    # all 42 p-values agree with t (df = N - 2)
    balance = audit.findings[audit.findings["check"].str.startswith(("sign", "p ="))]
    assert _keys(balance) == {
        ("A5", "Employment", "sign(%bias) = sign(matched treated - control)"),
        ("A5", "Employment", "sign(%bias) = sign(t)"),
    }
    p_checks = audit.checks[audit.checks["check"].str.startswith("p =")]
    assert len(p_checks) == 42 and (p_checks["verdict"] == "ok").all()


def test_count_findings_are_sections_1_8_9_14(audit):
    counts = audit.findings[~audit.findings["check"].str.startswith(("sign", "p =", "t =", "star", "Treated"))]
    found = {(r.row, r.expected, r.printed) for r in counts.itertuples()}
    assert found == {
        # §14: 610 - 362 = 248 treated in the 12-month window vs N = 247 in the before/after analysis
        ("All / 12 months: treated", "247", "248"),
        # §1: Table 2's 0.23 needs 93-96 treated reoffenders; the text's 22.0% of 410 is 90
        ("All / total: Before, treated", "90-90 of 410", "0.23 (93-96)"),
        # §8 table (sum -> N column) and §9 (unemployed = code 0: 549-555)
        ("MH marker 'Yes' / total: N", "342-347", "325"),
        ("MH marker 'Yes' / 6 months: N", "317-321", "299"),
        ("MH marker 'Yes' / 12 months: N", "272-275", "253"),
        ("Substance misuse marker 'Yes' / total: N", "223-228", "208"),
        ("Substance misuse marker 'Yes' / 6 months: N", "208-212", "193"),
        ("Substance misuse marker 'Yes' / 12 months: N", "186-189", "175"),
        ("White only / 12 months: N", "453-456", "458"),
        ("Unemployed only / total: N", "549-555", "415"),
        ("Unemployed only / 6 months: N", "505-510", "399"),
        ("Unemployed only / 12 months: N", "434-439", "351"),
    }
    ok = audit.checks[audit.checks["verdict"] == "ok"]
    # §14: 410 + 362 = 772; window Ns 410, 407, 396, 380, 348, 248 treated, decreasing; White Ns agree (§8)
    assert {"treated + controls = observations", "N does not grow as the window lengthens",
            "treated = N - controls > 0", "balance-table N = Table 2 N"} <= set(ok["check"])
    assert {"White only / total: N", "White only / 6 months: N"} <= set(ok["row"])


def test_findings_frame_has_the_documented_columns(audit):
    assert list(audit.to_frame().columns) == [
        "table", "row", "check", "expected", "printed", "verdict", "explanation"]
    assert (audit.to_frame()["verdict"] == "fail").all()
    assert (audit.to_frame()["explanation"].str.len() > 20).all()
    assert "15 finding(s)" in audit.summary()


# --- consistent tables, made and rounded here, pass; broken ones are flagged --------------------
def _effect_row(treated, control, se, **extra):
    d = treated - control
    t = d / se
    return {"table": "T", "sample": "All", "window": "total", "N": 500, "row": "After",
            "treated": round(treated, 2), "control": round(control, 2), "difference": round(d, 2),
            "star": abs(t) >= 1.96, "se": round(se, 2), "t": round(t, 2), **extra}


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.floats(0.01, 0.99), st.floats(0.01, 0.99), st.floats(0.011, 0.2)),
                     min_size=1, max_size=8))
def test_consistent_effect_tables_give_no_findings(rows):
    frame = pd.DataFrame([_effect_row(*r) for r in rows])
    assert audit_effects(frame).findings.empty


def _balance_row(mt, mc, sd, n):
    t = (mt - mc) / (sd * np.sqrt(2 / n))
    return {"table": "B", "window": "total", "N": n, "covariate": "x", "unmatched_treated": 0.5,
            "unmatched_control": 0.5, "matched_treated": round(mt, 2), "matched_control": round(mc, 2),
            "pct_bias": round(100 * (mt - mc) / sd, 1), "t": round(t, 2),
            "p": round(2 * stats.t.sf(abs(t), n - 2), 2)}


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.floats(0, 40), st.floats(0, 40), st.floats(0.2, 20), st.integers(50, 1000)),
                     min_size=1, max_size=8))
def test_consistent_balance_tables_give_no_findings(rows):
    assert audit_balance(pd.DataFrame([_balance_row(*r) for r in rows])).findings.empty


def test_broken_tables_are_flagged_and_only_the_broken_cells():
    good = pd.DataFrame([_effect_row(0.20, 0.35, 0.05), _effect_row(0.10, 0.12, 0.03)])
    assert audit_effects(good).findings.empty
    broken = good.copy()
    broken.loc[0, "t"] = -2.50  # D -0.15, S.E. 0.05: feasible [0.145/0.055, 0.155/0.045]
    broken.loc[1, "star"] = True  # |t| = 0.67
    broken.loc[1, "treated"] = 0.15  # 0.15 - 0.12 = 0.03, printed difference -0.02
    found = audit_effects(broken).findings
    assert found["check"].tolist() == [
        "t = Difference / S.E.", "star = (|t| >= 1.96)", "Treated - Control = Difference"]
    assert found["expected"].tolist()[0] == "[2.636, 3.444]"

    bal = pd.DataFrame([_balance_row(33.0, 32.0, 10.0, 700)])
    assert audit_balance(bal).findings.empty
    bal.loc[0, "pct_bias"] = -bal.loc[0, "pct_bias"]
    bal.loc[0, "p"] = 0.01
    checks = set(audit_balance(bal).findings["check"])
    assert checks == {"sign(%bias) = sign(matched treated - control)", "sign(%bias) = sign(t)",
                      "p = 2 P(T > |t|), df = N - 2"}


def test_window_ns_that_grow_are_flagged():
    frame = pd.DataFrame({"table": "T", "sample": "All", "window": ["total", "30 days", "12 months"],
                          "N": [772, 780, 300]})
    found = audit_windows(frame, n_control=362).findings
    assert found["row"].tolist() == ["All: total -> 30 days", "All: 12 months"]
    with pytest.raises(ValueError, match="unknown window"):
        audit_windows(frame.assign(window=["total", "31 days", "12 months"]))


def test_printed_strings_set_their_own_rounding():
    # D -0.12, S.E. 0.04: |D|/S.E. feasible in [0.115/0.045, 0.125/0.035] = [2.556, 3.571]
    row = {"table": "T", "sample": "All", "window": "total", "N": 500, "row": "After", "treated": 0.20,
           "control": 0.32, "difference": -0.12, "star": True, "se": 0.04}
    # "-3.6" (one decimal) covers [3.55, 3.65] and meets the interval; the float -3.6 is read as
    # -3.60 (two decimals, [3.595, 3.605]) and does not
    assert audit_effects(pd.DataFrame([{**row, "t": "-3.6"}])).findings.empty
    assert len(audit_effects(pd.DataFrame([{**row, "t": -3.6}])).findings) == 1


def test_missing_columns_are_named():
    with pytest.raises(ColumnNotFoundError, match="'se'"):
        audit_effects(pd.DataFrame([_effect_row(0.2, 0.3, 0.05)]).drop(columns="se"))


def test_published_frames_have_every_printed_row(published):
    effects, balance = effects_frame(published), balance_frame(published)
    assert len(effects) == 36 and len(balance) == 42
    assert effects.groupby("table").size().to_dict() == {"Sub-group": 24, "Table 2": 12}
    assert sorted(balance["window"].unique()) == sorted(
        ["total", "30 days", "60 days", "90 days", "6 months", "12 months"])
