"""Rosenbaum bounds against literature examples and hand computations."""

from fractions import Fraction
from math import comb, sqrt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import psm
from psm.errors import ColumnNotFoundError, EmptyGroupError, InvalidValuesError, MissingValuesError
from psm.matched_sets import COUNT_COLUMNS, component_counts, matched_set_counts, pair_outcomes, weighted_counts
from psm.sensitivity import mcnemar_bounds, mh_bounds

# Rosenbaum (2002), Observational Studies, 2nd ed., Table 4.11 (Boston Collaborative Drug
# Surveillance Program 1972): allopurinol and rash, stratified by sex. Becker & Caliendo
# (2007), Stata Journal 7(1), section 5.1, print the female table (treated 29 with 10 rash,
# control 576 with 58 rash) and the mhbounds output below. The male table (treated 38 with
# 5 rash, control 681 with 36 rash) is the one whose counts give their printed Gamma = 1 and
# Gamma = 2 statistics (a search over all 2x2 tables with the stated rates found it, unique up
# to swapping the roles of drug and rash); it then reproduces every other printed row.
ALLOPURINOL = pd.DataFrame(
    {"n_treated": [38, 29], "n_control": [681, 576], "events_treated": [5, 10], "events_control": [36, 58]},
    index=pd.Index(["male", "female"], name="sex"),
)
# mhbounds out, gamma(1 (1) 8) ... stratum(s): Gamma, Q_mh+, Q_mh-, p_mh+, p_mh-
MHBOUNDS_PRINTED = [
    (1, 4.18665, 4.18665, 0.000014, 0.000014),
    (2, 1.80445, 7.05822, 0.035581, 8.4e-13),
    (3, 0.515322, 9.09935, 0.303164, 0.0),
    (4, 0.074087, 10.7675, 0.470471, 0.0),
    (5, 0.787917, 12.2124, 0.215372, 0.0),
    (6, 1.37611, 13.5046, 0.084394, 0.0),
    (7, 1.87943, 14.6841, 0.030093, 0.0),
    (8, 2.32133, 15.7759, 0.010134, 0.0),
]


def test_mhbounds_reproduces_becker_caliendo_allopurinol_example():
    res = mh_bounds(ALLOPURINOL, gamma=range(1, 9))
    frame = res.to_frame()
    for gamma, q_plus, q_minus, p_plus, p_minus in MHBOUNDS_PRINTED:
        row = frame.loc[float(gamma)]
        assert row["q_mh_plus"] == pytest.approx(q_plus, rel=5e-6)
        assert row["q_mh_minus"] == pytest.approx(q_minus, rel=5e-6)
        assert row["p_mh_plus"] == pytest.approx(p_plus, abs=5e-7)
        # printed with 6 decimals, or 2 significant digits (8.4e-13), or as 0
        tol = {"abs": 5e-7} if p_minus >= 1e-6 else ({"rel": 6e-3} if p_minus else {"abs": 1e-15})
        assert row["p_mh_minus"] == pytest.approx(p_minus, **tol)
    assert res.observed == 15
    assert res.effect_sign == 1


def test_gamma_one_is_the_mantel_haenszel_test_by_hand():
    # Q = (|Y1 - Σ N1 Y / N| - 0.5) / sqrt(Σ N1 N0 Y (N - Y) / (N² (N - 1)))
    e = 38 * 41 / 719 + 29 * 68 / 605
    v = 38 * 681 * 41 * 678 / (719**2 * 718) + 29 * 576 * 68 * 537 / (605**2 * 604)
    q = (15 - e - 0.5) / sqrt(v)
    res = mh_bounds(ALLOPURINOL, gamma=[1.0])
    assert res.q_plus[0] == pytest.approx(q, rel=1e-12)
    assert res.expected == pytest.approx(e, rel=1e-12)


def test_p_worst_is_signed_and_keeps_rising_where_mhbounds_p_turns_back():
    frame = mh_bounds(ALLOPURINOL, gamma=range(1, 9)).to_frame()
    assert frame["p_worst"].is_monotonic_increasing
    # past Gamma = 4 the expected count exceeds 15, so mhbounds' |.| makes p+ fall again
    assert frame.loc[8.0, "p_mh_plus"] < frame.loc[4.0, "p_mh_plus"]
    assert frame.loc[8.0, "p_worst"] > 0.99


