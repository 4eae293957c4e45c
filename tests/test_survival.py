"""Kaplan–Meier, log-rank and event frequency against hand computations."""

from math import sqrt

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from scipy import stats
from statsmodels.duration.survfunc import survdiff

from psm.errors import EmptyGroupError, InvalidValuesError, MissingValuesError
from psm.survival import event_frequency, kaplan_meier, log_rank_test, plot_kaplan_meier, time_to_event

matplotlib.use("Agg")

T = np.array([1, 2, 2, 3, 4, 5.0])
E = np.array([1, 1, 0, 1, 0, 1])


def test_kaplan_meier_by_hand():
    km = kaplan_meier(T, E)
    tab = km.to_frame()
    # n at risk 6, 5, 3, 1; events 1, 1, 1, 1
    assert tab["time"].tolist() == [1, 2, 3, 5]
    assert tab["n_risk"].tolist() == [6, 5, 3, 1]
    np.testing.assert_allclose(tab["survival"], [5 / 6, 2 / 3, 4 / 9, 0.0])
    # Greenwood: S(t) sqrt(Σ d / (n (n - d)))
    np.testing.assert_allclose(tab["se"].iloc[:3], [
        5 / 6 * sqrt(1 / 30), 2 / 3 * sqrt(1 / 30 + 1 / 20), 4 / 9 * sqrt(1 / 30 + 1 / 20 + 1 / 6)])
    assert np.isnan(tab["se"].iloc[3])
    assert km.median["all"] == 3.0  # first time with S(t) < 0.5
    assert km.censored["time"].tolist() == [2.0, 4.0]
    np.testing.assert_allclose(km.censored["survival"], [2 / 3, 4 / 9])


def test_kaplan_meier_with_fractional_weights_by_hand():
    w = np.array([1, 2, 1, 0.5, 1, 1])
    tab = kaplan_meier(T, E, weights=w).to_frame()
    # n at risk 6.5, 5.5, 2.5, 1; weighted events 1, 2, 0.5, 1
    np.testing.assert_allclose(tab["n_risk"], [6.5, 5.5, 2.5, 1])
    np.testing.assert_allclose(tab["survival"], [11 / 13, 7 / 13, 5.6 / 13, 0.0])
    np.testing.assert_allclose(tab["se"].iloc[0], 11 / 13 * sqrt(1 / (6.5 * 5.5)))


def test_whole_number_weights_equal_repeated_rows():
    w = np.array([1, 2, 1, 3, 1, 2])
    weighted = kaplan_meier(T, E, weights=w).to_frame()
    repeated = kaplan_meier(np.repeat(T, w), np.repeat(E, w)).to_frame()
    pd.testing.assert_frame_equal(weighted, repeated)


def test_zero_weight_units_do_not_count():
    w = pd.Series([1, 1, 0, 1, 1, 1])
    km = kaplan_meier(pd.Series(T), pd.Series(E), weights=w)
    ref = kaplan_meier(np.delete(T, 2), np.delete(E, 2))
    pd.testing.assert_frame_equal(km.to_frame(), ref.to_frame())
    assert km.counts.loc["all", "units"] == 5


