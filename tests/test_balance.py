"""Tests of psm.balance against pstest's formulas, recomputed by hand, and against scipy/statsmodels."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, stats

import psm
from psm.balance import BalanceTable, balance
from psm.errors import (
    ColumnNotFoundError,
    ConstantCovariateError,
    CovariateTypeError,
    EmptyGroupError,
    InvalidTreatmentError,
    InvalidWeightsError,
    MissingValuesError,
)

# --------------------------------------------------------------------------------------------------
# The small weighted example used throughout (arithmetic written out in each test).
#   treated  a b c d : x = 1 2 4 10, z = 1 0 1 0; d is off support (weight 0)
#   controls e f g h i: x = 1 3 3 5 8, z = 0 1 0 1 1; weights 1.5 .5 .25 .75 0 (ties: f and g share x = 3,
#   fractional weights as 1/#matches sums produce them). Control weights sum to 3 = treated on support.


@pytest.fixture
def example() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "t": [1, 1, 1, 1, 0, 0, 0, 0, 0],
            "x": [1.0, 2, 4, 10, 1, 3, 3, 5, 8],
            "z": [1, 0, 1, 0, 0, 1, 0, 1, 1],
            "w": [1, 1, 1, 0, 1.5, 0.5, 0.25, 0.75, 0],
        },
        index=list("abcdefghi"),
    )


@pytest.fixture
def bt(example: pd.DataFrame) -> BalanceTable:
    return balance(example, ["x", "z"], example["w"], treatment="t")


SD_U = math.sqrt((16.25 + 7.0) / 2)  # sqrt((v1U + v0U)/2) for x, see test_means_and_variances


def test_means_and_bias_by_hand(bt: BalanceTable) -> None:
    row = bt.table.loc["x"]
    # U treated 1,2,4,10: mean 17/4; var (10.5625 + 5.0625 + 0.0625 + 33.0625)/3 = 16.25
    # U controls 1,3,3,5,8: mean 4; var (9 + 1 + 1 + 1 + 16)/4 = 7
    assert row.mean_treated_unmatched == pytest.approx(4.25)
    assert row.mean_control_unmatched == pytest.approx(4.0)
    # M treated (d off support) 1,2,4: mean 7/3
    # M controls: W0 = 3, sum w x = 1.5 + 1.5 + .75 + 3.75 = 7.5 -> mean 2.5
    assert row.mean_treated_matched == pytest.approx(7 / 3)
    assert row.mean_control_matched == pytest.approx(2.5)
    # %bias U = 100 * .25 / sqrt((16.25 + 7)/2); M uses the SAME unmatched denominator
    assert row.pct_bias_unmatched == pytest.approx(100 * 0.25 / SD_U)
    assert row.pct_bias_matched == pytest.approx(100 * (7 / 3 - 2.5) / SD_U)
    # %reduct = 100 (1 - |B_M|/|B_U|) = 100 (1 - (1/6)/(1/4)) = 100/3
    assert row.pct_reduction == pytest.approx(100 / 3)


def test_binary_covariate_by_hand(bt: BalanceTable) -> None:
    row = bt.table.loc["z"]
    assert bool(row.binary)
    # U: treated 1,0,1,0 mean .5 var 1/3; controls 0,1,0,1,1 mean .6 var 1.2/4 = .3 (n-1, not p(1-p))
    sd = math.sqrt((1 / 3 + 0.3) / 2)
    assert row.pct_bias_unmatched == pytest.approx(100 * (0.5 - 0.6) / sd)
    # M: treated 1,0,1 mean 2/3; controls (.5 + .75)/3 = 5/12
    assert row.mean_control_matched == pytest.approx(5 / 12)
    assert row.pct_bias_matched == pytest.approx(100 * (2 / 3 - 5 / 12) / sd)
    # no variance ratio for binary covariates (pstest l.219)
    assert np.isnan(row.var_ratio_unmatched) and np.isnan(row.var_ratio_matched)
    assert not row.var_ratio_flag_matched
    # cobalt: binary as the raw difference in proportions; eCDF stats = |p1 - p0|
    assert row.smd_unmatched == pytest.approx(-0.1)
    assert row.smd_matched == pytest.approx(0.25)
    assert row.ecdf_max_matched == pytest.approx(0.25) and row.ecdf_mean_unmatched == pytest.approx(0.1)


def test_matched_t_test_by_hand(bt: BalanceTable) -> None:
    row = bt.table.loc["x"]
    # regress x t [iw=w] if support: W = 3 + 3 = 6, df = W - 2 = 4
    # weighted SSR: treated (1-7/3)^2 + (2-7/3)^2 + (4-7/3)^2 = 42/9;
    #               controls 1.5*2.25 + .5*.25 + .25*.25 + .75*6.25 = 8.25
    s2 = (42 / 9 + 8.25) / 4
    se = math.sqrt(s2 * (1 / 3 + 1 / 3))
    t = (7 / 3 - 2.5) / se
    assert row.t_matched == pytest.approx(t)
    assert row.t_matched == pytest.approx(-0.1135919, abs=1e-6)
    assert row.p_matched == pytest.approx(2 * stats.t.sf(abs(t), 4))


def test_unmatched_t_test_equals_scipy(bt: BalanceTable, example: pd.DataFrame) -> None:
    # unweighted regress x t = pooled-variance two-sample t-test, df = n - 2 = 7
    res = stats.ttest_ind(example.x[example.t == 1], example.x[example.t == 0], equal_var=True)
    assert bt.table.loc["x", "t_unmatched"] == pytest.approx(res.statistic)
    assert bt.table.loc["x", "p_unmatched"] == pytest.approx(res.pvalue)
    # by hand: s2 = (48.75 + 28)/7, se = sqrt(s2 (1/4 + 1/5)), t = .25/se
    assert res.statistic == pytest.approx(0.25 / math.sqrt(76.75 / 7 * 0.45))


def test_variance_ratio_and_f_bounds(bt: BalanceTable) -> None:
    row = bt.table.loc["x"]
    assert row.var_ratio_unmatched == pytest.approx(16.25 / 7)
    # M: treated var 7/3; controls sum w (x - 2.5)^2 / (W0 - 1) = 8.25/2 = 4.125
    assert row.var_ratio_matched == pytest.approx((7 / 3) / 4.125)
    # bounds: F(N1-1, N1-1) with N1 = 4 treated (U) and 3 treated on support (M)
    b = bt.var_ratio_bounds
    assert b.loc["unmatched", "lower"] == pytest.approx(stats.f.ppf(0.025, 3, 3))
    assert b.loc["matched", "upper"] == pytest.approx(stats.f.ppf(0.975, 2, 2))
    assert b.loc["matched", "upper"] == pytest.approx(39.0)  # F_.975(2,2) = 1/.025 - 1
    assert not row.var_ratio_flag_unmatched and not row.var_ratio_flag_matched
    assert bt.summary_stats.loc["matched", "pct_var_flagged"] == 0.0  # one continuous covariate, none flagged


def test_cobalt_statistics_by_hand(bt: BalanceTable) -> None:
    row = bt.table.loc["x"]
    # ATT: SMD denominator = SD of the unmatched treated, sqrt(16.25)
    assert row.smd_unmatched == pytest.approx(0.25 / math.sqrt(16.25))
    assert row.smd_matched == pytest.approx((7 / 3 - 2.5) / math.sqrt(16.25))
    # cobalt weighted variance of the matched controls: u = (.5, 1/6, 1/12, .25),
    # sum u (x - 2.5)^2 = 2.75, 1 - sum u^2 = 1 - 50/144  -> 2.75 / (94/144)
    assert row.var_ratio_cobalt_matched == pytest.approx((7 / 3) / (2.75 / (94 / 144)))
    assert row.var_ratio_cobalt_unmatched == pytest.approx(16.25 / 7)
    # matched eCDFs at 1,2,3,4,5: F1 = 1/3, 2/3, 2/3, 1, 1; F0 = .5, .5, .75, .75, 1
    assert row.ecdf_mean_matched == pytest.approx((1 / 6 + 1 / 6 + 1 / 12 + 1 / 4 + 0) / 5)
    assert row.ecdf_max_matched == pytest.approx(0.25)
    # unmatched at 1,2,3,4,5,8,10: gaps .05 .3 .1 .15 .05 .25 0
    assert row.ecdf_mean_unmatched == pytest.approx(0.9 / 7)


def test_ks_equals_scipy_unweighted(bt: BalanceTable, example: pd.DataFrame) -> None:
    ks = stats.ks_2samp(example.x[example.t == 1], example.x[example.t == 0]).statistic
    assert bt.table.loc["x", "ecdf_max_unmatched"] == pytest.approx(ks)


def test_sd_denominators(example: pd.DataFrame) -> None:
    pooled = balance(example, ["x"], example["w"], treatment="t", sd_denom="pooled")
    assert pooled.table.loc["x", "smd_unmatched"] == pytest.approx(0.25 / SD_U)
    atu = balance(example, ["x"], example["w"], treatment="t", estimand="ATU", reference_weight="given")
    assert atu.sd_denom == "control"
    assert atu.table.loc["x", "smd_unmatched"] == pytest.approx(0.25 / math.sqrt(7.0))


def test_summary_bias_rows(bt: BalanceTable) -> None:
    b = bt.table.pct_bias_unmatched.abs()
    assert bt.summary_stats.loc["unmatched", "mean_abs_bias"] == pytest.approx(b.mean())
    assert bt.summary_stats.loc["unmatched", "median_abs_bias"] == pytest.approx((b.iloc[0] + b.iloc[1]) / 2)


def test_sample_sizes(bt: BalanceTable) -> None:
    assert bt.sample_sizes.loc["matched"].to_dict() == {
        "n_treated": 3,
        "n_control": 4,
        "sum_w_treated": 3.0,
        "sum_w_control": 3.0,
    }
    assert bt.sample_sizes.loc["unmatched", "n_control"] == 5


# --------------------------------------------------------------------------------------------------
# probit refit (pseudo-R2, LR chi2) and Rubin's B and R


def test_unmatched_probit_equals_statsmodels(bt: BalanceTable, example: pd.DataFrame) -> None:
    ref = sm.Probit(example.t, sm.add_constant(example[["x", "z"]].astype(float))).fit(disp=0)
    s = bt.summary_stats.loc["unmatched"]
    assert s.pseudo_r2 == pytest.approx(ref.prsquared, rel=1e-6)
    assert s.lr_chi2 == pytest.approx(ref.llr, rel=1e-6)
    assert s.p_chi2 == pytest.approx(ref.llr_pvalue, rel=1e-6)
    assert s.lr_df == 2


def _iweighted_probit_loglik(beta: np.ndarray, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float:
    """Stata's iweighted probit log-likelihood sum w log Phi(q x'b), q = 2y - 1."""
    return float(np.sum(w * stats.norm.logcdf((2 * y - 1) * (x @ beta))))


def test_matched_probit_is_the_iweighted_likelihood(bt: BalanceTable, example: pd.DataFrame) -> None:
    m = example[example.w > 0]
    x = np.column_stack([np.ones(len(m)), m.x, m.z])
    y, w = m.t.to_numpy(float), m.w.to_numpy(float)
    fit = optimize.minimize(lambda b: -_iweighted_probit_loglik(b, x, y, w), np.zeros(3), method="BFGS", tol=1e-10)
    pbar = np.sum(w * y) / np.sum(w)  # null model: constant only
    ll0 = float(np.sum(w * (y * np.log(pbar) + (1 - y) * np.log(1 - pbar))))
    refit = bt.probit["matched"]
    assert refit.llf == pytest.approx(-fit.fun, rel=1e-6)
    assert refit.llnull == pytest.approx(ll0, rel=1e-9)
    assert refit.params.to_numpy() == pytest.approx(fit.x, rel=1e-4, abs=1e-5)
    s = bt.summary_stats.loc["matched"]
    assert s.pseudo_r2 == pytest.approx(1 - (-fit.fun) / ll0, rel=1e-6)
    assert s.p_chi2 == pytest.approx(stats.chi2.sf(2 * (-fit.fun - ll0), 2), rel=1e-5)


def test_integer_iweights_equal_replicated_rows() -> None:
    # integer importance weights = the sample with each row repeated w times (Stata fweights)
    df = pd.DataFrame({"t": [1, 1, 1, 1, 0, 0, 0, 0], "x": [0.5, 1.0, 2.0, 3.0, 0.0, 1.5, 2.5, 4.0],
                       "w": [1, 1, 1, 1, 2, 1, 1, 0]})
    bt = balance(df, ["x"], df["w"], treatment="t")
    rep = df.loc[df.index.repeat(df.w)]
    ref = sm.Probit(rep.t, sm.add_constant(rep[["x"]])).fit(disp=0)
    assert bt.summary_stats.loc["matched", "lr_chi2"] == pytest.approx(ref.llr, rel=1e-6)
    res = stats.ttest_ind(rep.x[rep.t == 1], rep.x[rep.t == 0])
    assert bt.table.loc["x", "t_matched"] == pytest.approx(res.statistic)
    assert bt.table.loc["x", "p_matched"] == pytest.approx(res.pvalue)


def test_collinear_covariate_is_omitted_from_the_probit_as_stata_does(example: pd.DataFrame) -> None:
    # z2 = 1 - z is collinear with the constant and z: Stata keeps the earlier columns and omits z2
    df = example.assign(z2=1 - example.z, x2=2 * example.x + 3)
    bt = balance(df, ["x", "z", "z2", "x2"], df["w"], treatment="t")
    for sample in ("unmatched", "matched"):
        refit = bt.probit[sample]
        assert refit.omitted == ("z2", "x2") and refit.df == 2
        assert list(refit.params.index) == ["_cons", "x", "z"]
    plain = balance(example, ["x", "z"], example["w"], treatment="t")
    assert bt.probit["matched"].params.to_numpy() == pytest.approx(plain.probit["matched"].params.to_numpy(), abs=1e-12)
    assert bt.summary_stats.loc["matched", "lr_chi2"] == pytest.approx(plain.summary_stats.loc["matched", "lr_chi2"])


def test_rubin_b_and_r_on_the_linear_index(bt: BalanceTable, example: pd.DataFrame) -> None:
    for sample, w in (("unmatched", np.ones(9)), ("matched", example.w.to_numpy())):
        p = bt.probit[sample].params
        xb = p["_cons"] + p["x"] * example.x.to_numpy() + p["z"] * example.z.to_numpy()
        t = example.t.to_numpy() == 1

        def mv(mask: np.ndarray) -> tuple[float, float]:
            ww, v = w[mask], xb[mask]
            m = np.sum(ww * v) / ww.sum()
            return m, np.sum(ww * (v - m) ** 2) / (ww.sum() - 1)

        (m1, v1), (m0, v0) = mv(t), mv(~t)
        s = bt.summary_stats.loc[sample]
        assert s.rubin_b == pytest.approx(100 * (m1 - m0) / math.sqrt((v1 + v0) / 2))
        assert s.rubin_r == pytest.approx(v1 / v0)
        assert s.rubin_b_flag == (s.rubin_b >= 25)


def test_separation_gives_nan_summary_with_a_warning() -> None:
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [5.0, 6, 7, 1, 2, 3]})
    with pytest.warns(UserWarning, match="predict treatment perfectly"):
        bt = balance(df, ["x"], pd.Series(1.0, index=df.index), treatment="t")
    assert np.isnan(bt.summary_stats.loc["unmatched", "pseudo_r2"])
    assert np.isnan(bt.summary_stats.loc["unmatched", "rubin_b"])
    assert bt.table.loc["x", "pct_bias_unmatched"] > 0  # per-covariate rows are still computed


def test_separation_in_the_matched_sample_only_is_reported_not_raised() -> None:
    # matched: the treated all have x = 0, the controls -1.5 or 0.25 -- a quasi-separation whose probit
    # runs to an infinite information matrix; the unmatched sample overlaps and keeps its summary
    df = pd.DataFrame({
        "t": [0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        "x": [-1.5, 0, 0.25, -1.5, 0, -1.5, 0.25, -1.5, -1.5, -1.5, -1.5],
        "w": [0, 3, 0.5, 0, 3, 0, 3, 0, 0, 0, 0.2],
    })
    with pytest.warns(UserWarning, match="matched sample: the covariates predict treatment perfectly"):
        bt = balance(df, ["x"], df["w"], treatment="t", reference_weight="given")
    assert np.isnan(bt.summary_stats.loc["matched", "pseudo_r2"])
    assert bt.summary_stats.loc["unmatched", "pseudo_r2"] == pytest.approx(bt.probit["unmatched"].pseudo_r2)
    assert 0 < bt.summary_stats.loc["unmatched", "pseudo_r2"] < 1


# --------------------------------------------------------------------------------------------------
# invariants


def test_all_weights_one_equals_plain_two_sample_statistics(example: pd.DataFrame) -> None:
    bt = balance(example, ["x", "z"], pd.Series(1.0, index=example.index), treatment="t")
    x1, x0 = example.x[example.t == 1], example.x[example.t == 0]
    row = bt.table.loc["x"]
    assert row.mean_treated_matched == pytest.approx(x1.mean())
    assert row.pct_bias_matched == pytest.approx(row.pct_bias_unmatched)
    assert row.pct_reduction == pytest.approx(0.0)
    assert row.t_matched == pytest.approx(stats.ttest_ind(x1, x0).statistic)
    assert row.var_ratio_matched == pytest.approx(x1.var(ddof=1) / x0.var(ddof=1))
    assert row.ecdf_max_matched == pytest.approx(stats.ks_2samp(x1, x0).statistic)
    assert bt.summary_stats.loc["matched", "lr_chi2"] == pytest.approx(bt.summary_stats.loc["unmatched", "lr_chi2"])


def test_perfect_balance_gives_zero_bias_and_t() -> None:
    df = pd.DataFrame({"t": [1, 1, 1, 0, 0, 0], "x": [1.0, 2, 3, 1, 2, 3], "z": [0, 1, 1, 0, 1, 1]})
    bt = balance(df, ["x", "z"], pd.Series(1.0, index=df.index), treatment="t")
    for sample in ("unmatched", "matched"):
        assert (bt.table[f"pct_bias_{sample}"] == 0).all()
        assert (bt.table[f"t_{sample}"] == 0).all()
        assert bt.table[f"p_{sample}"].to_numpy() == pytest.approx(1.0)
        assert (bt.table[f"ecdf_max_{sample}"] == 0).all()
    assert bt.summary_stats.loc["matched", "rubin_b"] == pytest.approx(0.0, abs=1e-9)
    assert bt.summary_stats.loc["matched", "pseudo_r2"] == pytest.approx(0.0, abs=1e-9)
    assert np.isnan(bt.table.loc["x", "pct_reduction"])  # 0/0: pstest prints a missing value


@st.composite
def weighted_samples(draw: st.DrawFn) -> pd.DataFrame:
    n1, n0 = draw(st.integers(3, 8)), draw(st.integers(3, 8))
    xs = st.floats(-50, 50, allow_nan=False).map(lambda v: round(v, 2))
    x = draw(st.lists(xs, min_size=n1 + n0, max_size=n1 + n0, unique=True))
    w0 = draw(st.lists(st.integers(0, 3), min_size=n0, max_size=n0).filter(lambda v: sum(v) >= 2))
    return pd.DataFrame({"t": [1] * n1 + [0] * n0, "x": x, "w": [1] * n1 + w0})


@pytest.mark.filterwarnings("ignore:pstest probit")
@settings(max_examples=100, deadline=None)
@given(weighted_samples())
def test_integer_weights_match_replication_property(df: pd.DataFrame) -> None:
    bt = balance(df, ["x"], df["w"], treatment="t")
    rep = df.loc[df.index.repeat(df.w)]
    x1, x0 = rep.x[rep.t == 1], rep.x[rep.t == 0]
    row = bt.table.loc["x"]
    assert row.mean_control_matched == pytest.approx(x0.mean())
    if x0.nunique() > 1:
        assert row.t_matched == pytest.approx(stats.ttest_ind(x1, x0).statistic, rel=1e-7, abs=1e-9)
        assert row.var_ratio_matched == pytest.approx(x1.var(ddof=1) / x0.var(ddof=1), rel=1e-7)
    sd_u = math.sqrt((df.x[df.t == 1].var() + df.x[df.t == 0].var()) / 2)
    assert row.pct_bias_matched == pytest.approx(100 * (x1.mean() - x0.mean()) / sd_u, rel=1e-7, abs=1e-9)


@pytest.mark.filterwarnings("ignore:pstest probit")
@settings(max_examples=50, deadline=None)
@given(weighted_samples(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(df: pd.DataFrame, rnd) -> None:
    order = list(df.index)
    rnd.shuffle(order)
    a = balance(df, ["x"], df["w"], treatment="t").table
    b = balance(df.loc[order], ["x"], df.loc[order, "w"], treatment="t").table
    pd.testing.assert_frame_equal(a, b, rtol=1e-9)


def _ecdf_gaps_by_definition(x: np.ndarray, t: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """``|F1(v) - F0(v)|`` at every distinct v among the units with w > 0, each F a weighted share of units
    at or below v (MatchIt qqsum(standardize=TRUE)): a double loop, no sorting or running sums."""
    inside = w > 0
    values = sorted(set(x[inside].tolist()))
    w1, w0 = w[inside & (t == 1)].sum(), w[inside & (t == 0)].sum()
    gaps = [abs(w[inside & (t == 1) & (x <= v)].sum() / w1 - w[inside & (t == 0) & (x <= v)].sum() / w0)
            for v in values]
    return float(np.mean(gaps)), float(np.max(gaps))


@st.composite
def tied_weighted_samples(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(21, 40))
    t = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n).filter(lambda v: 2 <= sum(v) <= len(v) - 2))
    values = draw(st.sampled_from([  # integers, one and two decimals (coded without a sort), and neither
        [0.0, 1.0, 2.0, 4.0, 5.0], [0.1, 0.2, 0.3, 0.5, 0.6], [1.0, 1.05, 1.1, 1.15, 1.2],
        [-0.1, 0.3, 1 / 3, 2.0, 1e-5 + 2.0]]))
    x = draw(st.lists(st.sampled_from(values), min_size=n, max_size=n))
    w = draw(st.lists(st.sampled_from([0.0, 0.2, 0.5, 1.0, 3.0]), min_size=n, max_size=n))
    df = pd.DataFrame({"t": t, "x": x, "w": w})
    assume = df.x.nunique() > 2 and all((df.w[df.t == g] > 0).any() for g in (0, 1))
    return df if assume else draw(st.nothing())


@pytest.mark.filterwarnings("ignore:pstest probit")
@settings(max_examples=40, deadline=None)
@given(tied_weighted_samples())
def test_ecdf_statistics_equal_their_definition_with_ties_and_zero_weights(df: pd.DataFrame) -> None:
    row = balance(df, ["x"], df["w"], treatment="t", reference_weight="given",
                  on_support=pd.Series(True, index=df.index)).table.loc["x"]
    x, t, w = df.x.to_numpy(), df.t.to_numpy(), df.w.to_numpy()
    for sample, weights in (("unmatched", np.ones_like(w)), ("matched", w)):
        mean, largest = _ecdf_gaps_by_definition(x, t, weights)
        assert row[f"ecdf_mean_{sample}"] == pytest.approx(mean, rel=1e-12, abs=1e-12)
        assert row[f"ecdf_max_{sample}"] == pytest.approx(largest, rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------------------------------
# inputs: Matching duck type, estimand, categorical covariates


def test_matching_duck_type_equals_weights_series(example: pd.DataFrame, bt: BalanceTable) -> None:
    m = SimpleNamespace(
        treated=example.t == 1, on_support=(example.t == 0) | (example.w > 0), weights=example.w, estimand="ATT"
    )
    via_matching = balance(example, ["x", "z"], m)
    pd.testing.assert_frame_equal(via_matching.table, bt.table)


def test_reference_weight_is_replaced_by_support(example: pd.DataFrame, bt: BalanceTable) -> None:
    # pstest: `replace mweight = support if treated==1` -> a treated weight of 7 counts as 1
    w = example.w.where(example.index != "a", 7.0)
    pd.testing.assert_frame_equal(balance(example, ["x", "z"], w, treatment="t").table, bt.table)
    given = balance(example, ["x"], w, treatment="t", reference_weight="given")
    assert given.table.loc["x", "mean_treated_matched"] == pytest.approx((7 * 1 + 2 + 4) / 9)


def test_off_support_control_leaves_matched_sample(example: pd.DataFrame) -> None:
    support = pd.Series(True, index=example.index)
    support["d"] = False
    support["e"] = False  # a control off support (ATE-style support) is dropped despite its weight
    bt = balance(example, ["x"], example.w, treatment="t", on_support=support)
    assert bt.table.loc["x", "mean_control_matched"] == pytest.approx((1.5 + 0.75 + 3.75) / 1.5)


def test_atu_mirrors_att_on_flipped_treatment(example: pd.DataFrame) -> None:
    w = pd.Series([0.5, 1, 1.5, 0, 1, 1, 1, 1, 1.0], index=example.index)
    atu = balance(example, ["x"], w, treatment="t", estimand="ATU")
    flipped = balance(example.assign(t=1 - example.t), ["x"], w, treatment="t", estimand="ATT")
    assert atu.table.loc["x", "pct_bias_matched"] == pytest.approx(-flipped.table.loc["x", "pct_bias_matched"])
    assert atu.table.loc["x", "t_matched"] == pytest.approx(-flipped.table.loc["x", "t_matched"])


def test_categorical_dummies_and_numeric(example: pd.DataFrame) -> None:
    df = example.assign(off=[1, 2, 3, 2, 1, 1, 3, 2, 3])
    dummies = balance(df, ["off"], df.w, treatment="t", factors=["off"])
    assert list(dummies.table.index) == ["off=1", "off=2", "off=3"]  # every level, base 1 included
    manual = balance(df.assign(d2=(df.off == 2) * 1, d3=(df.off == 3) * 1), ["d2", "d3"], df.w, treatment="t")
    np.testing.assert_allclose(dummies.table.drop(index="off=1").to_numpy(float), manual.table.to_numpy(float))
    numeric = balance(df, ["off"], df.w, treatment="t", factors=["off"], categorical="numeric")
    assert list(numeric.table.index) == ["off"]
    assert numeric.table.loc["off", "mean_treated_unmatched"] == pytest.approx(2.0)  # (1+2+3+2)/4


def test_text_categories_become_dummies(example: pd.DataFrame) -> None:
    df = example.assign(crime=["Other", "Violent", "Property", "Other", "Violent", "Other", "Property", "Other", "Other"])
    bt = balance(df, ["crime"], df.w, treatment="t", labels={"crime": "Crime type"})
    assert list(bt.table.index) == ["crime=Other", "crime=Property", "crime=Violent"]
    assert bt.label("crime=Violent") == "Crime type=Violent"
    with pytest.raises(CovariateTypeError, match="crime"):
        balance(df, ["crime"], df.w, treatment="t", categorical="numeric")


# --------------------------------------------------------------------------------------------------
# errors


def test_errors_name_the_problem(example: pd.DataFrame) -> None:
    with pytest.raises(ColumnNotFoundError, match="'xx'"):
        balance(example, ["xx"], example.w, treatment="t")
    with pytest.raises(MissingValuesError, match="'b'"):
        balance(example.assign(x=example.x.where(example.index != "b")), ["x"], example.w, treatment="t")
    with pytest.raises(InvalidTreatmentError, match="2"):
        balance(example.assign(t=example.t.replace({0: 2})), ["x"], example.w, treatment="t")
    with pytest.raises(InvalidWeightsError, match="'e'"):
        balance(example, ["x"], example.w.replace({1.5: -1.0}), treatment="t")
    with pytest.raises(ConstantCovariateError, match="k"):
        balance(example.assign(k=1.0), ["x", "k"], example.w, treatment="t")
    with pytest.raises(EmptyGroupError, match="control"):
        balance(example, ["x"], example.w.where(example.t == 1, 0.0), treatment="t")
    with pytest.raises(TypeError, match="treatment="):
        balance(example, ["x"], example.w)
    with pytest.raises(ValueError, match="estimand"):
        balance(example, ["x"], example.w, treatment="t", estimand="ATE")


def test_missing_weight_means_unmatched(example: pd.DataFrame, bt: BalanceTable) -> None:
    # psmatch2's _weight is missing for unmatched units; pstest drops them
    w = example.w.replace({0.0: np.nan})
    pd.testing.assert_frame_equal(balance(example, ["x", "z"], w, treatment="t").table, bt.table)


# --------------------------------------------------------------------------------------------------
# renderers


def test_pstest_layout_and_rounding(bt: BalanceTable) -> None:
    text = bt.formatted()
    assert list(text.index.names) == ["Variable", "Sample"]
    assert text.loc[("x", "U"), ("Mean", "Treated")] == "4.25"
    assert text.loc[("x", "M"), ("Mean", "Treated")] == "2.33"
    assert text.loc[("x", "M"), ("", "%bias")] == f"{100 * (7 / 3 - 2.5) / SD_U:.1f}" == "-4.9"
    assert text.loc[("x", "M"), ("t-test", "t")] == "-0.11"
    assert text.loc[("x", "M"), ("t-test", "p>|t|")] == f"{bt.table.loc['x', 'p_matched']:.2f}"
    assert text.loc[("x", "U"), ("%reduct", "|bias|")] == ""  # %reduct only on the matched row
    with pytest.raises(ValueError, match="'pstest' or 'cobalt'"):
        bt.formatted("published")


def test_markdown_latex_html(bt: BalanceTable) -> None:
    md = bt.to_markdown()
    header = md.splitlines()[0]
    assert header.count("|") - header.count("\\|") == 10  # Variable, Sample and 7 statistics: 9 columns, 10 bars
    assert "| x " in md and "-4.9" in md
    latex = bt.to_latex()
    assert "\\%bias" in latex and "\\begin{tabular}" in latex
    html = bt.to_html(layout="pstest")
    assert "<table" in html and "33.3" in html  # %reduct
    assert "0.062" in bt.to_markdown("cobalt")  # smd_unmatched = .25/sqrt(16.25)


def test_summary_prints_like_pstest(bt: BalanceTable) -> None:
    text = bt.summary()
    assert "Unmatched |       Mean               %reduct |     t-test    |  V(T)/" in text
    assert "* if B>25%, R outside [0.5; 2]" in text
    u_row = next(line for line in text.splitlines() if line.startswith("x "))
    assert "4.25" in u_row and "7.3" in u_row  # means and %bias U
    assert " Matched   |" in text
    assert "for U and [0.03; 39.00] for M" in text


def test_to_frame_columns(bt: BalanceTable) -> None:
    base = bt.to_frame()
    for col in ("mean_treated_unmatched", "pct_bias_matched", "pct_reduction", "t_matched", "p_matched",
                "var_ratio_unmatched", "var_ratio_matched"):
        assert col in base.columns
    assert "smd_matched" not in base.columns
    assert "ecdf_max_matched" in bt.to_frame(cobalt=True).columns


# --------------------------------------------------------------------------------------------------
# integration with psm.match


@pytest.mark.parametrize("estimand", ["ATT", "ATU"])
def test_balance_of_a_psm_matching(estimand: str) -> None:
    import psm

    rng = np.random.default_rng(3)
    n = 150
    df = pd.DataFrame({"t": rng.integers(0, 2, n), "age": rng.normal(30, 6, n), "emp": rng.integers(0, 2, n)})
    df["score"] = np.round(stats.norm.cdf(-0.3 + 0.04 * (df.age - 30) + 0.3 * df.emp + 0.2 * df.t), 2)  # ties
    m = psm.match(df, "t", "score", ties=True, common_support=True, estimand=estimand)
    bt = psm.balance(df, ["age", "emp"], m)
    assert bt.estimand == estimand
    via_series = balance(df, ["age", "emp"], m.weights, treatment="t", on_support=m.on_support, estimand=estimand)
    pd.testing.assert_frame_equal(bt.table, via_series.table)
    focal = (df.t == 1) if estimand == "ATT" else (df.t == 0)
    n_focal = int((focal & m.on_support).sum())
    # every focal unit on support hands out total weight 1, so the other group's weights sum to N_focal
    other = "sum_w_control" if estimand == "ATT" else "sum_w_treated"
    assert bt.sample_sizes.loc["matched", other] == pytest.approx(n_focal)
    focal_mean = df.age[focal & m.on_support].mean()
    col = "mean_treated_matched" if estimand == "ATT" else "mean_control_matched"
    assert bt.table.loc["age", col] == pytest.approx(focal_mean)


# --------------------------------------------------------------------------------------------------
# every level of a factor (cobalt / MatchIt), pstest's probit without the base level


@pytest.fixture(scope="module")
def lalonde_race() -> tuple[pd.DataFrame, pd.Series]:
    df = psm.datasets.lalonde()
    score = psm.fit_propensity(df, "treat", ["age", "educ", "race", "married", "nodegree", "re74", "re75"]).score
    m = psm.match(df, "treat", score)
    return df, m


def test_every_level_of_a_text_covariate_is_shown(lalonde_race) -> None:
    df, m = lalonde_race
    covs = ["age", "race", "re74"]
    bt = balance(df, covs, m)
    levels = ["race=black", "race=hispan", "race=white"]
    assert [c for c in bt.table.index if c.startswith("race")] == levels
    assert bt.base_levels == ("race=black",)
    cobalt = bt.to_frame(cobalt=True)
    assert set(levels) <= set(cobalt.index)
    # the hidden level is the worst balanced: %bias of black as its own 0/1 column (MatchIt data: 166.8)
    assert bt.table.loc["race=black", "pct_bias_unmatched"] == pytest.approx(166.77, abs=0.01)
    own = balance(df.assign(black=(df.race == "black") * 1), ["black"], m)
    pd.testing.assert_series_equal(
        bt.table.loc["race=black"], own.table.loc["black"], check_names=False
    )
    text = bt.summary()
    assert all(level in text for level in levels)
    assert "Base levels (race=black)" in text
    for rendering in (bt.to_markdown(), bt.to_markdown("cobalt"), bt.to_html(), bt.to_latex()):
        assert "race=black" in rendering


def test_probit_and_summary_block_leave_the_base_level_out(lalonde_race) -> None:
    df, m = lalonde_race
    covs = ["age", "race", "re74"]
    every = balance(df, covs, m)
    pstest = balance(df, covs, m, levels="omit_base")
    assert "race=black" not in pstest.table.index and pstest.base_levels == ()
    pd.testing.assert_frame_equal(every.table.drop(index="race=black"), pstest.table)
    pd.testing.assert_frame_equal(every.summary_stats, pstest.summary_stats)
    for sample in ("unmatched", "matched"):
        assert every.probit[sample].omitted == ()  # black is not fitted, so nothing is collinear
        assert list(every.probit[sample].params.index) == ["_cons", "age", "race=hispan", "race=white", "re74"]
        assert every.summary_stats.loc[sample, "lr_df"] == 4
    # mean |bias| over the pstest rows (age, hispan, white, re74), not over the displayed rows
    rows = every.table.drop(index="race=black")["pct_bias_unmatched"].abs()
    assert every.summary_stats.loc["unmatched", "mean_abs_bias"] == pytest.approx(rows.mean())
    with pytest.raises(ValueError, match="levels"):
        balance(df, covs, m, levels="first")
