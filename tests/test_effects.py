"""psm.effect: psmatch2 v4.0.12 rows, v4.1.0 option and Abadie-Imbens SEs, by hand.

Every expected number below is worked out by hand in the comments (exact fractions),
from the formulas in psmatch2.ado (_mktab) and R Matching's RmatchLoop.
"""

from __future__ import annotations

from fractions import Fraction as F
from math import sqrt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import psm
from psm.errors import ColumnNotFoundError, MissingValuesError


# ---------------------------------------------------------------------------- data
#
# Data set A (1:1 with replacement, no ties):
#   controls c1 s=.10 y=1 | c2 s=.30 y=0 | c3 s=.50 y=3 | c4 s=.90 y=2
#   treated  t1 s=.12 y=4 -> c1 | t2 s=.48 y=5 -> c3 | t3 s=.52 y=2 -> c3
def data_a() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "treat": [0, 0, 0, 0, 1, 1, 1],
            "score": [0.10, 0.30, 0.50, 0.90, 0.12, 0.48, 0.52],
            "y": [1.0, 0.0, 3.0, 2.0, 4.0, 5.0, 2.0],
        },
        index=["c1", "c2", "c3", "c4", "t1", "t2", "t3"],
    )


# Data set B (ties on both sides, controls reused; dyadic scores so ties are exact):
#   controls c1 s=.25 y=1 | c2 s=.25 y=3 | c3 s=.75 y=6
#   treated  t1 s=.25 y=4 -> {c1, c2} (distance 0, weights 1/2)
#            t2 s=.5  y=5 -> {c1, c2, c3} (all at .25, weights 1/3)
#            t3 s=.875 y=8 -> c3 (.125)
#   ATU direction (estimand ATE): c1 -> t1, c2 -> t1, c3 -> t3 (.125 < .25)
def data_b() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "treat": [0, 0, 0, 1, 1, 1],
            "score": [0.25, 0.25, 0.75, 0.25, 0.5, 0.875],
            "y": [1.0, 3.0, 6.0, 4.0, 5.0, 8.0],
        },
        index=["c1", "c2", "c3", "t1", "t2", "t3"],
    )


def matched(data, **kw):
    return psm.match(data, "treat", "score", **kw)


# ----------------------------------------------------------------- unmatched row


def test_unmatched_row_by_hand_and_equals_pooled_t_test():
    d = data_a()
    e = psm.effect(d, "y", matched(d))
    u = e.unmatched
    # treated mean 11/3, control mean 6/4; SS1 = 14/3, SS0 = 5, s_p^2 = (29/3)/5
    assert u.treated == pytest.approx(11 / 3)
    assert u.control == pytest.approx(1.5)
    assert u.difference == pytest.approx(11 / 3 - 1.5)
    assert u.se == pytest.approx(sqrt(29 / 15 * (1 / 3 + 1 / 4)))
    assert u.df == 5
    ref = stats.ttest_ind(d.y[d.treat == 1], d.y[d.treat == 0], equal_var=True)
    assert u.t == pytest.approx(ref.statistic)
    assert u.p == pytest.approx(ref.pvalue)


@pytest.mark.filterwarnings("ignore:Precision loss occurred")
@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=15),
    st.lists(st.floats(-50, 50, allow_nan=False), min_size=2, max_size=15),
)
def test_unmatched_row_matches_scipy_for_any_samples(y1, y0):
    if np.ptp(y1 + y0) < 1e-6:
        return  # zero variance: t undefined in both
    n1, n0 = len(y1), len(y0)
    d = pd.DataFrame(
        {"treat": [1] * n1 + [0] * n0, "score": np.linspace(0, 1, n1 + n0), "y": y1 + y0}
    )
    u = psm.effect(d, "y", matched(d)).unmatched
    if np.ptp(y1) == 0 and np.ptp(y0) == 0:
        # no variance within the groups: SE 0 and t undefined (Stata prints "."; scipy gives +-inf or NaN by version)
        assert u.se == 0 and np.isnan(u.t)
        return
    ref = stats.ttest_ind(y1, y0, equal_var=True)
    assert u.t == pytest.approx(ref.statistic, rel=1e-7, abs=1e-9)
    assert u.p == pytest.approx(ref.pvalue, rel=1e-6, abs=1e-12)