def test_critical_gamma_is_where_worst_case_p_reaches_alpha():
    res = mh_bounds(ALLOPURINOL, gamma=[1, 2, 3])
    # printed: p+ = .035581 at Gamma 2 and .303164 at 3, so the crossing is just above 2
    assert 2.0 < res.critical_gamma < 3.0
    at = mh_bounds(ALLOPURINOL, gamma=[res.critical_gamma])
    assert at.p_worst[-1] == pytest.approx(0.05, abs=1e-9)


def test_negative_effect_uses_the_minus_bound():
    # swap the outcome labels: the treated now have fewer events than expected
    flipped = ALLOPURINOL.assign(
        events_treated=ALLOPURINOL["n_treated"] - ALLOPURINOL["events_treated"],
        events_control=ALLOPURINOL["n_control"] - ALLOPURINOL["events_control"],
    )
    pos = mh_bounds(ALLOPURINOL, gamma=[1, 2, 3])
    neg = mh_bounds(flipped, gamma=[1, 2, 3])
    assert neg.effect_sign == -1
    # the event/non-event swap maps odds ratio Γ onto 1/Γ: same statistics, + and - exchanged
    np.testing.assert_allclose(neg.q_minus, pos.q_plus, rtol=1e-10)
    np.testing.assert_allclose(neg.p_worst, pos.p_worst, rtol=1e-10)
    assert neg.critical_gamma == pytest.approx(pos.critical_gamma, rel=1e-8)


def test_approximate_moments_of_a_single_pair_differ_from_exact_ones():
    # one pair, one event: the odds-ratio root is E/(1-E) = sqrt(Γ); the exact
    # (noncentral hypergeometric) mean is Γ/(1+Γ), variance Γ/(1+Γ)²
    pair = pd.DataFrame([[1, 1, 1, 0]] * 2 + [[1, 1, 0, 1]], columns=COUNT_COLUMNS)
    g = 4.0
    approx = mh_bounds(pair, gamma=[g])
    exact = mh_bounds(pair, gamma=[g], moments="exact")
    # Y1 = 2 of 3 discordant pairs
    e_apx, v_apx = 3 * 2 / 3, 3 * (2 / 3) * (1 / 3) / 2  # sqrt(4)/(1+sqrt(4)) = 2/3; Var = E(1-E)/2
    e_ex, v_ex = 3 * 0.8, 3 * 0.8 * 0.2
    assert approx.q_plus[-1] == pytest.approx((abs(2 - e_apx) - 0.5) / sqrt(v_apx))
    assert exact.q_plus[-1] == pytest.approx((abs(2 - e_ex) - 0.5) / sqrt(v_ex))


def test_exact_moments_on_pairs_are_the_normal_approximation_of_the_sign_test():
    # 30 pairs: 14 treated-only events, 4 control-only, 12 concordant
    yt = np.r_[np.ones(14), np.zeros(4), np.ones(5), np.zeros(7)]
    yc = np.r_[np.zeros(14), np.ones(4), np.ones(5), np.zeros(7)]
    counts = pd.DataFrame({"n_treated": 1, "n_control": 1, "events_treated": yt, "events_control": yc})
    res = mh_bounds(counts, gamma=[1, 1.5, 2, 3], moments="exact")
    for g, p in zip(res.gamma, res.p_worst):
        q = g / (1 + g)
        assert p == pytest.approx(norm.sf((14 - 18 * q - 0.5) / sqrt(18 * q * (1 - q))), rel=1e-9)


# --- McNemar / sign test --------------------------------------------------------------
def _exact_tail(d: int, m: int, p: Fraction) -> float:
    return float(sum(comb(m, x) * p**x * (1 - p) ** (m - x) for x in range(d, m + 1)))


