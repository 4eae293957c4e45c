"""psm.kernel_match / psm.match(method=...): psmatch2 v4.0.12 kernel and radius matching.

Expected numbers are worked by hand from psmatch2.ado's ``_Match_kernel`` and ``_Kernel_``
(weights K(dif/h), normalised to sum one per focal unit; ``_weight`` = sums received), and
checked against a loop over (focal, candidate) pairs written straight from those formulas.
"""

from __future__ import annotations

from math import exp, pi, sqrt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import psm
from psm.errors import NoControlsOnSupportError

#   controls c1 s=.10 y=1 | c2 s=.30 y=0 | c3 s=.50 y=3 | c4 s=.90 y=2
#   treated  t1 s=.12 y=4 | t2 s=.48 y=5 | t3 s=.52 y=2
DATA = pd.DataFrame(
    {"treat": [0, 0, 0, 0, 1, 1, 1], "score": [0.10, 0.30, 0.50, 0.90, 0.12, 0.48, 0.52],
     "y": [1.0, 0, 3, 2, 4, 5, 2], "x": [3.0, 1, 4, 1, 5, 9, 2]},
    index=["c1", "c2", "c3", "c4", "t1", "t2", "t3"],
)


def test_radius_matching_by_hand():
    m = psm.match(DATA, "treat", "score", method="radius", caliper=0.2)
    # t1: c1 (.02), c2 (.18); t2: c2 (.18), c3 (.02); t3: c3 only (c2 at .22 > .2)
    assert m.matched_outcome(DATA.y)[["t1", "t2", "t3"]].tolist() == pytest.approx([0.5, 1.5, 3.0])
    assert m.weights.to_dict() == pytest.approx({"c1": .5, "c2": 1, "c3": 1.5, "c4": 0, "t1": 1, "t2": 1, "t3": 1})
    e = psm.effect(DATA, "y", m)
    assert e.matched.difference == pytest.approx(11 / 3 - 5 / 3)
    # psmatch2's approximate SE: Var1/N1 + Var0 * sum w^2 / N1^2, Var0 over used controls c1..c3
    var1, var0 = np.var([4, 5, 2], ddof=1), np.var([1, 0, 3], ddof=1)
    assert e.matched.se == pytest.approx(sqrt(var1 / 3 + var0 * (0.25 + 1 + 2.25) / 9))
    assert np.isnan(e.se_ai)


def test_radius_includes_the_boundary():
    # dyadic scores: t at .5, controls at .25 and .75 exactly r = .25 away: both kept (<=)
    d = pd.DataFrame({"t": [1, 0, 0, 0], "s": [0.5, 0.25, 0.75, 0.875]})
    m = psm.kernel_match(d, "t", "s", method="radius", caliper=0.25)
    assert m.weights.tolist() == [1.0, 0.5, 0.5, 0.0]


@pytest.mark.parametrize(
    ("kernel", "k"),
    [
        ("epan", lambda u: 1 - u * u),
        ("biweight", lambda u: (1 - u * u) ** 2),
        ("uniform", lambda u: 1.0),
        ("tricube", lambda u: (1 - abs(u) ** 3) ** 3),
        ("normal", lambda u: exp(-u * u / 2) / sqrt(2 * pi)),
    ],
)
def test_kernel_weights_by_hand(kernel, k):
    m = psm.match(DATA, "treat", "score", method="kernel", kernel=kernel, bandwidth=0.25)
    # t3 (.52): c2 at -.22 (u = -.88), c3 at -.02 (u = -.08); c1 at -.42 and c4 at .38 lie
    # outside h = .25 except for the normal kernel, which has no window
    u = {c: (DATA.score[c] - 0.52) / 0.25 for c in ["c1", "c2", "c3", "c4"]}
    used = ["c1", "c2", "c3", "c4"] if kernel == "normal" else ["c2", "c3"]
    total = sum(k(u[c]) for c in used)
    expected = sum(k(u[c]) * DATA.y[c] for c in used) / total
    assert m.matched_outcome(DATA.y)["t3"] == pytest.approx(expected, rel=1e-12)


def test_epan_weights_and_effect_by_hand():
    m = psm.kernel_match(DATA, "treat", "score", bandwidth=0.25)
    # t1: c1 1 - .08^2 = .9936, c2 1 - .72^2 = .4816; t2: c2 .4816, c3 .9936;
    # t3: c2 1 - .88^2 = .2256, c3 .9936
    a, b, c = 0.9936, 0.4816, 0.2256
    w_c2 = b / (a + b) * 2 + c / (a + c)
    assert m.weights["c2"] == pytest.approx(w_c2)
    assert m.weights["c1"] == pytest.approx(a / (a + b))
    assert m.weights.sum() == pytest.approx(3 + 3)  # treated 1 each; each treated gives out 1


