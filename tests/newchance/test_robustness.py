"""psm.newchance.analysis.robustness: hidden bias and fuller outcomes of one analysis."""

from __future__ import annotations

import numpy as np
import pytest
from analysis_builders import make_file
from scipy import stats

from psm.newchance.analysis import specification as analysis
from psm.newchance.analysis import robustness


@pytest.fixture(scope="module")
def run():
    return analysis.run_analysis(make_file(n=300, seed=5), "total")


def test_matched_sample_is_treated_on_support_and_used_controls(run):
    m = robustness.matched_sample(run)
    treated = m[m["treated"] == 1]
    assert (treated["weight"] == 1).all()
    assert len(treated) == int(run.effect.matched.n_treated)
    # 1:1 with replacement: control weights count how often each control was used
    assert m.loc[m["treated"] == 0, "weight"].sum() == len(treated)


def test_bounds_use_component_strata_and_label_the_stata_reproduction(run):
    from psm.matched_sets import component_counts
    from psm.sensitivity import mh_bounds

    y = run.sample[run.outcome]
    assert run.matching.pairs["control"].duplicated().any()  # controls are reused here
    bias = robustness.hidden_bias(run, gamma=[1.0, 2.0])
    expected = mh_bounds(component_counts(run.matching, y), [1.0, 2.0], moments="exact")
    np.testing.assert_allclose(bias.table["mh_components"], expected.p_worst)
    # no sign test: the pairs share controls, so they are not independent pairs
    assert set(bias.critical.index) == {"mh_components", "mh_mhbounds_stata"}
    assert (bias.table.loc[2.0] >= bias.table.loc[1.0]).all()


def test_sign_test_bound_at_gamma_one_is_the_binomial_test_of_disjoint_pairs():
    run = analysis.run_analysis(make_file(n=300, seed=5), "total", spec=analysis.Specification(replace=False))
    m = run.matching.pairs
    y = run.sample[run.outcome]
    yt, yc = y.loc[m["treated"]].to_numpy(), y.loc[m["control"]].to_numpy()
    b, c = int(((yt == 1) & (yc == 0)).sum()), int(((yt == 0) & (yc == 1)).sum())
    # P(X >= max(b, c)) for X ~ Bin(b + c, 1/2): Rosenbaum (2002) §4.3.2 at Gamma = 1
    expected = stats.binom.sf(max(b, c) - 1, b + c, 0.5)
    bias = robustness.hidden_bias(run, gamma=[1.0, 2.0])
    assert bias.table.loc[1.0, "mcnemar"] == pytest.approx(expected)
    # disjoint pairs are their own components: the component bounds are the per-pair ones
    from psm.matched_sets import matched_set_counts
    from psm.sensitivity import mh_bounds

    per_pair = mh_bounds(matched_set_counts(run.matching, y), [1.0, 2.0], moments="exact")
    np.testing.assert_allclose(bias.table["mh_components"], per_pair.p_worst)


def test_no_sign_test_for_matched_sets_larger_than_pairs():
    run = analysis.run_analysis(make_file(n=300, seed=5), "total", spec=analysis.Specification(k=2))
    bias = robustness.hidden_bias(run, gamma=[1.0])
    assert "mcnemar" not in bias.table


def test_frequency_is_a_rate_ratio_clustered_on_the_person(run):
    m = robustness.matched_sample(run)
    table = robustness.reoffence_frequency(run)
    treated, control = m[m["treated"] == 1], m[m["treated"] == 0]
    years = m["follow_up_days"] / robustness.DAYS_PER_YEAR
    row = table.loc["reoffences per person-year"]
    # rates are weighted counts over weighted person-years, not means of individual ratios
    rate_c = (control["weight"] * control["reoffence_count"]).sum() / (control["weight"] * years[control.index]).sum()
    rate_t = treated["reoffence_count"].sum() / years[treated.index].sum()
    assert row["rate_control"] == pytest.approx(rate_c)
    assert row["rate_ratio"] == pytest.approx(rate_t / rate_c)
    per_person = table.loc["reoffences per person"]
    assert per_person["rate_control"] == pytest.approx(np.average(control["reoffence_count"], weights=control["weight"]))
    # one cluster per person: reused controls are counted once
    assert row["people"] == len(m)
    assert row["effective_controls"] < len(control) < control["weight"].sum()