def test_mcnemar_bounds_by_hand_five_discordant_pairs():
    # all 5 discordant pairs favour the treated: P(X >= 5) = p^5
    res = mcnemar_bounds([1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0], gamma=[1, 2])
    assert res.p_upper[0] == pytest.approx(1 / 32)
    assert res.p_upper[1] == pytest.approx(32 / 243)  # (2/3)^5
    assert res.p_lower[1] == pytest.approx(1 / 243)  # (1/3)^5
    # critical Γ: (Γ/(1+Γ))^5 = 0.05
    q = 0.05 ** (1 / 5)
    assert res.critical_gamma == pytest.approx(q / (1 - q), rel=1e-8)


def test_mcnemar_bounds_rosenbaum_smoking_example():
    # Rosenbaum (2002) §4.3.2, Hammond's smoking and lung-cancer pairs, as in the
    # rbounds::binarysens example binarysens(12, 110): 122 discordant pairs, 110 in which
    # only the smoker died of lung cancer. p = P(X >= 110), X ~ Bin(122, Γ/(1+Γ)).
    yt = np.r_[np.ones(110), np.zeros(12)]
    res = mcnemar_bounds(yt, 1 - yt, gamma=[1, 2, 3, 4, 5, 6])
    for g, up, lo in zip(res.gamma, res.p_upper, res.p_lower):
        gf = Fraction(int(g))
        assert up == pytest.approx(_exact_tail(110, 122, gf / (1 + gf)), rel=1e-9)
        assert lo == pytest.approx(_exact_tail(110, 122, 1 / (1 + gf)), rel=1e-9)
    # significant at 5% up to Γ = 5, not at Γ = 6 (Rosenbaum's conclusion for this study)
    assert res.p_upper[4] < 0.05 < res.p_upper[5]
    assert 5 < res.critical_gamma < 6
    assert res.discordant == 122 and res.effect_sign == 1


def test_mcnemar_uses_p_x_at_least_d_not_strictly_greater():
    res = mcnemar_bounds([1, 0], [0, 1], gamma=[1.0])  # one discordant pair each way
    # D = 1, m = 2: P(X >= 1) = 3/4; P(X > 1) would be 1/4
    assert res.p_upper[0] == pytest.approx(0.75)


def test_mcnemar_negative_effect_counts_control_only_pairs():
    res = mcnemar_bounds([0, 0, 0, 1], [1, 1, 1, 1], gamma=[1.0])
    assert (res.treated_only, res.control_only, res.effect_sign) == (0, 3, -1)
    assert res.p_upper[0] == pytest.approx(1 / 8)


@settings(max_examples=100, deadline=None)
@given(a=st.integers(0, 40), b=st.integers(0, 40), c=st.integers(0, 20),
       gammas=st.lists(st.floats(1, 10), min_size=1, max_size=5))
def test_mcnemar_invariants(a, b, c, gammas):
    yt = np.r_[np.ones(a), np.zeros(b), np.ones(c), [0.0]]
    yc = np.r_[np.zeros(a), np.ones(b), np.ones(c), [0.0]]
    res = mcnemar_bounds(yt, yc, gamma=gammas)
    assert np.all(res.p_lower <= res.p_upper + 1e-12)
    assert np.all(np.diff(res.p_upper) >= -1e-12)  # more hidden bias, weaker evidence
    swapped = mcnemar_bounds(yc, yt, gamma=gammas)  # same pairs with labels swapped
    np.testing.assert_allclose(swapped.p_upper, res.p_upper)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(st.integers(1, 6), st.integers(1, 12), st.integers(0, 6), st.integers(0, 12)),
                     min_size=2, max_size=8),
       seed=st.integers(0, 1000))
def test_mh_bounds_do_not_depend_on_stratum_order(rows, seed):
    counts = pd.DataFrame(
        [(n1, n0, min(e1, n1), min(e0, n0)) for n1, n0, e1, e0 in rows], columns=COUNT_COLUMNS
    )
    total = counts["events_treated"] + counts["events_control"]
    if not ((total > 0) & (total < counts["n_treated"] + counts["n_control"])).any():
        with pytest.raises(EmptyGroupError, match="concordant"):
            mh_bounds(counts)
        return
    a = mh_bounds(counts, gamma=[1, 1.5, 2.5])
    b = mh_bounds(counts.sample(frac=1, random_state=seed), gamma=[1, 1.5, 2.5])
    np.testing.assert_allclose(a.q_plus, b.q_plus, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.p_worst, b.p_worst, rtol=1e-10, atol=1e-12)
    # with exact moments the worst-case p rises with Γ (with mhbounds' moments it may dip
    # between Γ = 1, hypergeometric variance, and Γ > 1, the large-sample variance)
    exact = mh_bounds(counts, gamma=[1, 1.5, 2.5], moments="exact")
    assert np.all(np.diff(exact.p_worst) >= -1e-12)