# ------------------------------------------------------------------ psmatch2 ATT


def test_att_and_lechner_se_by_hand():
    d = data_a()
    e = psm.effect(d, "y", matched(d))
    m = e.matched
    # mean_T(Y) = 11/3; matched outcomes 1, 3, 3 -> 7/3; ATT = 4/3
    assert (m.treated, m.control, m.difference) == pytest.approx((11 / 3, 7 / 3, 4 / 3))
    # Var1 = var(4,5,2) = 7/3; Var0 = var over used controls {1, 3} = 2; sum w^2 = 1 + 2^2
    # SE = sqrt(Var1/N1 + Var0 * 5 / N1^2) = sqrt(7/9 + 10/9)
    assert m.se == pytest.approx(sqrt(17) / 3)
    assert m.t == pytest.approx((4 / 3) / (sqrt(17) / 3))
    assert m.p == pytest.approx(2 * stats.norm.sf(m.t))
    assert m.df is None
    assert (m.n_treated, m.n_control) == (3, 2)


def test_att_v410_uses_all_controls_on_support():
    d = data_a()
    m = psm.effect(d, "y", matched(d), approx_se="v4.1.0").matched
    # Var0 = var(1, 0, 3, 2) = 5/3 over all controls; sum w^2 = 5: sqrt(7/9 + 5/3 * 5/9)
    assert m.se == pytest.approx(sqrt(46 / 27))


def test_att_with_ties_by_hand():
    d = data_b()
    m = psm.effect(d, "y", matched(d, ties=True)).matched
    # _Y: t1 (1+3)/2 = 2, t2 (1+3+6)/3 = 10/3, t3 6 -> mean 34/9; mean_T(Y) = 17/3
    assert m.difference == pytest.approx(17 / 3 - 34 / 9)
    # weights c1 = c2 = 1/2 + 1/3 = 5/6, c3 = 1/3 + 1 = 4/3; sum w^2 = 19/6
    # Var1 = var(4,5,8) = 13/3, Var0 = var(1,3,6) = 19/3
    assert m.se == pytest.approx(sqrt(13 / 3 / 3 + 19 / 3 * 19 / 6 / 9))


def test_common_support_excludes_off_support_treated_from_att_only():
    # t_out (score .95) is above every control score -> off support under `common`
    d = pd.concat([data_a(), pd.DataFrame({"treat": [1], "score": [0.95], "y": [10.0]}, index=["t_out"])])
    e = psm.effect(d, "y", matched(d, common_support=True))
    assert e.matched.difference == pytest.approx(4 / 3)  # as without t_out
    assert e.matched.n_treated == 3
    assert e.unmatched.treated == pytest.approx((11 + 10) / 4)  # Unmatched keeps it
    assert e.n_off_support == {"treated": 1, "control": 0}


# ----------------------------------------------------------- ATU / ATE (psmatch2)


def test_atu_ate_points_and_missing_se_in_v4012():
    d = data_b()
    e = psm.effect(d, "y", matched(d, ties=True, estimand="ATE"), estimand="ATE")
    atu = e.rows["ATU"]
    # controls' matched treated outcomes: c1 -> 4, c2 -> 4, c3 -> 8: mean 16/3; mean Y_C = 10/3
    assert (atu.treated, atu.control, atu.difference) == pytest.approx((16 / 3, 10 / 3, 2.0))
    # ATE = ATT N1/N + ATU N0/N = 17/9 * 1/2 + 2 * 1/2
    assert e.matched.difference == pytest.approx(35 / 18)
    assert list(e.rows) == ["ATT", "ATU", "ATE"]
    assert np.isnan(atu.se) and np.isnan(e.rows["ATE"].se) and np.isnan(e.rows["ATE"].t)
    assert np.isfinite(e.rows["ATT"].se)


