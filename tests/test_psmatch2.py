"""psm.psmatch2: score, matching and effects in one call, with psmatch2's listwise deletion."""

from __future__ import annotations

from math import sqrt

import numpy as np
import pandas as pd
import pytest

import offender_data
import psm
from psm.errors import (
    ColumnNotFoundError,
    EmptyGroupError,
    InvalidTreatmentError,
    MissingValuesError,
    NoControlsOnSupportError,
)


def tiny() -> pd.DataFrame:
    # One binary covariate: the probit is saturated, so the score is the cell share of
    # treated: x=0 -> 1/4 (1 of 4 treated), x=1 -> 3/4 (3 of 4 treated).
    return pd.DataFrame(
        {
            "x": [0, 0, 0, 0, 1, 1, 1, 1],
            "t": [0, 0, 0, 1, 1, 1, 1, 0],
            "y": [1.0, 2.0, 6.0, 5.0, 7.0, 3.0, 8.0, 4.0],
        },
        index=[f"r{i}" for i in range(8)],
    )


def test_tiny_case_by_hand_first_control_in_data_order():
    r = psm.psmatch2(tiny(), "t", ["x"], "y")
    assert r.propensity.score.to_numpy() == pytest.approx([0.25] * 4 + [0.75] * 4, abs=1e-9)
    e = r.effect
    # r3 -> r0 (first of the three x=0 controls, y=1); r4, r5, r6 -> r7 (y=4)
    # ATT = mean(5, 7, 3, 8) - mean(1, 4, 4, 4) = 23/4 - 13/4
    assert e.matched.difference == pytest.approx(2.5)
    # Var1 = var(5,7,3,8) = 59/12; Var0 = var(1, 4) = 9/2; weights r0 = 1, r7 = 3 -> sum w^2 = 10
    assert e.matched.se == pytest.approx(sqrt(59 / 12 / 4 + 4.5 * 10 / 16))
    assert r.matching.weights.to_dict() == {"r0": 1, "r1": 0, "r2": 0, "r3": 1, "r4": 1, "r5": 1, "r6": 1, "r7": 3}


def test_tiny_case_with_ties_averages_identical_controls():
    e = psm.psmatch2(tiny(), "t", ["x"], "y", ties=True).effect
    # r3 -> {r0, r1, r2}: mean(1, 2, 6) = 3; ATT = 23/4 - (3 + 4 + 4 + 4)/4 = 2
    assert e.matched.difference == pytest.approx(2.0)


def test_one_call_equals_the_three_steps():
    d = offenders()
    covs = ["age", "marker", "offence", "history"]
    r = psm.psmatch2(d, "treated", covs, ["y", "y2"], link="logit", common_support=True, caliper=0.05, ate=True)
    pm = psm.fit_propensity(d, "treated", covs, link="logit")
    m = psm.match(d, "treated", pm.score, common_support=True, caliper=0.05, estimand="ATE")
    for name in ("y", "y2"):
        e = psm.effect(d, name, m, estimand="ATT")
        assert r.effects[name].matched == e.matched
        assert r.effects[name].se_ai == pytest.approx(e.se_ai)
        assert list(r.effects[name].rows) == ["ATT", "ATU", "ATE"]
    pd.testing.assert_series_equal(r.matching.weights, m.weights)
    assert r.propensity.link == "logit"
    with pytest.raises(ValueError, match="2 outcomes"):
        r.effect


def test_estimand_atu_matches_controls_to_treated():
    r = psm.psmatch2(offenders(), "treated", ["age", "marker"], "y", estimand="ATU")
    assert r.matching.estimand == "ATU" and r.effect.estimand == "ATU" and list(r.effect.rows) == ["ATU"]


def test_listwise_deletion_over_covariates_and_all_outcomes():
    d = offenders()
    d.loc["p1", "age"] = np.nan
    d.loc["p2", "y"] = np.nan
    d.loc["p3", "y2"] = np.nan
    with pytest.raises(MissingValuesError) as info:
        psm.psmatch2(d, "treated", ["age", "marker"], ["y", "y2"])
    assert info.value.rows == {"age": ["p1"], "y": ["p2"], "y2": ["p3"]}
    r = psm.psmatch2(d, "treated", ["age", "marker"], ["y", "y2"], dropna=True)
    assert r.n_dropped == 3 and set(r.dropped) == {"p1", "p2", "p3"}
    assert len(r.data) == len(d) - 3 and len(r.matching.treated) == len(d) - 3
    # the intersection sample is used for both outcomes, Unmatched rows included
    n = r.effects["y"].unmatched.n_treated + r.effects["y"].unmatched.n_control
    assert n == r.effects["y2"].unmatched.n_treated + r.effects["y2"].unmatched.n_control == len(d) - 3
    assert "3 row(s) with missing" in r.summary()


def test_summary_has_model_and_effect_tables():
    text = psm.psmatch2(offenders(), "treated", ["age", "marker"], ["y", "y2"]).summary()
    assert "probit of 'treated'" in text
    assert text.count("Unmatched |") == 2
    assert "S.E. does not take into account that the propensity score is estimated." in text


def test_bad_inputs():
    d = offenders()
    with pytest.raises(ColumnNotFoundError) as info:
        psm.psmatch2(d, "treated", ["agee"], "yy")
    assert info.value.missing == ["agee", "yy"]
    bad = d.assign(treated=d.treated.replace({1: 2}))
    with pytest.raises(InvalidTreatmentError):
        psm.psmatch2(bad, "treated", ["age"], "y")
    with pytest.raises(EmptyGroupError):
        psm.psmatch2(d.assign(treated=0), "treated", ["age"], "y")
    distinct = d.assign(age=d.age + np.arange(len(d)) * 1e-4)  # no two equal scores
    with pytest.raises(NoControlsOnSupportError):
        psm.psmatch2(distinct, "treated", ["age"], "y", caliper=1e-15)
    with pytest.raises(ValueError, match="at least one outcome"):
        psm.psmatch2(d, "treated", ["age"], [])


def offenders(n: int = 300, seed: int = 7) -> pd.DataFrame:
    """Shared offender-like data plus a binary outcome ``y`` and a count-like ``y2``, both lower when treated."""
    d = offender_data.offenders(n, seed)
    rng = np.random.default_rng(seed + 1)
    d["y"] = (rng.random(n) < 0.4 - 0.1 * d.treated).astype(float)
    d["y2"] = rng.poisson(1.5, n) - 0.5 * d.treated
    return d