# --- building strata from a matching ---------------------------------------------------
PAIRS = pd.DataFrame({
    # ATT with replacement, k = 2: t1 -> c1, c2; t2 -> c2, c3; ATU: c1 -> t1
    "treated": ["t1", "t1", "t2", "t2", "t1"],
    "control": ["c1", "c2", "c2", "c3", "c1"],
    "distance": [0.1, 0.2, 0.1, 0.3, 0.1],
    "weight": [0.5, 0.5, 0.5, 0.5, 1.0],
    "direction": ["ATT", "ATT", "ATT", "ATT", "ATU"],
})
Y = pd.Series({"t1": 1, "t2": 0, "c1": 0, "c2": 1, "c3": 1, "c4": 0}, name="reoffended")


def test_matched_set_counts_att_and_atu():
    att = matched_set_counts(PAIRS, Y)
    assert att.loc["t1"].tolist() == [1, 2, 1, 1]
    assert att.loc["t2"].tolist() == [1, 2, 0, 2]
    atu = matched_set_counts(PAIRS, Y, direction="ATU")
    assert atu.loc["c1"].tolist() == [1, 1, 1, 0]


def test_matched_set_counts_accepts_a_matching_like_object():
    class FakeMatching:
        pairs = PAIRS

    pd.testing.assert_frame_equal(matched_set_counts(FakeMatching(), Y), matched_set_counts(PAIRS, Y))


def test_weighted_counts_are_weighted_sums():
    treated = pd.Series({"t1": 1, "t2": 1, "t3": 1, "c1": 0, "c2": 0, "c3": 0})
    y = pd.Series({"t1": 1, "t2": 0, "t3": 1, "c1": 0, "c2": 1, "c3": 1})
    w = pd.Series({"t1": 1, "t2": 1, "t3": 0, "c1": 0.5, "c2": 1.5, "c3": 0})
    counts = weighted_counts(treated, y, w)
    assert counts.iloc[0].tolist() == [2.0, 2.0, 1.0, 1.5]
    with pytest.raises(InvalidValuesError, match="whole numbers"):
        mh_bounds(counts, moments="exact")
    assert np.isfinite(mh_bounds(counts).q_plus).all()


def test_pair_outcomes_refuses_matched_sets_naming_them():
    with pytest.raises(InvalidValuesError, match="'t1'.*'t2'"):
        pair_outcomes(PAIRS, Y)
    one_to_one = PAIRS.iloc[[0, 2]]
    out = pair_outcomes(one_to_one, Y)
    assert out.to_dict("list") == {"y_treated": [1.0, 0.0], "y_control": [0.0, 1.0]}


def test_bad_inputs_raise_typed_errors_listing_all_rows():
    with pytest.raises(InvalidValuesError, match="'c2'.*'c3'"):
        matched_set_counts(PAIRS, Y.replace({1: 2}))
    with pytest.raises(MissingValuesError, match="'t2'"):
        matched_set_counts(PAIRS, Y.astype(float).where(Y.index != "t2"))
    with pytest.raises(InvalidValuesError, match="'c3'"):
        matched_set_counts(PAIRS, Y.drop("c3"))
    with pytest.raises(ColumnNotFoundError, match="direction"):
        matched_set_counts(PAIRS.drop(columns="direction"), Y)
    with pytest.raises(ColumnNotFoundError, match="events_control"):
        mh_bounds(ALLOPURINOL.drop(columns="events_control"))
    bad = ALLOPURINOL.assign(events_treated=[50, -1])
    with pytest.raises(InvalidValuesError, match="events_treated") as info:
        mh_bounds(bad)
    assert set(info.value.rows) == {"events_treated", "events_treated > n_treated"}
    with pytest.raises(ValueError, match="gamma"):
        mh_bounds(ALLOPURINOL, gamma=[0.5])