def test_atu_ate_v410_approximate_se_by_hand():
    d = data_b()
    e = psm.effect(d, "y", matched(d, ties=True, estimand="ATE"), estimand="ATE", approx_se="v4.1.0")
    # _weight: treated (ATU direction) t1 = 2, t2 = 0 (missing in Stata), t3 = 1
    # SE(ATU) = sqrt(Var0/N0 + Var1 * (4 + 1)/N0^2) = sqrt(19/9 + 13/3 * 5/9)
    assert e.rows["ATU"].se == pytest.approx(sqrt(122 / 27))
    # S_T = (1+2)^2 + (1+1)^2 = 13 (t2's missing weight drops out), S_C = 2 (11/6)^2 + (7/3)^2
    # SE(ATE) = sqrt((13/3 * 13 + 19/3 * 73/6) / 6^2) = 49 / sqrt(648)
    assert e.rows["ATE"].se == pytest.approx(49 / sqrt(648))


# ------------------------------------------------------------------ Abadie-Imbens


def ai_reference(pairs, y, treated, estimand, sigma2=None, sample=False):
    """R Matching RmatchLoop's variance, written out with loops and Fractions.

    pairs: list of (focal, match, weight) over unit names; d = Y_treated - Y_control.
    """
    units = list(y)
    d = {}
    for f, m, w in pairs:
        t, c = (f, m) if treated[f] else (m, f)
        d[(f, m)] = (F(y[t]) - F(y[c]), F(w))
    sn = sum(w for _, w in d.values())
    est = sum(w * v for v, w in d.values()) / sn
    tau = {u: sum(w * v for (f, _), (v, w) in d.items() if f == u) for u in units}
    focal = {f for f, _, _ in pairs}
    k = {u: sum(w for (_, m), (_, w) in d.items() if m == u) for u in units}
    kk = {u: sum(w * w for (_, m), (_, w) in d.items() if m == u) for u in units}
    if sigma2 is None:  # Var.calc = 0
        s2 = F(1, 2) * sum(w * (v - est) ** 2 for v, w in d.values()) / sn
        sigma2 = {u: s2 for u in units}
    if sample:
        var = sum(sigma2[u] * ((1 if u in focal else 0) + k[u]) ** 2 for u in units) / sn**2
    else:
        c = 2 if estimand == "ATE" else 0
        var = (sum((tau[u] - est) ** 2 for u in focal) + sum(sigma2[u] * (k[u] ** 2 + c * k[u] - kk[u]) for u in units)) / sn**2
    return sqrt(var)


def test_ai_se_1to1_by_hand():
    d = data_a()
    e = psm.effect(d, "y", matched(d))
    # d_p = 3, 2, -1; est = 4/3; sigma^2 = 0.5 * (25 + 4 + 49)/9 / 3 = 13/9
    # K(c3) = 2, KK(c3) = 2: V = [26/3 + 13/9 * (4 - 2)] / 9 = 104/81
    assert e.se_ai == pytest.approx(sqrt(104) / 9)
    assert e.t_ai == pytest.approx((4 / 3) / (sqrt(104) / 9))
    assert e.p_ai == pytest.approx(2 * stats.norm.sf(e.t_ai))


def test_ai_se_ties_and_reused_controls_by_hand():
    d = data_b()
    e = psm.effect(d, "y", matched(d, ties=True))
    # est = 17/9; sum_p w (d - est)^2 = 143/27 -> sigma^2 = 143/162
    # K^2 - KK: c1 = c2 = 25/36 - 13/36 = 1/3, c3 = 16/9 - 10/9 = 2/3 (sum 4/3)
    # sum (tau - est)^2 = 1/81 + 4/81 + 1/81 = 2/27
    # V = (2/27 + 143/162 * 4/3) / 9 = 608/4374
    assert e.se_ai == pytest.approx(sqrt(F(608, 4374)))
    pairs = [("t1", "c1", F(1, 2)), ("t1", "c2", F(1, 2)), ("t2", "c1", F(1, 3)), ("t2", "c2", F(1, 3)),
             ("t2", "c3", F(1, 3)), ("t3", "c3", 1)]
    treated = dict(zip(d.index, d.treat == 1))
    assert e.se_ai == pytest.approx(ai_reference(pairs, d.y.to_dict(), treated, "ATT"))
    sample = psm.effect(d, "y", matched(d, ties=True), ai_sample=True)
    # Thm 6: sigma^2 (N1 + sum K^2) / N1^2 = 143/162 * (3 + 25/36 + 25/36 + 16/9) / 9
    assert sample.se_ai == pytest.approx(sqrt(F(143, 162) * (3 + F(114, 36)) / 9))


