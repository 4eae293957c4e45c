"""psm.newchance.analysis.grid: the specification grid and its forest figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
from scipy import stats
import pytest

import psm
from analysis_builders import make_file

from psm.newchance.analysis import specification as analysis
from psm.newchance.analysis import grid, tables


REPS = 20  # bootstrap replicates of the kernel and radius rows here (the report uses analysis.BOOTSTRAP_REPS)


@pytest.fixture(scope="module")
def table():
    af = make_file(n=200, seed=11)
    return grid.specification_grid({"published": af, "last_wins": af}, reps=REPS)


def test_every_valid_combination_once_published_first():
    specs = grid.specifications()
    # 2 links x 2 offence codings x 2 calipers x 2 follow-ups x 2 missing-data rules x 2 crime-type
    # precedences = 64 per (k, replace); with replacement: k in (1, 2, 5) -> 192; without only k = 1 -> 64;
    # then kernel, radius and teffects, each the published specification with only the estimator changed
    assert len(specs) == 259 == len(set(specs))
    assert specs[0] == analysis.PUBLISHED
    assert not any(s.k > 1 and not s.replace for s in specs)
    assert [s.changes() for s in specs[256:]] == ["method=kernel", "method=radius", "common_support=False; method=teffects"]
    assert all(s.method == "nearest" for s in specs[:256])


def test_published_row_reproduces_the_published_specification_exactly(table):
    af = make_file(n=200, seed=11)
    run = analysis.run_analysis(af, "total")
    row = table[table["published"]].iloc[0]
    assert table["published"].sum() == 1
    assert row["att"] == run.effect.matched.difference
    assert row["se_ai"] == run.effect.se_ai
    assert row["se_psmatch2"] == run.effect.matched.se
    assert row["changes"] == "published"


def test_intervals_are_att_plus_minus_z_se(table):
    half = 1.959963984540054 * table["se"]
    np.testing.assert_allclose(table["ci_high"] - table["att"], half)
    np.testing.assert_allclose(table["att"] - table["ci_low"], half)


def test_forest_figure_plots_the_grid_values(table):
    fig = grid.forest_figure(table)
    top, bottom = fig.axes
    ys = np.concatenate([line.get_ydata() for line in top.lines if len(line.get_ydata()) and line.get_marker() in ("o", "D")])
    assert sorted(ys) == pytest.approx(sorted(np.concatenate([table["att"], table.loc[table["published"], "att"]])))
    # the choices grid is labelled, one row per non-published choice, a square where a specification makes it
    labels = [tick.get_text() for tick in bottom.get_yticklabels()]
    assert labels[0] == "logit score (not probit)" and labels == [text for _, _, text in grid.choice_rows()]
    squares = sum(len(c.get_offsets()) for c in bottom.collections)
    changed = sum(grid._uses(table, name, value).sum() for name, value, _ in grid.choice_rows())
    assert squares == changed and changed > 0


def test_identical_analyses_are_collapsed_and_counted():
    af = make_file(n=200, seed=11)  # no missing covariate: missing indicators change nothing
    files = {"published": af, "last_wins": af}  # the same file: the precedence changes nothing either
    full = grid.specification_grid(files, collapse=False, reps=REPS)
    assert len(full) == 259 and full.attrs["collapsed"] == 0 and full["specifications"].max() >= 4
    collapsed = grid.specification_grid(files, reps=REPS)
    assert collapsed["specifications"].sum() == 259
    assert len(collapsed) == 259 - collapsed.attrs["collapsed"] <= 64 + 3
    assert not (collapsed["crime_precedence"] == "last_wins").any()
    assert not (collapsed["missing"] == "indicators").any()
    published = collapsed[collapsed["published"]].iloc[0]
    assert "missing=indicators" in published["same_as"]
    assert "259 specifications" in grid.collapse_note(collapsed)
    assert "the other 3 (kernel, radius, teffects)" in grid.collapse_note(collapsed)


def test_rows_without_replacement_are_marked_as_dropping_treated(table):
    without = table[~table["replace"]]
    assert (without["n_treated_matched"] <= without["n_treated_eligible"]).all()
    assert (table["all_treated"] == (table["n_treated_matched"] == table["n_treated_eligible"])).all()
    assert not without["all_treated"].all()


def test_method_rows_equal_the_library_estimators_on_the_same_file(table):
    af = make_file(n=200, seed=11)
    data, covariates = af.data, list(analysis.COVARIATE_LABELS)
    model = psm.fit_propensity(data, "treated", covariates, link="probit")
    by_method = table.set_index("method")
    for method, size in (("kernel", {"bandwidth": 0.06}), ("radius", {"caliper": 0.06})):
        matching = psm.match(data, "treated", model.score, method=method, common_support=True, **size)
        row = by_method.loc[method]
        assert row["att"] == pytest.approx(psm.effect(data, "reoffended_total", matching).matched.difference, abs=1e-12)
        boot = psm.bootstrap_se(data, "reoffended_total", matching, propensity=model,
                                reps=REPS, seed=analysis.BOOTSTRAP_SEED)
        assert row["se"] == pytest.approx(boot.se, abs=1e-12) and row["se_method"] == "bootstrap"
        assert np.isnan(row["se_ai"])
    te = psm.teffects_psmatch(data, "reoffended_total", "treated", covariates, estimand="ATET", link="probit")
    row = by_method.loc["teffects"]
    assert row["att"] == pytest.approx(te.estimate, abs=1e-12)
    assert row["se"] == pytest.approx(te.se, abs=1e-12) and row["se_method"] == "ai2016"
    assert (table.loc[table["method"] == "nearest", "se_method"] == "ai2006").all()
    # the figure has a row per estimator, a square where a specification uses it
    fig = grid.forest_figure(table)
    labels = [tick.get_text() for tick in fig.axes[1].get_yticklabels()]
    assert labels[-3:] == ["kernel (Epanechnikov) matching", "radius matching", "teffects-style (ties kept, no trimming) matching"]


def test_known_standard_errors_are_used_instead_of_recomputed(table):
    af = make_file(n=200, seed=11)
    files = {"published": af, "last_wins": af}
    se_table = tables.se_comparison(af, reps=REPS, seed=analysis.BOOTSTRAP_SEED)
    known = tables.interval_ses(se_table)
    assert known[grid.METHOD_VARIANTS[0]] == ("bootstrap", float(se_table.loc[("kernel", "bootstrap"), "se"]))
    reused = grid.specification_grid(files, reps=REPS, known_se=known)
    # the same seed and replicates: the grid computed with and without them is identical
    pd.testing.assert_frame_equal(reused, table)
    # and a given SE is what the row's interval uses
    fake = grid.specification_grid(files, reps=REPS, known_se={grid.METHOD_VARIANTS[0]: ("bootstrap", 0.5)})
    row = fake.set_index("method").loc["kernel"]
    z = stats.norm.ppf(0.975)
    assert row["se"] == 0.5 and row["ci_high"] - row["ci_low"] == pytest.approx(2 * z * 0.5)


def test_rows_carry_their_rates_and_the_people_behind_them(table):
    assert table["att"].to_numpy() == pytest.approx((table["treated"] - table["control"]).to_numpy())
    matched = table["n_treated_matched"].tolist()
    assert table.attrs["denominators"] == {"treated": matched, "control": matched}
