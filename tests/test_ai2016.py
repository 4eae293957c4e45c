"""psm.ai2016: matching on the estimated score and the Abadie-Imbens (2016) standard error.

A 12-unit example worked by hand, a loop-by-loop reference implementation of the formulas
(compared on random data with many ties), and the neighbour-set search against brute force.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import psm
from psm._neighbours import euclidean_nearest, nearest_ranges
from psm.ai2016 import ai2016

# 12 units; units 2 and 3 are controls with identical covariates (identical scores) and
# treated unit 12 shares them, so J(12) = {2, 3}; units 4 and 9 share covariates across arms.
SMALL = pd.DataFrame(
    {
        "t": [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1],
        "x1": [2, 3, 3, 5, 6, 8, 4, 4, 5, 7, 9, 3],
        "x2": [0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1],
        "y": [9, 7, 17, 11, 19, 15, 12, 16, 20, 17, 24, 10],
    },
    index=range(1, 13),
)


def small_inputs(link: str):
    model = psm.fit_propensity(SMALL, "t", ["x1", "x2"], link=link)
    x = model.design().to_numpy()
    p = model.score.to_numpy()
    f = p * (1 - p) if link == "logit" else stats.norm.pdf(model.linear_predictor.to_numpy())
    return p, f, x, SMALL.t.to_numpy() == 1, SMALL.y.to_numpy(float)


def test_small_example_point_estimates_by_hand():
    # Matches on the logit score: J(1)=J(4)=J(7)={9}, J(2)=J(3)={12}, J(5)={11}, J(6)={8},
    # J(8)={6}, J(9)={4}, J(10)=J(11)={5}, J(12)={2,3}.
    # tau = 11, 3, -7, 9, 5, 1, 8 | 1, 9, -2, 5, 10 - (7+17)/2 = -2  ->  ATE = 41/12;
    # ATET = (1 + 9 - 2 + 5 - 2)/5 = 2.2
    p, f, x, w, y = small_inputs("logit")
    ate = ai2016(p, f, x, w, y, estimand="ATE")
    att = ai2016(p, f, x, w, y, estimand="ATT")
    assert ate.estimate == pytest.approx(41 / 12, rel=1e-12)
    assert att.estimate == pytest.approx(2.2, rel=1e-12)
    assert ate.n_matches == (1, 2) and att.n_matches == (1, 2)


def test_small_example_unadjusted_variance_by_hand():
    # ATET: sum over treated (tau_i - 2.2)^2 = 1.44 + 46.24 + 17.64 + 7.84 + 17.64 = 90.8;
    # control usage K^t (K'^t): 2, 3 -> 1/2 (1/4); 4 -> 1 (1); 5 -> 2 (2); 6 -> 1 (1).
    # sigma2 over H_2 (i and its nearest own-arm unit, ties kept): unit 2 and 3 {2,3} -> 50,
    # 4 {4,7} -> .5, 5 and 6 {5,6} -> 8.  sum (K^2 - K') sigma2 = 0 + 0 + 0 + 2*8 + 0 = 16.
    # V = (90.8 + 16)/25 = 4.272
    p, f, x, w, y = small_inputs("logit")
    assert ai2016(p, f, x, w, y, estimand="ATT").se_ai2006 == pytest.approx(np.sqrt(4.272), rel=1e-12)


@pytest.mark.parametrize(
    ("link", "ate_se", "att_se"),
    [
        # V(ATE) = 8.909143519 - c'I^-1c (3.245532731); V(ATET) = 4.272 - 0.8864967587 + 2.065404383
        ("logit", 2.379834193, 2.33471789),
        # probit, expected information: c'I^-1c = 3.837967742; c_t'I^-1c_t = 0.8980500722, d'I^-1d = 2.048020838
        ("probit", 2.251927125, 2.328512565),
    ],
)
def test_small_example_adjusted_se(link, ate_se, att_se):
    p, f, x, w, y = small_inputs(link)
    assert ai2016(p, f, x, w, y, estimand="ATE").se == pytest.approx(ate_se, rel=1e-8)
    assert ai2016(p, f, x, w, y, estimand="ATT").se == pytest.approx(att_se, rel=1e-8)


def test_atu_is_the_atet_of_the_reversed_treatment():
    p, f, x, w, y = small_inputs("logit")
    atu = ai2016(p, f, x, w, y, estimand="ATU")
    flipped = ai2016(1 - p, f, x, ~w, y, estimand="ATT")
    assert atu.estimate == pytest.approx(-flipped.estimate)
    assert atu.se == pytest.approx(flipped.se)
    # by hand: controls' tau = 11, 3, -7, 9, 5, 1, 8 -> ATU = 30/7
    assert atu.estimate == pytest.approx(30 / 7)


# ------------------------------------------------------------ slow reference (loops)


def nearest_set(i_value, pool_idx, score, m, exclude=None):
    pool = [j for j in pool_idx if j != exclude]
    d = sorted(abs(i_value - score[j]) for j in pool)
    cut = d[min(m, len(d)) - 1]
    return [j for j in pool if abs(i_value - score[j]) <= cut]


def reference_ai2016(p, f, x, w, y, estimand, m=1, l=2):
    n = len(y)
    arm = {True: np.flatnonzero(w), False: np.flatnonzero(~w)}
    J = {i: nearest_set(p[i], arm[not w[i]], p, m) for i in range(n)}
    yhat1 = np.array([y[i] if w[i] else np.mean(y[J[i]]) for i in range(n)])
    yhat0 = np.array([np.mean(y[J[i]]) if w[i] else y[i] for i in range(n)])
    tau = yhat1 - yhat0
    focal = [i for i in range(n) if estimand == "ATE" or w[i]]
    K, K2 = np.zeros(n), np.zeros(n)
    for j in focal:
        for i in J[j]:
            K[i] += 1 / len(J[j])
            K2[i] += 1 / len(J[j]) ** 2
    H = {i: nearest_set(p[i], arm[w[i]], p, l) for i in range(n)}
    s2 = np.array([np.var(y[H[i]], ddof=1) for i in range(n)])

    def cov(S):
        return np.array([np.cov(x[S, c], y[S], ddof=1)[0, 1] for c in range(x.shape[1])])

    cov_w = {a: np.array([cov(nearest_set(p[i], arm[a], p, l)) for i in range(n)]) for a in (True, False)}
    info = sum(f[i] ** 2 / (p[i] * (1 - p[i])) * np.outer(x[i], x[i]) for i in range(n))
    quad = lambda v: v @ np.linalg.inv(info) @ v
    if estimand == "ATE":
        est = tau.mean()
        v = (np.sum((tau - est) ** 2) + np.sum((K**2 + 2 * K - K2) * s2)) / n**2
        c = sum(f[i] * (cov_w[True][i] / p[i] + cov_w[False][i] / (1 - p[i])) for i in range(n)) / n
        return est, v - quad(c)
    n1 = w.sum()
    est = tau[w].mean()
    v = (np.sum((tau[w] - est) ** 2) + np.sum(((K**2 - K2) * s2)[~w])) / n1**2
    c2 = sum(f[i] * (cov_w[True][i] + p[i] / (1 - p[i]) * cov_w[False][i]) for i in range(n)) / n1
    mu = {a: np.array([np.mean(y[nearest_set(p[i], arm[a], p, l, exclude=i)]) for i in range(n)]) for a in (True, False)}
    c1 = sum(x[i] * f[i] * (mu[True][i] - mu[False][i] - est) for i in range(n)) / n1
    z = x[:, 1:]
    tau_x = np.empty(n)
    for i in range(n):
        other = arm[not w[i]]
        d2 = ((z[other] - z[i]) ** 2).sum(axis=1)
        tau_x[i] = (1 if w[i] else -1) * (y[i] - y[other[d2 <= d2.min()]].mean())
    d = sum(x[i] * f[i] * (tau_x[i] - est) for i in range(n)) / n1
    return est, v - quad(c1 + c2) + quad(d)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(16, 40),
    m=st.integers(1, 3),
    l=st.integers(2, 3),
    estimand=st.sampled_from(["ATE", "ATT"]),
)
def test_matches_the_loop_reference_with_many_ties(seed, n, m, l, estimand):
    rng = np.random.default_rng(seed)
    x1 = rng.integers(0, 4, n).astype(float)  # discrete covariates: many tied scores
    x2 = rng.integers(0, 2, n).astype(float)
    w = rng.random(n) < 0.4
    w[:3], w[3:6] = True, False
    x = np.column_stack([np.ones(n), x1, x2])
    p = 1 / (1 + np.exp(-(x @ np.array([-0.5, 0.3, 0.4]))))
    f = p * (1 - p)
    y = rng.normal(size=n).round(1) + x1
    res = ai2016(p, f, x, w, y, estimand=estimand, k=m, vce_k=l)
    est, var = reference_ai2016(p, f, x, w, y, estimand, m, l)
    assert res.estimate == pytest.approx(est, rel=1e-10, abs=1e-12)
    assert res.variance == pytest.approx(var, rel=1e-8, abs=1e-12)


# ---------------------------------------------------------------- neighbour sets


@settings(max_examples=200, deadline=None)
@given(
    c=st.lists(st.integers(0, 12), min_size=1, max_size=25),
    p=st.lists(st.integers(-2, 14), min_size=1, max_size=10),
    m=st.integers(1, 5),
)
def test_nearest_ranges_equal_brute_force(c, p, m):
    cs = np.sort(np.array(c, dtype=float) / 8)  # dyadic: distances are exact
    ps = np.array(p, dtype=float) / 8
    lo, hi = nearest_ranges(ps, cs, m)
    for q, a, b in zip(ps, lo, hi):
        d = np.abs(q - cs)
        cut = np.sort(d)[min(m, len(cs)) - 1]
        assert set(range(a, b)) == set(np.flatnonzero(d <= cut))


def test_euclidean_nearest_keeps_ties():
    pts = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    rows, cols = euclidean_nearest(np.array([[1.0, 0.0], [5.0, 4.0]]), pts)
    assert sorted(zip(rows.tolist(), cols.tolist())) == [(0, 0), (0, 1), (0, 2), (1, 3)]