def test_weighted_counts_report_missing_weights():
    treated = pd.Series({"t1": 1, "c1": 0})
    with pytest.raises(MissingValuesError, match="weight"):
        weighted_counts(treated, pd.Series({"t1": 1, "c1": 0}), pd.Series({"t1": 1.0, "c1": np.nan}))


def test_summaries_word_the_critical_gamma_for_each_case():
    # not significant even at Gamma = 1: no "Critical Gamma ...: 1", which would read as "breaks at 1"
    flat = mcnemar_bounds([1, 0, 1, 0], [0, 1, 0, 1])
    assert flat.critical_gamma == 1.0
    assert "no critical Gamma" in flat.summary() and "Critical Gamma" not in flat.summary()
    strong = mcnemar_bounds([1] * 12, [0] * 12)
    assert f"Critical Gamma (upper bound p reaches 0.05): {strong.critical_gamma:.4g}" in strong.summary()
    assert isinstance(strong.summary(), psm.Summary)
    assert strong.summary().tables[0].frame.loc["1", "p_upper"] == f"{strong.p_upper[0]:.6g}"


def test_mcnemar_bounds_misuse_says_what_to_pass():
    df = pd.DataFrame({"t": [1, 0, 1, 0], "p": [0.1, 0.12, 0.5, 0.52], "y": [1, 0, 1, 1]})
    m = psm.match(df, "t", "p")
    with pytest.raises(TypeError, match=r"y_treated must be a one-dimensional.*pair_outcomes"):
        mcnemar_bounds(m, df["y"])
    pairs = psm.pair_outcomes(m, df["y"])
    with pytest.raises(TypeError, match=r"y_treated is a DataFrame.*pairs\['y_treated'\]"):
        mcnemar_bounds(pairs, pairs["y_control"])
    assert mcnemar_bounds(pairs["y_treated"], pairs["y_control"]).n_pairs == 2


# treated A and B reuse control X; C -> Y; D -> Z (1:1 matching with replacement)
REUSED = pd.DataFrame({"treated": ["A", "B", "C", "D"], "control": ["X", "X", "Y", "Z"], "direction": "ATT"})
REUSED_Y = pd.Series({"A": 0, "B": 0, "C": 0, "D": 1, "X": 1, "Y": 1, "Z": 0}, name="reoffended")


def test_component_counts_count_a_reused_control_once():
    counts = component_counts(REUSED, REUSED_Y)
    assert sorted(map(tuple, counts[list(COUNT_COLUMNS)].to_numpy().tolist())) == [
        (1, 1, 0, 1), (1, 1, 1, 0), (2, 1, 0, 1)]
    # one stratum per treated would count X's event twice
    assert matched_set_counts(REUSED, REUSED_Y)["events_control"].sum() == 3
    assert counts["events_control"].sum() == 2


def test_component_bounds_by_hand():
    bounds = mh_bounds(component_counts(REUSED, REUSED_Y), [1.0, 2.0], moments="exact")
    # Γ = 1: star {A, B, X}: E = 2/3, Var = 2*1*1*2 / (9*2) = 2/9; pairs: E = 1/2, Var = 1/4.
    # observed 1 < ΣE = 5/3: a negative effect, sign -1
    assert bounds.p_worst[0] == pytest.approx(norm.sf((2 / 3 - 0.5) / sqrt(2 / 9 + 0.5)))
    # Γ = 2, worst case for a negative effect at odds 1/2: in the star the single event falls on a
    # treated with probability 2g/(2g+1) = 1/2; in a pair g/(1+g) = 1/3
    mean, var = 0.5 + 2 * (1 / 3), 0.25 + 2 * (2 / 9)
    assert bounds.p_worst[1] == pytest.approx(norm.sf((mean - 1 - 0.5) / sqrt(var)))  # sf(-0.4)


def test_component_counts_join_stars_linked_by_ties():
    ties = pd.DataFrame({"treated": ["A", "A", "B"], "control": ["X", "Y", "Y"], "direction": "ATT"})
    counts = component_counts(ties, pd.Series({"A": 1, "B": 0, "X": 0, "Y": 1}))
    assert counts[list(COUNT_COLUMNS)].to_numpy().tolist() == [[2, 2, 1, 1]]