def test_time_to_reoffence_counts_weighted_first_reoffences_and_clusters_the_cox_model(run):
    from statsmodels.duration.hazard_regression import PHReg

    m = robustness.matched_sample(run)
    result = robustness.time_to_first_reoffence(run)
    frame = result.to_frame()
    events = m["days_to_reoffence"].notna()
    assert frame.loc["treated (matched)", "events"] == pytest.approx(m.loc[events & (m["treated"] == 1), "weight"].sum())
    assert frame.loc["matched controls", "events"] == pytest.approx(m.loc[events & (m["treated"] == 0), "weight"].sum())
    tests = robustness.logrank_frame(result)
    lr = tests.loc["log-rank (weights as people)"]
    assert lr["p"] == pytest.approx(stats.chi2.sf(lr["chi2"], 1))
    # 1:1 with replacement: whole-number weights, so the Cox fit is PHReg on repeated rows, one
    # cluster per person
    rows = np.repeat(np.arange(len(m)), m["weight"].astype(int))
    duration = np.fmin(m["days_to_reoffence"].fillna(np.inf), m["follow_up_days"]).to_numpy()[rows]
    fit = PHReg(duration, m["treated"].to_numpy(dtype=float)[rows][:, None],
                status=events.to_numpy(dtype=float)[rows], ties="breslow").fit(groups=rows)
    assert tests.loc["Cox, SE clustered on the person", "hazard_ratio"] == pytest.approx(np.exp(fit.params[0]))
    assert tests.loc["Cox, SE clustered on the person", "se_log"] == pytest.approx(fit.bse[0])


def test_tie_orders_vary_only_the_tie_breaking(run):
    import psm

    table = robustness.tie_orders(run, n_orders=5, seed=3)
    assert list(table["order"]) == ["data order", *["random order"] * 5, "ties=True"]
    assert table.loc[0, "att"] == run.effect.matched.difference
    again = psm.match(run.sample, "treated", run.matching.score, order="random", seed=4, common_support=True)
    assert table.loc[2, "att"] == pytest.approx(psm.effect(run.sample, run.outcome, again).matched.difference)
    tied = psm.match(run.sample, "treated", run.matching.score, ties=True, common_support=True)
    assert table.iloc[-1]["att"] == pytest.approx(psm.effect(run.sample, run.outcome, tied).matched.difference)


def test_critical_gamma_sentence_covers_every_case(run):
    bias = robustness.hidden_bias(run, gamma=[1.0])
    for value, words in ((1.0, "not significant"), (np.inf, "every"), (1.8, "1.80")):
        changed = robustness.HiddenBias(bias.table, bias.critical.copy(), 0.05)
        changed.critical["mh_components"] = value
        assert words in robustness.critical_gamma_text(changed)


def test_simulated_truth_sits_beside_the_estimates_of_the_structural_synthetic_data(tmp_path):
    """The structural simulation carries its seed (and so its truth); the committed reconstruction does not."""
    from psm.newchance import synthetic
    from psm.newchance.inputs.dataset import load_dataset

    folder = tmp_path / "structural"
    synthetic.write_synthetic(folder)
    files = analysis.load_files(folder)
    seed = load_dataset(folder).synthetic_seed
    assert seed == synthetic.DEFAULT_SEED
    runs = analysis.main_analyses(files)
    equal = analysis.run_analysis(files, "total", spec=analysis.Specification(follow_up="pair"))
    table = robustness.simulated_truth(runs, seed, equal_total=equal)
    truth = synthetic.true_effects(synthetic.synthesize(seed))
    assert list(table.index) == [*runs, "total (equal follow-up)"]
    assert table.loc["6m", "true_att"] == pytest.approx(truth.loc["6m", "att"])
    assert table.loc["total", "estimate"] == pytest.approx(runs["total"].effect.matched.difference)
    row = table.loc["total (equal follow-up)"]
    assert row["covers_true_att"] == (row["ci_low_ai"] <= row["true_att"] <= row["ci_high_ai"])