def test_focal_unit_without_candidate_goes_off_support():
    # every treated unit's nearest control is .02 away: none within h = .01
    with pytest.raises(NoControlsOnSupportError):
        psm.kernel_match(DATA, "treat", "score", bandwidth=0.01)
    moved = DATA.assign(score=DATA.score.where(DATA.index != "t2", 0.7))  # t2 now .2 from c3 and c4
    m = psm.kernel_match(moved, "treat", "score", method="radius", caliper=0.05)
    assert not m.on_support["t2"] and m.weights["t2"] == 0
    assert m.on_support[["t1", "t3"]].all()


def test_ate_weights_are_what_each_unit_received():
    m = psm.kernel_match(DATA, "treat", "score", method="radius", caliper=0.2, estimand="ATE")
    # controls as focal units: c1 -> t1; c2 -> t1, t2 (.18 each); c3 -> t2, t3; c4 -> none (off support)
    assert m.weights["t1"] == pytest.approx(1 + 0.5)
    assert m.weights["t2"] == pytest.approx(0.5 + 0.5)
    assert not m.on_support["c4"] and m.weights["c4"] == 0
    e = psm.effect(DATA, "y", m, estimand="ATE")
    assert list(e.rows) == ["ATT", "ATU", "ATE"]


def test_balance_accepts_a_kernel_matching():
    m = psm.kernel_match(DATA, "treat", "score", method="radius", caliper=0.2)
    row = psm.balance(DATA, ["x"], m).table.iloc[0]
    # matched control mean of x weighted by _weight: (.5*3 + 1*1 + 1.5*4) / 3
    assert row["mean_control_matched"] == pytest.approx((0.5 * 3 + 1 + 1.5 * 4) / 3)
    assert row["mean_treated_matched"] == pytest.approx((5 + 9 + 2) / 3)


def test_options_are_checked():
    with pytest.raises(ValueError, match="caliper"):
        psm.kernel_match(DATA, "treat", "score", method="radius")
    with pytest.raises(ValueError, match="kernel must be"):
        psm.kernel_match(DATA, "treat", "score", kernel="gauss")
    with pytest.raises(ValueError, match="does not take"):
        psm.match(DATA, "treat", "score", method="kernel", k=2)
    with pytest.raises(ValueError, match="std_caliper"):
        psm.match(DATA, "treat", "score", method="radius", caliper=0.5, std_caliper=True)


# ------------------------------------------------------------ loop reference


def reference(score, treated, kernel, h, y, estimand="ATT"):
    kf = {"epan": lambda u: 1 - u * u, "biweight": lambda u: (1 - u * u) ** 2, "uniform": lambda u: 1.0,
          "tricube": lambda u: (1 - abs(u) ** 3) ** 3, "normal": lambda u: exp(-u * u / 2) / sqrt(2 * pi)}[kernel]
    n = len(score)
    weight = np.where(treated, 1.0, 0.0) if estimand == "ATT" else np.zeros(n)
    out = np.full(n, np.nan)
    focal = [i for i in range(n) if treated[i] or estimand == "ATE"]
    for i in focal:
        ks = {}
        for j in range(n):
            if treated[j] == treated[i]:
                continue
            dif = score[j] - score[i]
            if kernel == "normal" or abs(dif) <= h:
                ks[j] = kf(dif / h)
        tot = sum(ks.values())
        if tot > 0:
            out[i] = sum(v * y[j] for j, v in ks.items()) / tot
            for j, v in ks.items():
                weight[j] += v / tot
    return out, weight


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["epan", "biweight", "uniform", "tricube", "normal"]),
       st.sampled_from([0.05, 0.125, 0.3]), st.sampled_from(["ATT", "ATE"]))