def test_groups_medians_and_survival_at():
    group = ["a", "a", "a", "b", "b", "b"]
    km = kaplan_meier(T, E, group=group)
    assert km.median.to_dict() == {"a": 2.0, "b": 5.0}
    at = km.survival_at([0.5, 2, 4.5])
    # a: event at 1 (n 3) -> 2/3, event at 2 (n 2) -> 1/3; b: event at 3 (n 3) -> 2/3, at 5 (n 1) -> 0
    np.testing.assert_allclose(at["a"], [1.0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(at["b"], [1.0, 1.0, 2 / 3])


def test_log_rank_by_hand():
    # A: events at 1 and 3; B: event at 2, censored at 4
    # E_A = 1/2 + 1/3 + 1/2 = 4/3, V = 1/4 + 2/9 + 1/4 = 13/18, O_A = 2
    res = log_rank_test([1, 3, 2, 4], [1, 1, 1, 0], ["A", "A", "B", "B"])
    assert res.expected["A"] == pytest.approx(4 / 3)
    assert res.variance == pytest.approx(13 / 18)
    assert res.chisq == pytest.approx(8 / 13)
    assert res.pvalue == pytest.approx(stats.chi2.sf(8 / 13, 1))
    assert res.observed.to_dict() == {"A": 2.0, "B": 1.0}


@settings(max_examples=100, deadline=None)
@given(data=st.lists(st.tuples(st.integers(1, 12), st.booleans(), st.booleans(), st.integers(1, 3)),
                     min_size=4, max_size=40))
def test_log_rank_equals_statsmodels_survdiff_on_repeated_rows(data):
    t, e, g, w = (np.array(x) for x in zip(*data))
    if len(set(g)) < 2 or not e.any():
        return
    t_rep, e_rep, g_rep = np.repeat(t, w), np.repeat(e, w).astype(int), np.repeat(g, w).astype(int)
    try:
        ours = log_rank_test(t, e.astype(int), g.astype(int), weights=w)
    except EmptyGroupError:
        return
    chisq, p = survdiff(t_rep, e_rep, g_rep)
    assert ours.chisq == pytest.approx(chisq, rel=1e-9, abs=1e-12)
    assert ours.pvalue == pytest.approx(p, rel=1e-9, abs=1e-12)


def test_time_to_event_censors_at_follow_up_and_horizon():
    days = pd.Series([10.0, np.nan, 400.0, 50.0], index=list("abcd"))
    follow = pd.Series([100.0, 200.0, 500.0, 30.0], index=list("abcd"))
    out = time_to_event(days, follow)
    assert out["event"].tolist() == [1, 0, 1, 0]  # d: the event after the follow-up is not seen
    assert out["duration"].tolist() == [10, 200, 400, 30]
    out = time_to_event(days, follow, horizon=365)
    assert out["event"].tolist() == [1, 0, 0, 0]
    assert out["duration"].tolist() == [10, 200, 365, 30]


def test_event_frequency_by_hand():
    counts = pd.Series([0, 2, 1, 1, 3])
    treated = pd.Series([1, 1, 1, 0, 0])
    w = pd.Series([1, 1, 1, 2, 1])
    res = event_frequency(counts, treated, weights=w)
    assert res.mean_treated == pytest.approx(1.0)
    assert res.mean_control == pytest.approx(5 / 3)
    assert res.difference == pytest.approx(-2 / 3)
    # SSR = 2 + 8/3, df = Σw - 2 = 4, s² = 7/6, Var(b) = s² (1/3 + 1/3)
    assert res.df == pytest.approx(4)
    assert res.se == pytest.approx(sqrt(7) / 3)
    assert res.p == pytest.approx(2 * stats.t.sf(abs(-2 / 3) / (sqrt(7) / 3), 4))


def test_plot_returns_figure_with_censor_ticks():
    km = kaplan_meier(T, E, group=[0, 0, 0, 1, 1, 1])
    fig = plot_kaplan_meier(km, labels={0: "control", 1: "treated"})
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["control", "treated"]
    ticks = [ln for ln in ax.lines if ln.get_marker() == "|"]
    assert sum(len(ln.get_xdata()) for ln in ticks) == 2


def test_bad_inputs_raise_typed_errors_listing_everything():
    with pytest.raises(InvalidValuesError) as info:
        kaplan_meier([1, -2, 3], [1, 2, 0], weights=[1, 1, -1])
    assert info.value.rows == {"duration": [1], "event": [1], "weight": [2]}
    with pytest.raises(MissingValuesError) as info:
        kaplan_meier([1, np.nan, 3], [1, 0, np.nan])
    assert info.value.rows == {"duration": [1], "event": [2]}
    with pytest.raises(InvalidValuesError, match="exactly two groups"):
        log_rank_test([1, 2, 3], [1, 1, 1], ["a", "b", "c"])
    with pytest.raises(MissingValuesError, match="follow_up"):
        time_to_event([1.0, 2.0], [np.nan, 3.0])
    with pytest.raises(EmptyGroupError):
        event_frequency([1, 2], [1, 1])


def test_series_with_other_labels_are_refused_not_realigned():
    d = pd.Series([1.0, 2.0, 3.0], index=["a", "b", "c"])
    with pytest.raises(InvalidValuesError, match="'c'.*'z'"):
        kaplan_meier(d, pd.Series([1, 1, 0], index=["a", "b", "z"]))


def test_kaplan_meier_figure_draws_treated_and_controls_in_psm_colours():
    from psm.plots import style

    km = kaplan_meier([5, 8, 12, 3, 9, 20], [1, 0, 1, 1, 1, 0], [1, 1, 1, 0, 0, 0])
    fig = plot_kaplan_meier(km, labels={0: "controls", 1: "treated"})
    ax = fig.axes[0]
    curves = {line.get_label(): line for line in ax.lines if line.get_label() in {"controls", "treated"}}
    assert curves["treated"].get_color() == style.TREATED and curves["treated"].get_linestyle() == "-"
    assert curves["controls"].get_color() == style.CONTROL and curves["controls"].get_linestyle() == "--"
    ticks = [line for line in ax.lines if line.get_marker() == "|"]
    assert all(t.get_markersize() <= 4 and t.get_alpha() < 1 for t in ticks)  # light: the curve stays visible
