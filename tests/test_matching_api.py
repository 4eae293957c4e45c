"""MatchIt and Stata habits of psm.match / Matching: a fitted model as the score, the matched data set,
a caliper in SD units and the "ATC" name of ATU."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import psm

#: five treated and six controls on a score with known gaps (hand-checked matches below)
SMALL = pd.DataFrame(
    {"t": [1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0], "p": [.20, .40, .60, .21, .38, .39, .63, .90, .62, .10, .11],
     "y": [5., 7., 9., 4., 6., 6., 8., 1., 10., 3., 2.]},
    index=list("abcdefghijk"),
)


@pytest.fixture(scope="module")
def lalonde_model() -> tuple[pd.DataFrame, psm.PropensityModel]:
    df = psm.datasets.lalonde()
    return df, psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"],
                                  link="logit")


def test_match_accepts_the_fitted_model(lalonde_model) -> None:
    df, ps = lalonde_model
    pd.testing.assert_series_equal(psm.match(df, "treat", ps).weights, psm.match(df, "treat", ps.score).weights)


def test_matched_data_with_replacement_gives_weights_for_a_regression(lalonde_model) -> None:
    df, ps = lalonde_model
    m = psm.match(df, "treat", ps)
    md = m.matched_data(df)
    assert len(md) == int((m.weights > 0).sum()) and "subclass" not in md  # controls reused: no subclass
    assert md["weights"].sum() == pytest.approx(2 * 185)  # 185 treated of weight 1, controls' weights sum to 185
    wls = smf.wls("re78 ~ treat", data=md, weights=md["weights"]).fit()
    assert wls.params["treat"] == pytest.approx(psm.effect(df, "re78", m).matched.difference, rel=1e-12)


def test_matched_data_small_hand_example() -> None:
    # with replacement, ATT: a(.20)->d(.21), b(.40)->f(.39), c(.60)->g(.63), i(.62)->g, j(.10)->k(.11)
    m = psm.match(SMALL, "t", "p")
    md = m.matched_data(SMALL)
    assert list(md.index) == ["a", "b", "c", "d", "f", "g", "i", "j", "k"]
    assert md.loc["g", "weights"] == 2.0 and md.loc["d", "weights"] == 1.0
    long = m.matched_data(SMALL, pairs=True)
    assert long.index.tolist() == ["j", "k", "a", "d", "b", "f", "c", "g", "i", "g"]  # ascending focal score
    assert long["subclass"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # without replacement every unit is in one set: MatchIt's subclass column
    m1 = psm.match(SMALL, "t", "p", replace=False)
    md1 = m1.matched_data(SMALL)
    assert "subclass" in md1 and md1.groupby("subclass").size().eq(2).all()
    assert set(md1.loc[md1.t == 1].index) == {"a", "b", "c", "i", "j"}
    with pytest.raises(ValueError, match="lacks 1 rows"):
        m.matched_data(SMALL.drop(index="k"))


def test_std_caliper_is_in_pooled_sd_units() -> None:
    p, t = SMALL["p"].to_numpy(), SMALL["t"].to_numpy() == 1
    pooled = np.sqrt((p[t].var(ddof=1) + p[~t].var(ddof=1)) / 2)
    m = psm.match(SMALL, "t", "p", caliper=0.1, std_caliper=True)
    assert m.caliper == pytest.approx(0.1 * pooled) and m.std_caliper == 0.1
    raw = psm.match(SMALL, "t", "p", caliper=0.1 * pooled)
    pd.testing.assert_series_equal(m.weights, raw.weights)
    assert "(0.1 SD)" in m.summary()
    with pytest.raises(ValueError, match="pass caliper="):
        psm.match(SMALL, "t", "p", std_caliper=True)
    with pytest.raises(ValueError, match="std_caliper"):  # never silently read as score units
        psm.match(SMALL, "t", "p", method="radius", caliper=0.1, std_caliper=True)


def test_austin_caliper_on_the_logit(lalonde_model) -> None:
    df, ps = lalonde_model
    m = psm.match(df, "treat", ps.linear_predictor, caliper=0.2, std_caliper=True)
    lp, t = ps.linear_predictor.to_numpy(), df["treat"].to_numpy() == 1
    assert m.caliper == pytest.approx(0.2 * np.sqrt((lp[t].var(ddof=1) + lp[~t].var(ddof=1)) / 2))
    assert (m.pairs["distance"] < m.caliper).all()


def test_atc_is_atu() -> None:
    atc = psm.match(SMALL, "t", "p", estimand="ATC")
    atu = psm.match(SMALL, "t", "p", estimand="ATU")
    assert atc.estimand == "ATU"
    pd.testing.assert_series_equal(atc.weights, atu.weights)
    assert psm.effect(SMALL, "y", atu, estimand="ATC").matched.difference == pytest.approx(
        psm.effect(SMALL, "y", atu, estimand="ATU").matched.difference)
    pd.testing.assert_series_equal(psm.common_support(SMALL, "t", "p", estimand="ATC"),
                                   psm.common_support(SMALL, "t", "p", estimand="ATU"))
    with pytest.raises(ValueError, match="ATC"):
        psm.match(SMALL, "t", "p", estimand="ATX")