def test_equals_the_loop_reference(seed, kernel, h, estimand):
    rng = np.random.default_rng(seed)
    n = 30
    d = pd.DataFrame({"t": np.r_[np.ones(12, int), np.zeros(18, int)], "s": rng.integers(0, 32, n) / 32,
                      "y": rng.normal(size=n)})
    out, weight = reference(d.s.to_numpy(), d.t.to_numpy() == 1, kernel, h, d.y.to_numpy(), estimand)
    try:
        m = psm.kernel_match(d, "t", "s", kernel=kernel, bandwidth=h, estimand=estimand)
    except NoControlsOnSupportError:
        assert np.isnan(out[d.t.to_numpy() == 1]).all() or np.isnan(out[d.t.to_numpy() == 0]).all()
        return
    got = m.matched_outcome(d.y).to_numpy()
    # prefix sums of score powers (epan, biweight, uniform) lose a few digits: 1e-10 absolute
    assert np.allclose(np.nan_to_num(got, nan=-99), np.nan_to_num(out, nan=-99), rtol=1e-10, atol=1e-10)
    assert (m.on_support.to_numpy()[d.t.to_numpy() == 1] == ~np.isnan(out[d.t.to_numpy() == 1])).all()
    expected_w = np.where(m.on_support, weight, 0.0)
    assert np.allclose(m.weights.to_numpy(), expected_w, rtol=1e-10, atol=1e-10)


def test_psmatch2_reaches_kernel_matching():
    d = DATA.assign(x=[0.1, 0.5, 0.9, 1.8, 0.2, 0.8, 1.0])
    res = psm.psmatch2(d, "treat", ["x"], "y", method="kernel", kernel="biweight", bandwidth=0.3)
    direct = psm.kernel_match(d, "treat", res.propensity.score, kernel="biweight", bandwidth=0.3)
    assert res.effect.matched.difference == pytest.approx(psm.effect(d, "y", direct).matched.difference)
    assert "Kernel matching, biweight kernel" in res.matching.summary()


# ------------------------------------------------------------ local linear regression


def test_local_linear_matching_by_hand():
    m = psm.match(DATA, "treat", "score", method="llr", kernel="uniform", bandwidth=0.45)
    # t1 (.12): c1, c2, c3 at dif -.02, .18, .38 with y 1, 0, 3 (c4 at .78 is outside .45).
    # Least squares: mean dif .18, mean y 4/3, Sxx .08, Sxy .4 -> slope 5; intercept at dif 0:
    # 4/3 - 5 * .18 = 13/30. Equivalent weights 1/3 + ... : c1 .78333, c2 1/3, c3 -.11667
    assert m.matched_outcome(DATA.y)["t1"] == pytest.approx(13 / 30)
    t1 = m.pairs.set_index(["treated", "control"]).loc["t1", "weight"]
    assert t1.tolist() == pytest.approx([47 / 60, 1 / 3, -7 / 60])
    assert t1.sum() == pytest.approx(1.0)


def test_local_linear_tricube_prints_no_se_and_epan_is_refused():
    m = psm.match(DATA, "treat", "score", method="llr", kernel="tricube", bandwidth=0.45)
    assert np.isnan(psm.effect(DATA, "y", m).matched.se)
    with pytest.raises(ValueError, match="lpoly"):
        psm.match(DATA, "treat", "score", method="llr")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["biweight", "uniform", "tricube", "normal"]),
       st.sampled_from([0.1, 0.3]))
def test_local_linear_equals_weighted_least_squares(seed, kernel, h):
    rng = np.random.default_rng(seed)
    n = 24
    d = pd.DataFrame({"t": np.r_[np.ones(8, int), np.zeros(16, int)], "s": rng.uniform(0, 1, n),
                      "y": rng.normal(size=n)})
    try:
        m = psm.kernel_match(d, "t", "s", method="llr", kernel=kernel, bandwidth=h)
    except NoControlsOnSupportError:
        return
    kf = {"biweight": lambda u: (1 - u * u) ** 2, "uniform": lambda u: 1.0 + 0 * u,
          "tricube": lambda u: (1 - np.abs(u) ** 3) ** 3, "normal": lambda u: np.exp(-u * u / 2)}[kernel]
    got = m.matched_outcome(d.y)
    c = d[d.t == 0]
    for i in d.index[d.t == 1]:
        dif = c.s.to_numpy() - d.s[i]
        inside = np.ones(len(dif), bool) if kernel == "normal" else np.abs(dif) <= h
        if not m.on_support[i]:
            assert not inside.any()
            continue
        w = kf(dif[inside] / h)
        x = np.column_stack([np.ones(inside.sum()), dif[inside]])
        if inside.sum() == 1:
            expected = c.y.to_numpy()[inside][0]
        else:
            beta = np.linalg.lstsq(x * np.sqrt(w)[:, None], c.y.to_numpy()[inside] * np.sqrt(w), rcond=None)[0]
            expected = beta[0]
        assert got[i] == pytest.approx(expected, rel=1e-7, abs=1e-9)
