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


def test_sign_test_bound_at_gamma_one_is_the_binomial_test_of_the_discordant_pairs(run):
    m = run.matching.pairs
    y = run.sample[run.outcome]
    yt, yc = y.loc[m["treated"]].to_numpy(), y.loc[m["control"]].to_numpy()
    b, c = int(((yt == 1) & (yc == 0)).sum()), int(((yt == 0) & (yc == 1)).sum())
    # P(X >= max(b, c)) for X ~ Bin(b + c, 1/2): Rosenbaum (2002) §4.3.2 at Gamma = 1
    expected = stats.binom.sf(max(b, c) - 1, b + c, 0.5)
    bias = robustness.hidden_bias(run, gamma=[1.0, 2.0])
    assert bias.table.loc[1.0, "mcnemar"] == pytest.approx(expected)
    # hidden bias can only make the worst case worse
    assert (bias.table.loc[2.0] >= bias.table.loc[1.0]).all()
    assert set(bias.critical.index) == {"mh_exact", "mh_mhbounds", "mcnemar"}


def test_no_sign_test_for_matched_sets_larger_than_pairs():
    run = analysis.run_analysis(make_file(n=300, seed=5), "total", spec=analysis.Specification(k=2))
    bias = robustness.hidden_bias(run, gamma=[1.0])
    assert "mcnemar" not in bias.table


def test_frequency_is_the_weighted_mean_count_per_group(run):
    m = robustness.matched_sample(run)
    table = robustness.reoffence_frequency(run)
    treated, control = m[m["treated"] == 1], m[m["treated"] == 0]
    per_person = table.loc["reoffences per person"]
    assert per_person["mean_treated"] == pytest.approx(treated["reoffence_count"].mean())
    assert per_person["mean_control"] == pytest.approx(np.average(control["reoffence_count"], weights=control["weight"]))
    years = control["follow_up_days"] / robustness.DAYS_PER_YEAR
    assert table.loc["reoffences per person-year", "mean_control"] == pytest.approx(
        np.average(control["reoffence_count"] / years, weights=control["weight"]))
    assert per_person["df"] == pytest.approx(m["weight"].sum() - 2)


def test_time_to_reoffence_counts_weighted_first_reoffences(run):
    m = robustness.matched_sample(run)
    result = robustness.time_to_first_reoffence(run)
    frame = result.to_frame()
    events = m["days_to_reoffence"].notna()
    assert frame.loc["treated (matched)", "events"] == pytest.approx(m.loc[events & (m["treated"] == 1), "weight"].sum())
    assert frame.loc["matched controls", "events"] == pytest.approx(m.loc[events & (m["treated"] == 0), "weight"].sum())
    lr = robustness.logrank_frame(result)
    assert lr.loc["log-rank", "p"] == pytest.approx(stats.chi2.sf(lr.loc["log-rank", "chi2"], 1))


def test_critical_gamma_sentence_covers_every_case(run):
    bias = robustness.hidden_bias(run, gamma=[1.0])
    for value, words in ((1.0, "not significant"), (np.inf, "every"), (1.8, "1.80")):
        changed = robustness.HiddenBias(bias.table, bias.critical.copy(), 0.05)
        changed.critical["mh_exact"] = value
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
    equal = analysis.run_analysis(files, "total", spec=analysis.Specification(follow_up="equal"))
    table = robustness.simulated_truth(runs, seed, equal_total=equal)
    truth = synthetic.true_effects(synthetic.synthesize(seed))
    assert list(table.index) == [*runs, "total (equal follow-up)"]
    assert table.loc["6m", "true_att"] == pytest.approx(truth.loc["6m", "att"])
    assert table.loc["total", "estimate"] == pytest.approx(runs["total"].effect.matched.difference)
    row = table.loc["total (equal follow-up)"]
    assert row["covers_true_att"] == (row["ci_low_ai"] <= row["true_att"] <= row["ci_high_ai"])