def test_ai_se_heteroskedastic_var_calc_1_by_hand():
    d = data_b()
    e = psm.effect(d, "y", matched(d, ties=True), ai_var_calc=1)
    # same-arm nearest neighbour sets (ties included), sample variance n-1:
    #   c1: {c1, c2} y {1, 3} -> 2; c2 -> 2; c3: {c3, c1, c2} (both at .5) y {6, 1, 3} -> 19/3
    #   t1: {t1, t2} -> 1/2; t2: {t2, t1} -> 1/2; t3: {t3, t2} -> 9/2
    # V = [2/27 + 2 * 1/3 + 2 * 1/3 + 19/3 * 2/3] / 9 = 152/243
    assert e.se_ai == pytest.approx(sqrt(F(152, 243)))
    sigma2 = {"c1": 2, "c2": 2, "c3": F(19, 3), "t1": F(1, 2), "t2": F(1, 2), "t3": F(9, 2)}
    pairs = [("t1", "c1", F(1, 2)), ("t1", "c2", F(1, 2)), ("t2", "c1", F(1, 3)), ("t2", "c2", F(1, 3)),
             ("t2", "c3", F(1, 3)), ("t3", "c3", 1)]
    treated = dict(zip(d.index, d.treat == 1))
    s = psm.effect(d, "y", matched(d, ties=True), ai_var_calc=1, ai_sample=True)
    assert s.se_ai == pytest.approx(ai_reference(pairs, d.y.to_dict(), treated, "ATT", sigma2, sample=True))


def test_ai_se_ate_and_atu_against_reference_formula():
    d = data_b()
    m = matched(d, ties=True, estimand="ATE")
    att_pairs = [("t1", "c1", F(1, 2)), ("t1", "c2", F(1, 2)), ("t2", "c1", F(1, 3)), ("t2", "c2", F(1, 3)),
                 ("t2", "c3", F(1, 3)), ("t3", "c3", 1)]
    atu_pairs = [("c1", "t1", 1), ("c2", "t1", 1), ("c3", "t3", 1)]
    treated = dict(zip(d.index, d.treat == 1))
    y = d.y.to_dict()
    assert psm.effect(d, "y", m, estimand="ATE").se_ai == pytest.approx(ai_reference(att_pairs + atu_pairs, y, treated, "ATE"))
    assert psm.effect(d, "y", m, estimand="ATU").se_ai == pytest.approx(ai_reference(atu_pairs, y, treated, "ATU"))
    assert psm.effect(d, "y", m, estimand="ATT").se_ai == pytest.approx(ai_reference(att_pairs, y, treated, "ATT"))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["ATT", "ATU", "ATE"]), st.integers(0, 2), st.booleans())
