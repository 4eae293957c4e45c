"""psm.newchance.analysis.tables: tables in the published layout."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import psm
from psm.newchance.analysis import specification as analysis
from psm.newchance.published import numbers as published
from psm.newchance.analysis import tables
from analysis_builders import make_file


@pytest.fixture(scope="module")
def runs():
    return analysis.main_analyses(make_file())


def test_effect_table_rows_are_psmatch2_unmatched_and_att(runs):
    table = tables.effect_table(runs)
    assert list(table.index.names) == ["window", "stage"]
    for window, run in runs.items():
        before = table.loc[(window, "before_matching")]
        after = table.loc[(window, "after_matching")]
        assert before["difference"] == pytest.approx(run.effect.unmatched.difference)
        assert after["se"] == pytest.approx(run.effect.matched.se)
        assert after["t"] == pytest.approx(run.effect.matched.difference / run.effect.matched.se)
        for row in (before, after):
            assert row["star"] == (abs(row["t"]) >= 1.96)
            assert row["difference"] == pytest.approx(row["treated"] - row["control"])


def test_effect_table_has_the_published_layout(runs):
    ours = tables.effect_table(runs)[tables.EFFECT_COLUMNS]
    theirs = tables.published_effect_table("table_2")
    assert list(ours.index) == list(theirs.index)
    assert list(ours.columns) == list(theirs.columns)


def test_subgroup_table_is_keyed_by_subgroup_window_stage():
    af = make_file()
    runs = analysis.subgroup_analyses(af)
    ours = tables.effect_table(runs)[tables.EFFECT_COLUMNS]
    theirs = tables.published_effect_table("subgroups")
    assert list(ours.index.names) == ["subgroup", "window", "stage"]
    assert set(ours.index) == set(theirs.index)


def test_balance_table_uses_the_published_labels_and_pstest_numbers(runs):
    table = tables.balance_table(runs["total"])
    assert list(table.index) == list(published.balance_table("Table 1").index)
    bt = runs["total"].balance.table
    assert table.loc["Age", "pct_bias"] == pytest.approx(bt.loc["age", "pct_bias_matched"])
    assert table.loc["Offending History", "unmatched_control"] == pytest.approx(
        bt.loc["offending_history", "mean_control_unmatched"])
    assert list(table.columns) == list(tables.published_balance_table("12m").columns)


def test_standard_errors_give_normal_intervals_for_both_methods(runs):
    frame = tables.standard_errors(runs)
    z = stats.norm.ppf(0.975)
    for window, run in runs.items():
        row = frame.loc[window]
        d = run.effect.matched.difference
        assert row["ci_low_ai"] == pytest.approx(d - z * run.effect.se_ai)
        assert row["ci_high_psmatch2"] == pytest.approx(d + z * run.effect.matched.se)
        assert row["p_ai"] == pytest.approx(2 * stats.norm.sf(abs(d / run.effect.se_ai)))


def test_joint_file_counts_and_test_by_hand():
    af = make_file()
    frame = af.data
    joint = tables.joint_file(af)["value"]
    n1, n0 = int(frame["treated"].sum()), int((frame["treated"] == 0).sum())
    y1 = frame.loc[frame["treated"] == 1, "reoffended_total"]
    y0 = frame.loc[frame["treated"] == 0, "reoffended_total"]
    # pooled-variance t by hand
    sp2 = ((n1 - 1) * y1.var() + (n0 - 1) * y0.var()) / (n1 + n0 - 2)
    t = (y1.mean() - y0.mean()) / np.sqrt(sp2 * (1 / n1 + 1 / n0))
    assert joint["observations"] == n1 + n0
    assert joint["treated"] == n1 and joint["control"] == n0
    assert joint["reoffended_total_count"] == y1.sum() + y0.sum()
    assert joint["difference_pct"] == pytest.approx(100 * (y0.mean() - y1.mean()))
    assert joint["t"] == pytest.approx(t)
    quantities = set(published.joint_file()["quantity"])
    assert quantities <= set(joint.index)


def test_published_tables_are_text_as_printed():
    t2 = tables.published_effect_table()
    assert t2.loc[("12m", "before_matching"), "t"] == "-2.8"
    a4 = tables.published_balance_table("6m")
    assert a4.loc["Ethnicity", "unmatched_treated"] in {".30", "0.30"}
    with pytest.raises(ValueError):
        tables.published_effect_table("table_9")


def test_our_own_tables_pass_the_audit_of_their_arithmetic():
    from psm.newchance.published import audit

    af = make_file()
    runs, sub = analysis.main_analyses(af), analysis.subgroup_analyses(af)
    effects, balance = tables.audit_layout(runs, sub)
    assert len(effects) == 2 * (len(runs) + len(sub))
    assert len(balance) == 7 * len(runs)
    n_control = int((af.data["treated"] == 0).sum())
    result = audit.audit_effects(effects) + audit.audit_balance(balance) + audit.audit_windows(
        effects, n_control={"All": n_control})
    assert len(result.checks) > 100
    assert result.findings.empty, result.summary()


def test_balance_by_category_expands_offence_type_and_keeps_the_other_rows(runs):
    run = runs["total"]
    by_category = tables.balance_by_category(run).table
    assert [c for c in by_category.index if c.startswith("offence_type")] == [
        "offence_type=Other", "offence_type=Violent", "offence_type=Property"]  # every level, reference Other included
    numeric = run.balance.table
    for covariate in ("age", "mh_marker", "offending_history"):
        assert by_category.loc[covariate, "pct_bias_matched"] == pytest.approx(numeric.loc[covariate, "pct_bias_matched"])
    # the Violent dummy's matched treated mean is the share of matched treated with offence type 2
    treated = run.sample[run.matching.treated & run.matching.on_support]
    assert by_category.loc["offence_type=Violent", "mean_treated_matched"] == pytest.approx((treated["offence_type"] == 2).mean())


def test_se_comparison_sets_every_se_of_each_estimator_beside_the_library_values():
    af = make_file()
    frame = tables.se_comparison(af, reps=20, seed=5)
    assert list(frame.index) == [
        ("nearest (published)", "psmatch2"), ("nearest (published)", "ai2006"), ("nearest (published)", "ai2016"),
        ("teffects psmatch", "ai2016"), ("kernel", "psmatch2"), ("kernel", "bootstrap"),
        ("radius", "psmatch2"), ("radius", "bootstrap")]
    covariates = list(analysis.COVARIATE_LABELS)
    model = psm.fit_propensity(af.data, "treated", covariates, link="probit")
    nearest = psm.match(af.data, "treated", model.score, common_support=True)
    e = psm.effect(af.data, "reoffended_total", nearest, propensity=model)
    published_rows = frame.loc["nearest (published)"]
    assert published_rows["att"].tolist() == pytest.approx([e.matched.difference] * 3, abs=1e-12)
    assert published_rows["se"].tolist() == pytest.approx([e.matched.se, e.se_ai, e.se_ai2016], abs=1e-12)
    te = psm.teffects_psmatch(af.data, "reoffended_total", "treated", covariates, estimand="ATET", link="probit")
    assert frame.loc[("teffects psmatch", "ai2016"), ["att", "se"]].tolist() == pytest.approx([te.estimate, te.se], abs=1e-12)
    kernel = psm.match(af.data, "treated", model.score, method="kernel", bandwidth=0.06, common_support=True)
    boot = psm.bootstrap_se(af.data, "reoffended_total", kernel, propensity=model, reps=20, seed=5)
    assert frame.loc[("kernel", "bootstrap"), "se"] == pytest.approx(boot.se, abs=1e-12)
    assert frame.loc[("kernel", "psmatch2"), "se"] == pytest.approx(
        psm.effect(af.data, "reoffended_total", kernel).matched.se, abs=1e-12)
    # intervals are normal from each SE; the flagged SE is the one the grid's intervals use
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(frame["ci_high"] - frame["att"], z * frame["se"])
    assert frame.index[frame["interval_se"]].tolist() == [
        ("nearest (published)", "ai2006"), ("teffects psmatch", "ai2016"), ("kernel", "bootstrap"), ("radius", "bootstrap")]


def test_stacked_effect_tables_keep_the_people_behind_each_rate(runs):
    from psm.newchance.report.disclosure import protect_table

    windows = list(runs)[:2]
    parts = {w: tables.effect_table({w: runs[w]}) for w in windows}
    stacked = tables.stack_effect_tables(parts, "part")
    assert stacked.index.names == ["part", "window", "stage"]
    for column in ("treated", "control"):
        assert stacked.attrs["denominators"][column] == [*parts[windows[0]].attrs["denominators"][column],
                                                         *parts[windows[1]].attrs["denominators"][column]]
    hid_some = False
    for k in (5, 20, 40, 80):  # each part is protected beside the other exactly as on its own
        whole, _ = protect_table(stacked, k)
        alone = [protect_table(part, k)[0] for part in parts.values()]
        for i, part in enumerate(alone):
            rows = whole.iloc[2 * i:2 * i + 2]
            assert rows.astype(str).to_numpy().tolist() == part.astype(str).to_numpy().tolist()
        hid_some |= bool((whole == f"<{k}").any().any())
    assert hid_some
    bare = parts[windows[0]].copy()
    bare.attrs = {}
    with pytest.raises(ValueError, match="denominators"):
        tables.stack_effect_tables({"x": parts[windows[0]], "y": bare}, "part")


def test_balance_table_says_who_is_in_it(runs):
    for window, run in runs.items():
        table = tables.balance_table(run)
        treated = int(run.sample["treated"].sum())
        assert table.attrs["group_sizes"] == {"treated": treated, "comparison": len(run.sample) - treated}
        assert tables.WINDOW_TITLES[window].lower() in table.attrs["population"]
