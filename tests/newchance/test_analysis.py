"""psm.newchance.analysis.specification: the published specification and its named alternatives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import psm
from psm.newchance.analysis import specification as analysis
from psm.newchance.preparation.outcomes import WINDOWS
from analysis_builders import make_file


COVARIATES = list(analysis.COVARIATE_LABELS)


def test_covariates_are_table_1_rows_in_order_and_the_analysis_file_columns():
    from psm.newchance.published import numbers as published
    from psm.newchance.preparation.prepare import COVARIATES as FILE_COLUMNS

    assert tuple(COVARIATES) == tuple(FILE_COLUMNS) == published.main_covariates()
    assert list(analysis.COVARIATE_LABELS.values()) == list(published.balance_table("Table 1").index)


def test_published_specification_is_psmatch2_probit_common_support_one_neighbour():
    af = make_file()
    run = analysis.run_analysis(af, "total")
    model = psm.fit_propensity(af.data, "treated", COVARIATES, link="probit")
    matching = psm.match(af.data, "treated", model.score, k=1, replace=True, common_support=True)
    expected = psm.effect(af.data, "reoffended_total", matching)
    assert run.effect.matched.difference == pytest.approx(expected.matched.difference, abs=1e-12)
    assert run.effect.matched.se == pytest.approx(expected.matched.se, abs=1e-12)
    assert run.effect.se_ai == pytest.approx(expected.se_ai, abs=1e-12)
    pd.testing.assert_series_equal(run.matching.weights, matching.weights)
    assert run.spec.changes() == "published"


def test_window_sample_is_the_eligible_people_and_listwise_deletion_is_counted():
    af = make_file()
    af.data.loc[af.data.index[:3], "ethnicity"] = np.nan
    run = analysis.run_analysis(af, "6m")
    eligible = af.data["eligible_6m"]
    assert run.n_window == int(eligible.sum())
    assert run.n_dropped == int(af.data.loc[eligible, "ethnicity"].isna().sum())
    assert len(run.sample) == run.n_window - run.n_dropped
    assert run.outcome == "reoffended_6m"


def test_missing_indicators_keep_everyone_and_add_an_indicator_column():
    af = make_file()
    af.data.loc[af.data.index[:5], "ethnicity"] = np.nan
    run = analysis.run_analysis(af, "total", spec=analysis.Specification(missing="indicators"))
    assert run.n_dropped == 0 and len(run.sample) == len(af.data)
    assert "ethnicity_missing" in run.covariates
    assert run.sample["ethnicity_missing"].sum() == 5
    assert run.sample.loc[af.data.index[:5], "ethnicity"].eq(0).all()


def test_balance_with_missing_indicators_describes_the_observed_values():
    af = make_file()
    af.data.loc[af.data.index[:15], "ethnicity"] = np.nan
    run = analysis.run_analysis(af, "total", spec=analysis.Specification(missing="indicators"))
    m = run.matching
    seen = af.data["ethnicity"].notna()
    treated = m.treated & m.on_support & seen
    control = ~m.treated & (m.weights > 0) & seen
    row = run.balance.table.loc["ethnicity"]
    assert row["mean_treated_unmatched"] == pytest.approx(af.data.loc[seen & (af.data["treated"] == 1), "ethnicity"].mean())
    assert row["mean_treated_matched"] == pytest.approx(af.data.loc[treated[treated].index, "ethnicity"].mean())
    assert row["mean_control_matched"] == pytest.approx(
        np.average(af.data.loc[control[control].index, "ethnicity"], weights=m.weights[control]))
    # a covariate without gaps keeps its row, over everyone
    assert run.balance.table.loc["age", "mean_treated_unmatched"] == pytest.approx(
        af.data.loc[af.data["treated"] == 1, "age"].mean())


def test_offence_type_as_categories_enters_two_dummies():
    af = make_file()
    numeric = analysis.run_analysis(af, "total")
    categories = analysis.run_analysis(af, "total", spec=analysis.Specification(offence_type="categories"))
    # intercept + 7 covariates vs intercept + 6 covariates + 2 dummies (reference: Other)
    assert len(numeric.propensity.params) == 8
    assert len(categories.propensity.params) == 9
    # the balance table keeps the published numeric row either way
    assert "offence_type" in categories.balance.table.index


def test_caliper_is_in_sd_of_the_logit_score():
    af = make_file()
    run = analysis.run_analysis(af, "total", spec=analysis.Specification(caliper_sd=0.2))
    p = run.propensity.score
    logit = np.log(p / (1 - p))
    treated = af.data.loc[logit.index, "treated"] == 1
    pooled = np.sqrt((logit[treated].var(ddof=1) + logit[~treated].var(ddof=1)) / 2)  # Austin (2011)
    assert run.matching.caliper == pytest.approx(0.2 * pooled)
    assert run.matching.caliper != pytest.approx(0.2 * logit.std(ddof=1))
    np.testing.assert_allclose(run.matching.score.to_numpy(), logit.to_numpy())
    matched = run.matching.pairs
    assert (matched["distance"] < run.matching.caliper).all()


def test_subgroup_restricts_and_uses_footnote_8_covariates():
    af = make_file()
    group = analysis.subgroups()["white_only"]
    run = analysis.run_analysis(af, "total", subgroup=group)
    assert run.n_window == int((af.data["ethnicity"] == 0).sum())
    assert run.covariates == ("age", "employment", "mh_marker", "substance_marker")
    assert run.subgroup == "white_only"


def test_total_outcome_on_a_window_sample_reproduces_the_apparent_published_construction():
    af = make_file()
    group = analysis.subgroups()["mh_marker_yes"]
    run = analysis.run_analysis(af, "12m", subgroup=group, outcome_window="total")
    sample = af.data[af.data["eligible_12m"] & (af.data["mh_marker"] == 1)]
    assert run.outcome == "reoffended_total"
    treated = sample.loc[sample["treated"] == 1, "reoffended_total"].mean()
    control = sample.loc[sample["treated"] == 0, "reoffended_total"].mean()
    assert run.effect.unmatched.difference == pytest.approx(treated - control)


def test_equal_follow_up_needs_its_file():
    af = make_file()
    with pytest.raises(ValueError, match="equal"):
        analysis.run_analysis(af, "total", spec=analysis.Specification(follow_up="equal"))
    run = analysis.run_analysis({"published": af, "equal": af}, "total",
                                spec=analysis.Specification(follow_up="equal"))
    assert run.spec.changes() == "follow_up=equal"


def test_unknown_window_is_refused():
    with pytest.raises(ValueError, match="window"):
        analysis.run_analysis(make_file(), "18m")


def test_main_and_subgroup_runs_cover_every_published_cell():
    af = make_file()
    assert list(analysis.main_analyses(af)) == list(WINDOWS)
    runs = analysis.subgroup_analyses(af)
    assert set(runs) == {(g, w) for g in analysis.subgroups() for w in analysis.SUBGROUP_WINDOWS}


def test_crime_precedence_reads_its_own_file():
    af, other = make_file(), make_file(seed=4)
    spec = analysis.Specification(crime_precedence="last_wins")
    with pytest.raises(ValueError, match="last_wins"):
        analysis.run_analysis(af, "total", spec=spec)
    with pytest.raises(ValueError, match="published follow-up"):
        analysis.run_analysis({"median": af, "last_wins": other}, "total",
                              spec=analysis.Specification(crime_precedence="last_wins", follow_up="median"))
    run = analysis.run_analysis({"published": af, "last_wins": other}, "total", spec=spec)
    assert run.sample.index.equals(analysis.run_analysis(other, "total").sample.index)


def test_kernel_and_radius_match_the_probit_score_as_psmatch2_kernel_and_radius():
    af = make_file()
    model = psm.fit_propensity(af.data, "treated", COVARIATES, link="probit")
    for method, size in (("kernel", {"bandwidth": 0.06}), ("radius", {"caliper": 0.06})):
        run = analysis.run_analysis(af, "total", spec=analysis.Specification(method=method))
        matching = psm.match(af.data, "treated", model.score, method=method, common_support=True, **size)
        expected = psm.effect(af.data, "reoffended_total", matching)
        assert run.effect.matched.difference == pytest.approx(expected.matched.difference, abs=1e-12)
        assert run.effect.matched.se == pytest.approx(expected.matched.se, abs=1e-12)
        pd.testing.assert_series_equal(run.matching.weights, matching.weights)
        name, se = analysis.interval_se(run, reps=20, seed=3)
        boot = psm.bootstrap_se(af.data, "reoffended_total", matching, propensity=model, reps=20, seed=3)
        assert name == "bootstrap" and se == pytest.approx(boot.se, abs=1e-12) and se > 0
    wider = analysis.run_analysis(af, "total", spec=analysis.Specification(method="kernel", bandwidth=0.2))
    assert wider.matching.bandwidth == 0.2


def test_teffects_method_is_statas_teffects_psmatch_atet_with_the_adjusted_se():
    af = make_file()
    spec = analysis.Specification(method="teffects", common_support=False)
    run = analysis.run_analysis(af, "total", spec=spec)
    te = psm.teffects_psmatch(af.data, "reoffended_total", "treated", COVARIATES, estimand="ATET", link="probit")
    assert run.effect.matched.difference == pytest.approx(te.estimate, abs=1e-12)
    assert analysis.interval_se(run) == ("ai2016", pytest.approx(te.se, abs=1e-12))
    assert spec.changes() == "common_support=False; method=teffects"
    published = analysis.run_analysis(af, "total")
    assert analysis.interval_se(published) == ("ai2006", published.effect.se_ai)


@pytest.mark.parametrize("fields, words", [
    ({"method": "kernel", "k": 2}, "k=1"),
    ({"method": "radius", "replace": False}, "replace=True"),
    ({"method": "kernel", "caliper_sd": 0.2}, "caliper_sd"),
    ({"method": "teffects"}, "common_support=False"),
    ({"method": "teffects", "common_support": False, "k": 2}, "k=1"),
    ({"method": "kernel", "follow_up": "pair"}, "follow_up='pair'"),
    ({"method": "exact"}, "method must be one of"),
    ({"bandwidth": 0.0}, "bandwidth must be positive"),
])
def test_inconsistent_method_options_are_refused(fields, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(")):
        analysis.Specification(**fields)