def test_ai_se_equals_loop_reference_on_random_tied_data(seed, estimand, var_calc, sample):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 30))
    d = pd.DataFrame(
        {"treat": rng.permutation(np.r_[np.ones(n // 2, int), np.zeros(n - n // 2, int)]),
         "score": rng.integers(0, 8, n) / 8,  # coarse grid: many exact ties
         "y": rng.integers(0, 5, n).astype(float)},
        index=[f"u{i}" for i in range(n)],
    )
    m = matched(d, ties=True, estimand="ATE" if estimand == "ATE" else estimand)
    e = psm.effect(d, "y", m, estimand=estimand, ai_var_calc=var_calc, ai_sample=sample)
    directions = {"ATT": ["ATT"], "ATU": ["ATU"], "ATE": ["ATT", "ATU"]}[estimand]
    pairs = [
        (r.treated, r.control, F(r.weight).limit_denominator(1000)) if r.direction == "ATT"
        else (r.control, r.treated, F(r.weight).limit_denominator(1000))
        for r in m.pairs.itertuples() if r.direction in directions
    ]
    treated = dict(zip(d.index, d.treat == 1))
    sigma2 = None
    if var_calc:
        sigma2 = {u: brute_sigma2(d, u, var_calc) for u in d.index}
    ref = ai_reference(pairs, d.y.to_dict(), treated, estimand, sigma2, sample)
    assert e.se_ai == pytest.approx(ref, rel=1e-9, abs=1e-12)


# R reference: Matching 4.10-8 (Debian r-cran-matching), for each row below
#   Match(Y=y, Tr=treat, X=score, estimand=E, M=1, ties=TRUE, distance.tolerance=0,
#         tolerance=0, Var.calc=J, sample=S)  ->  $est, $se
R_TREAT = [0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 1, 1]
R_SCORE8 = [6, 2, 1, 4, 3, 5, 7, 2, 6, 1, 2, 6, 1, 5, 3, 4, 7, 6, 6, 4]
R_Y = [9, 9, 1, 2, 3, 5, 8, 4, 9, 3, 9, 5, 7, 2, 5, 8, 8, 8, 9, 1]
R_MATCH = [  # estimand, Var.calc, sample, est, se
    ("ATT", 0, False, -0.981818181818, 1.005580223192),
    ("ATT", 0, True, -0.981818181818, 1.030585736320),
    ("ATT", 1, False, -0.981818181818, 0.939035744382),
    ("ATT", 2, True, -0.981818181818, 1.662683946616),
    ("ATE", 0, False, -1.406666666667, 1.073225463869),
    ("ATE", 1, True, -1.406666666667, 1.253017469063),
    ("ATE", 2, False, -1.406666666667, 1.387933315721),
    ("ATC", 0, False, -1.925925925926, 1.203987984205),
    ("ATC", 1, False, -1.925925925926, 1.288098712422),
    ("ATC", 2, True, -1.925925925926, 1.409817624334),
]


@pytest.mark.parametrize("estimand, var_calc, sample, r_est, r_se", R_MATCH)
def test_ai_se_equals_r_matching(estimand, var_calc, sample, r_est, r_se):
    d = pd.DataFrame({"treat": R_TREAT, "score": np.array(R_SCORE8) / 8, "y": np.array(R_Y, float)})
    ours = {"ATC": "ATU"}.get(estimand, estimand)
    m = matched(d, ties=True, estimand="ATE")
    e = psm.effect(d, "y", m, estimand=ours, ai_var_calc=var_calc, ai_sample=sample)
    # R's "ATC" is psmatch2's ATU (average effect on the untreated), same sign
    assert e.matched.difference == pytest.approx(r_est, abs=1e-11)
    assert e.se_ai == pytest.approx(r_se, abs=1e-11)


def brute_sigma2(d: pd.DataFrame, unit, j: int) -> F:
    """Sample variance of Y_unit and its j nearest same-arm units (ties at the j-th kept)."""
    same = d[(d.treat == d.treat[unit]) & (d.index != unit)]
    dist = (same.score - d.score[unit]).abs()
    cut = np.sort(dist.to_numpy())[j - 1]
    ys = [F(d.y[unit])] + [F(v) for v in same.y[dist <= cut]]
    mean = sum(ys) / len(ys)
    return sum((v - mean) ** 2 for v in ys) / (len(ys) - 1)


# ------------------------------------------------------------------ API & output


def test_ci_and_to_frame():
    d = data_a()
    e = psm.effect(d, "y", matched(d))
    lo, hi = e.ci(level=0.95)
    z = stats.norm.ppf(0.975)
    assert (lo, hi) == pytest.approx((4 / 3 - z * sqrt(17) / 3, 4 / 3 + z * sqrt(17) / 3))
    lo_ai, hi_ai = e.ci(level=0.90, method="ai")
    assert hi_ai - lo_ai == pytest.approx(2 * stats.norm.ppf(0.95) * e.se_ai)
    frame = e.to_frame()
    assert list(frame.index) == ["Unmatched", "ATT", "ATT (AI)"]
    assert frame.loc["ATT (AI)", "se"] == pytest.approx(e.se_ai)
    with pytest.raises(ValueError, match="method"):
        e.ci(method="bootstrap")


def test_summary_prints_psmatch2_layout():
    d = data_b()
    text = psm.effect(d, "y", matched(d, ties=True, estimand="ATE")).summary()
    assert "Variable     Sample |    Treated     Controls   Difference         S.E.   T-stat" in text
    assert "S.E. does not take into account that the propensity score is estimated." in text
    lines = text.splitlines()
    assert lines[3].split() == ["y", "Unmatched", "|", *[f"{v:.8g}" for v in (17 / 3, 10 / 3, 7 / 3)],
                                lines[3].split()[6], lines[3].split()[7]]
    assert any(line.split()[:2] == ["ATU", "|"] and line.split()[-2:] == [".", "."] for line in lines)
    assert "Abadie-Imbens" in text


# ------------------------------------------------------------------- bad input


def test_missing_outcome_lists_rows_and_dropna_needs_the_model():
    d = data_a()
    d.loc[["c1", "t2"], "y"] = np.nan
    with pytest.raises(MissingValuesError) as info:
        psm.effect(d, "y", matched(d))
    assert info.value.rows == {"y": ["c1", "t2"]}
    # a score estimated with the dropped rows is not psmatch2's: refit, or refuse
    with pytest.raises(ValueError, match="propensity=model"):
        psm.effect(d, "y", matched(d), dropna=True)


def test_dropna_refits_the_score_without_the_missing_outcomes_as_psmatch2():
    rng = np.random.default_rng(4)
    n = 300
    d = pd.DataFrame({"x": rng.normal(size=n), "g": rng.choice(["a", "b", "c"], size=n)})
    d["treat"] = (rng.random(n) < 1 / (1 + np.exp(-0.8 * d["x"]))).astype(int)
    d["y"] = d["x"] + d["treat"] + rng.normal(size=n)
    d.loc[d.index[rng.choice(n, size=30, replace=False)], "y"] = np.nan
    ps = psm.fit_propensity(d, "treat", ["x", "g"], link="logit", reference={"g": "b"})
    e = psm.effect(d, "y", psm.match(d, "treat", ps.score, ties=True), dropna=True, propensity=ps)
    # psmatch2's order: drop the missing outcomes, fit, match
    clean = d.dropna(subset=["y"])
    ps_clean = psm.fit_propensity(clean, "treat", ["x", "g"], link="logit", reference={"g": "b"})
    ref = psm.effect(clean, "y", psm.match(clean, "treat", ps_clean.score, ties=True), propensity=ps_clean)
    assert e.n_dropped == 30
    assert e.matched.difference == pytest.approx(ref.matched.difference, abs=1e-12)
    assert e.se_ai2016 == pytest.approx(ref.se_ai2016, abs=1e-12)
    # and it differs from matching on the score fitted with the dropped rows
    stale = psm.match(clean, "treat", ps.score.loc[clean.index], ties=True)
    assert psm.effect(clean, "y", stale).matched.difference != pytest.approx(ref.matched.difference, abs=1e-9)


def test_unknown_outcome_column_suggests_close_names():
    d = data_a()
    with pytest.raises(ColumnNotFoundError) as info:
        psm.effect(d, "yy", matched(d))
    assert "y" in info.value.suggestions["yy"]


def test_non_numeric_outcome_is_rejected():
    d = data_a().assign(label=list("abcdefg"))
    with pytest.raises(TypeError, match="label"):
        psm.effect(d, "label", matched(d))


def test_estimand_needs_matching_direction():
    d = data_a()
    with pytest.raises(ValueError, match="estimand='ATE'"):
        psm.effect(d, "y", matched(d), estimand="ATU")
    with pytest.raises(ValueError, match="estimand must be"):
        psm.effect(d, "y", matched(d), estimand="ATX")
    with pytest.raises(ValueError, match="approx_se"):
        psm.effect(d, "y", matched(d), approx_se="v5")


def test_var_calc_needs_enough_units():
    d = data_a()
    with pytest.raises(ValueError, match="ai_var_calc=3"):
        psm.effect(d, "y", matched(d), ai_var_calc=3)


def test_boolean_outcome_is_treated_as_0_1():
    d = data_a().assign(flag=[True, False, True, False, True, True, False])
    e = psm.effect(d, "flag", matched(d))
    # matched: t1 (1) -> c1 (1), t2 (1) -> c3 (1), t3 (0) -> c3 (1): ATT = 2/3 - 1
    assert e.matched.difference == pytest.approx(-1 / 3)


# ---------------------------------------------- AI SE with ties: its own definition


def test_ai_se_uses_every_tied_control_whatever_psmatch2_picked():
    # Data B without ties=True: psmatch2 matches t1 (.25) to c1 only (first in sort order),
    # but the AI (2006) SE is that of the estimator matching t1 to both c1 and c2 (distance
    # 0) and t2 to c1, c2, c3 (all at .25): the same SE as the ties=True matching, 608/4374.
    d = data_b()
    plain = psm.effect(d, "y", matched(d))
    assert plain.matched.difference != pytest.approx(17 / 9)  # psmatch2's own estimate differs
    assert plain.se_ai == pytest.approx(sqrt(F(608, 4374)))


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 3), st.sampled_from(["ATT", "ATE"]), st.integers(0, 2))
def test_ai_se_does_not_depend_on_row_order(seed, k, estimand, var_calc):
    rng = np.random.default_rng(seed)
    n = 24
    d = pd.DataFrame(
        {"treat": np.r_[np.ones(10, int), np.zeros(14, int)], "score": rng.integers(0, 6, n) / 8,
         "y": rng.integers(0, 9, n).astype(float)},
        index=[f"u{i}" for i in range(n)],
    )
    shuffled = d.iloc[rng.permutation(n)]
    ses = [psm.effect(x, "y", matched(x, k=k, estimand=estimand), estimand=estimand, ai_var_calc=var_calc).se_ai
           for x in (d, shuffled)]
    assert ses[0] == pytest.approx(ses[1], rel=1e-12)


# --------------------------------------------- AI (2016) SE of a matching on the score


def cattaneo2():
    from pathlib import Path

    return pd.read_csv(Path(__file__).parent / "data" / "cattaneo2.csv")


@pytest.mark.parametrize(("estimand", "stata_se"), [("ATE", 25.88746), ("ATT", 30.55147)])
def test_se_ai2016_of_a_psm_matching_equals_teffects(estimand, stata_se):
    # teffects psmatch (bweight) (mbsmoke mmarried mage fage medu prenatal1) [, atet]
    # printed AI robust std. err. (source and data: tests/test_teffects.py)
    d = cattaneo2()
    model = psm.fit_propensity(d, "mbsmoke", ["mmarried", "mage", "fage", "medu", "prenatal1"], link="logit")
    m = psm.match(d, "mbsmoke", model.score, estimand=estimand, ties=True)
    e = psm.effect(d, "bweight", m, estimand=estimand, propensity=model)
    assert float(f"{e.se_ai2016:.7g}") == stata_se
    assert e.ai2016_vce_k == 2
    assert "(AI 2016)" in e.to_frame().index[-1]
    assert "adjusted for the estimated score" in e.summary()
    lo, hi = e.ci(method="ai2016")
    assert hi - lo == pytest.approx(2 * stats.norm.ppf(0.975) * e.se_ai2016)


def test_se_ai2016_is_refused_where_it_does_not_apply():
    d = cattaneo2().iloc[:400]
    model = psm.fit_propensity(d, "mbsmoke", ["mmarried", "mage"], link="logit")
    with pytest.raises(ValueError, match="own estimated probability"):
        psm.effect(d, "bweight", psm.match(d, "mbsmoke", model.linear_predictor), propensity=model)
    with pytest.raises(ValueError, match="with replacement"):
        psm.effect(d, "bweight", psm.match(d, "mbsmoke", model.score, replace=False), propensity=model)
    assert np.isnan(psm.effect(d, "bweight", psm.match(d, "mbsmoke", model.score)).se_ai2016)


# R reference with k > 1 and tied scores: Matching 4.10-8 on the MatchIt LaLonde data
# (psm.datasets.lalonde()), score = logit propensity on age, educ, married, nodegree rounded
# to multiples of 1/256 (109 distinct values, many ties):
#   Match(Y=re78, Tr=treat, X=score, estimand=E, M=M, ties=TRUE, distance.tolerance=0,
#         tolerance=0, Var.calc=V)$se
R_LALONDE_SE = [  # estimand, M, Var.calc, se
    ("ATT", 2, 0, 877.732901404968), ("ATT", 2, 2, 795.396867803125),
    ("ATT", 3, 0, 855.153553607710), ("ATT", 3, 2, 788.992068825041),
    ("ATE", 2, 0, 822.480999249112), ("ATE", 3, 2, 809.786550129978),
    ("ATC", 2, 2, 1000.091649620260), ("ATC", 3, 0, 896.090184571287),
]


@pytest.fixture(scope="module")
def lalonde_rounded():
    d = psm.datasets.lalonde()
    model = psm.fit_propensity(d, "treat", ["age", "educ", "married", "nodegree"], link="logit")
    return d.assign(score=np.round(model.score * 256) / 256)


@pytest.mark.parametrize(("estimand", "k", "var_calc", "r_se"), R_LALONDE_SE)
def test_ai_se_with_k_neighbours_and_ties_equals_r_matching(lalonde_rounded, estimand, k, var_calc, r_se):
    d = lalonde_rounded
    m = psm.match(d, "treat", "score", k=k, ties=True, estimand="ATE")
    e = psm.effect(d, "re78", m, estimand={"ATC": "ATU"}.get(estimand, estimand), ai_var_calc=var_calc)
    assert e.se_ai == pytest.approx(r_se, rel=1e-11)


# Bias-corrected matching (Abadie & Imbens 2011) against R Matching 4.10-8:
#   Match(Y, Tr, X=score, Z=Z, BiasAdjust=TRUE, estimand=E, M=M, ties=TRUE,
#         distance.tolerance=0, tolerance=0)  ->  $est, $se
# LaLonde (psm.datasets.lalonde()): score = logit on age, educ, married, nodegree, re74;
#   Y = re78, Z = (age, educ, re74), M = 1.
# cattaneo2 (tests/data): score = logit on mmarried, mage, fage, medu, prenatal1 rounded to
#   multiples of 2^-20 (exact distances, so R's squared distances tie exactly as ours);
#   Y = bweight, Z = (mage, medu, fage).
R_BIAS_ADJUST = [  # data, estimand, M, est, se
    ("lalonde", "ATT", 1, 965.320994212011, 963.850627080594),
    ("lalonde", "ATE", 1, 88.872501248557, 961.531679026474),
    ("lalonde", "ATC", 1, -289.083142570181, 1174.517201994589),
    ("cattaneo2", "ATE", 2, -236.988184569179, 29.540803538021),
    ("cattaneo2", "ATC", 1, -231.555642644789, 35.384743349747),
]


def bias_adjust_data(name):
    if name == "lalonde":
        d = psm.datasets.lalonde()
        model = psm.fit_propensity(d, "treat", ["age", "educ", "married", "nodegree", "re74"], link="logit")
        return d.assign(score=model.score), "treat", "re78", ["age", "educ", "re74"]
    d = cattaneo2()
    model = psm.fit_propensity(d, "mbsmoke", ["mmarried", "mage", "fage", "medu", "prenatal1"], link="logit")
    return d.assign(score=np.round(model.score * 2**20) / 2**20), "mbsmoke", "bweight", ["mage", "medu", "fage"]


@pytest.mark.parametrize(("name", "estimand", "k", "r_est", "r_se"), R_BIAS_ADJUST)
def test_bias_corrected_matching_equals_r(name, estimand, k, r_est, r_se):
    d, treatment, outcome, z = bias_adjust_data(name)
    m = psm.match(d, treatment, "score", k=k, ties=True, estimand="ATE")
    e = psm.effect(d, outcome, m, estimand=estimand, bias_adjust=z)
    assert e.bias_corrected == pytest.approx(r_est, rel=1e-10)
    assert e.se_bias_corrected == pytest.approx(r_se, rel=1e-10)


def test_bias_correction_by_hand():
    # Data A (t1 -> c1, t2 -> c3, t3 -> c3), Z = score. K: c1 = 1, c3 = 2. Weighted LS of Y on
    # (1, s) over c1 (s .1, y 1, weight 1) and c3 (s .5, y 3, weight 2): the line through both
    # points, slope 5. Adjusted d = d - (s_t - s_c) * 5: 3 - .1, 2 - (-.1), -1 - .1 -> mean 4/3 - .1/3
    d = data_a()
    e = psm.effect(d, "y", matched(d), bias_adjust=["score"])
    assert e.bias_corrected == pytest.approx(4 / 3 - 0.1 / 3)
    assert "Bias-corrected (Abadie-Imbens 2011) ATT for y: 1.3" in e.summary()
    with pytest.raises(ValueError, match="kernel"):
        psm.effect(d, "y", psm.match(d, "treat", "score", method="radius", caliper=0.3), bias_adjust=["score"])
