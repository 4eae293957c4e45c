"""psm.mahalanobis_match: psmatch2 v4.0.12 ``mahalanobis()`` matching, by hand and against R."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import psm
from psm.mahalanobis import kth_smallest, pooled_weight_matrix


def test_weight_matrix_is_the_pooled_within_group_covariance():
    # one covariate: controls 0, 2 (deviations -1, 1), treated 1, 5 (-2, 2): S = (2 + 8)/(4 - 2) = 5
    x = np.array([[0.0], [2.0], [1.0], [5.0]])
    assert pooled_weight_matrix(x, np.array([False, False, True, True])) == pytest.approx(np.array([[0.2]]))


def test_matches_weights_and_caliper_by_hand():
    # W = 1/5 as above; squared distances of t1 (x=1): c1 1/5, c2 1/5 -> a tie; t2 (x=5): c1 5, c2 9/5
    d = pd.DataFrame({"t": [0, 0, 1, 1], "x": [0.0, 2.0, 1.0, 5.0], "y": [1.0, 3.0, 4.0, 8.0]},
                     index=["c1", "c2", "t1", "t2"])
    m = psm.mahalanobis_match(d, "t", ["x"])
    # the quickselect leaves the later of two tied candidates first: t1 -> c2; t2 -> c2
    assert m.pairs[["treated", "control"]].values.tolist() == [["t1", "c2"], ["t2", "c2"]]
    assert m.pairs["distance"].tolist() == pytest.approx([np.sqrt(0.2), np.sqrt(1.8)])
    assert m.weights.to_dict() == pytest.approx({"c1": 0, "c2": 2, "t1": 1, "t2": 1})
    two = psm.mahalanobis_match(d, "t", ["x"], k=2, caliper=2.0)
    # k=2: t1 keeps both (1/5 each); t2 keeps c2 only (5 > caliper 2): weights 1/k = 1/2 per use
    assert two.weights.to_dict() == pytest.approx({"c1": 0.5, "c2": 1.0, "t1": 1, "t2": 1})
    assert two.matched_outcome(d.y)[["t1", "t2"]].tolist() == pytest.approx([2.0, 3.0])
    e = psm.effect(d, "y", two)
    assert e.matched.difference == pytest.approx((4 - 2 + 8 - 3) / 2)


def test_kth_smallest_is_hoares_quickselect():
    assert kth_smallest(np.array([1.0, 1.0]), np.array([0, 1]), 1, np.inf).tolist() == [1]
    assert sorted(kth_smallest(np.array([3.0, 1.0, 2.0, 1.0]), np.arange(4), 2, np.inf).tolist()) == [1, 3]
    assert kth_smallest(np.array([3.0, 1.0, 2.0]), np.arange(3), 2, 1.5).tolist() == [1]


# R reference: Matching 4.10-8. Data: numpy default_rng(2016), n = 120 (see r_data below).
#   W2 <- diag(sd) %*% W %*% diag(sd)   # R's Weight=3 applies Weight.matrix to X/sd(X);
#                                       # W = psmatch2's pooled within-group inverse covariance
#   Match(Y=y, Tr=t, X=cbind(x1,x2,x3), Weight=3, Weight.matrix=W2, estimand=E, M=1,
#         ties=TRUE, distance.tolerance=0, tolerance=0)                 -> est, se
#   ... the same with Z=X, BiasAdjust=TRUE                              -> est, se
#   Match(..., Weight=2, ...)  (inverse covariance over all units)      -> est, se
R_MAHALANOBIS = {
    "ATT": (2.279327405450, 0.199988478683, 2.234146494245, 0.207888806597),
    "ATE": (2.172411535491, 0.206237119686, 2.050376142032, 0.203665535655),
}
R_WEIGHT2_ATE = (2.188490280569, 0.206477323999)


def r_data() -> pd.DataFrame:
    rng = np.random.default_rng(2016)
    n = 120
    x1 = rng.normal(size=n)
    x2 = rng.normal(size=n) + 0.5 * x1
    x3 = rng.uniform(size=n)
    t = (rng.uniform(size=n) < 1 / (1 + np.exp(-(x1 - 0.5)))).astype(int)
    y = 2 * t + x1 - x2 + rng.normal(size=n)
    return pd.DataFrame({"t": t, "x1": x1, "x2": x2, "x3": x3, "y": y})


@pytest.mark.parametrize("estimand", ["ATT", "ATE"])
def test_equals_r_matching(estimand):
    d = r_data()
    covs = ["x1", "x2", "x3"]
    m = psm.mahalanobis_match(d, "t", covs, estimand=estimand)
    e = psm.effect(d, "y", m, estimand=estimand, bias_adjust=covs)
    est, se, bc, se_bc = R_MAHALANOBIS[estimand]
    assert (e.matched.difference, e.se_ai) == pytest.approx((est, se), rel=1e-10)
    assert (e.bias_corrected, e.se_bias_corrected) == pytest.approx((bc, se_bc), rel=1e-10)


def test_r_weight_2_is_the_overall_inverse_covariance():
    d = r_data()
    x = d[["x1", "x2", "x3"]].to_numpy()
    m = psm.mahalanobis_match(d, "t", ["x1", "x2", "x3"], estimand="ATE", weight_matrix=np.linalg.inv(np.cov(x.T)))
    e = psm.effect(d, "y", m, estimand="ATE")
    assert (e.matched.difference, e.se_ai) == pytest.approx(R_WEIGHT2_ATE, rel=1e-10)


def test_score_can_be_added_and_balance_accepts_it():
    d = r_data()
    model = psm.fit_propensity(d, "t", ["x1", "x2"], link="logit")
    d = d.assign(ps=model.score)
    m = psm.mahalanobis_match(d, "t", ["x1", "x2", "ps"])
    assert "Mahalanobis" in m.summary()
    table = psm.balance(d, ["x1", "x2"], m).table
    assert table["mean_treated_matched"].tolist() == pytest.approx(d.loc[d.t == 1, ["x1", "x2"]].mean().tolist())
    with pytest.raises(ValueError, match="ai_var_calc"):
        psm.effect(d, "y", m, ai_var_calc=1)


def test_psmatch2_reaches_mahalanobis_matching():
    d = r_data()
    res = psm.psmatch2(d, "t", ["x1", "x2"], "y", link="logit", mahalanobis=["x1", "x2", "x3"])
    direct = psm.effect(d, "y", psm.mahalanobis_match(d, "t", ["x1", "x2", "x3"]))
    assert res.effect.matched.difference == pytest.approx(R_MAHALANOBIS["ATT"][0], rel=1e-10)
    assert res.effect.se_ai == pytest.approx(direct.se_ai)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 3))
def test_matches_are_the_k_nearest_by_brute_force(seed, k):
    rng = np.random.default_rng(seed)
    n = 40
    d = pd.DataFrame({"t": np.r_[np.ones(15, int), np.zeros(25, int)], "a": rng.normal(size=n),
                      "b": rng.normal(size=n) * 3})
    m = psm.mahalanobis_match(d, "t", ["a", "b"], k=k)
    x = d[["a", "b"]].to_numpy()
    w = pooled_weight_matrix(x, d.t.to_numpy() == 1)
    controls = np.flatnonzero(d.t.to_numpy() == 0)
    got = m.pairs.groupby("treated")["control"].apply(set).to_dict()
    for i in np.flatnonzero(d.t.to_numpy() == 1):
        diff = x[controls] - x[i]
        dist = np.einsum("ij,jk,ik->i", diff, w, diff)
        assert got[i] == set(controls[np.argsort(dist)[:k]].tolist())
