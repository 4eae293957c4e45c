"""psm.newchance.analysis.grid: the specification grid and its forest figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from analysis_builders import make_file

from psm.newchance.analysis import specification as analysis
from psm.newchance.analysis import grid


@pytest.fixture(scope="module")
def table():
    af = make_file(n=200, seed=11)
    return grid.specification_grid({"published": af, "last_wins": af})


def test_every_valid_combination_once_published_first():
    specs = grid.specifications()
    # 2 links x 2 offence codings x 2 calipers x 2 follow-ups x 2 missing-data rules x 2 crime-type
    # precedences = 64 per (k, replace); with replacement: k in (1, 2, 5) -> 192; without only k = 1 -> 64
    assert len(specs) == 256 == len(set(specs))
    assert specs[0] == analysis.PUBLISHED
    assert not any(s.k > 1 and not s.replace for s in specs)


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
    half = 1.959963984540054 * table["se_ai"]
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
    full = grid.specification_grid(files, collapse=False)
    assert len(full) == 256 and full.attrs["collapsed"] == 0 and full["specifications"].max() >= 4
    collapsed = grid.specification_grid(files)
    assert collapsed["specifications"].sum() == 256
    assert len(collapsed) == 256 - collapsed.attrs["collapsed"] <= 64
    assert not (collapsed["crime_precedence"] == "last_wins").any()
    assert not (collapsed["missing"] == "indicators").any()
    published = collapsed[collapsed["published"]].iloc[0]
    assert "missing=indicators" in published["same_as"]
    assert "256 specifications" in grid.collapse_note(collapsed)


def test_rows_without_replacement_are_marked_as_dropping_treated(table):
    without = table[~table["replace"]]
    assert (without["n_treated_matched"] <= without["n_treated_eligible"]).all()
    assert (table["all_treated"] == (table["n_treated_matched"] == table["n_treated_eligible"])).all()
    assert not without["all_treated"].all()
