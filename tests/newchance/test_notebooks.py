"""Every notebook runs headless on data/synthetic, and the tables it writes have the published
structure and, where the synthetic data are calibrated, the published values within tolerance.

One report run (all notebooks, about a minute) serves every test of this module. The numbers
behind the tables are tested without a kernel in the modules' own tests; this checks the
notebooks' wiring and what lands in reports/.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from psm.newchance.analysis import specification as analysis
from psm.newchance.published import numbers as published
from psm.newchance.analysis import tables
from psm.newchance.analysis import descriptives as d
from psm.newchance.analysis import reoffending as r
from psm.newchance.report.build import build_report, find_notebooks
from psm.newchance.report.writer import read_manifest

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "data" / "synthetic"
PROPORTION_TOLERANCE = 0.015  # calibration of reoffending rates: 1.5 percentage points
MEAN_TOLERANCE = {"Age": 0.02 * 33.0, "Offending History": 0.02 * 24.0, "Offence Type": 0.02 * 1.8}  # 2% relative
PROPORTION_COVARIATE_TOLERANCE = 0.02  # 0.02 absolute for the 0/1 covariates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "reports"
    build_report(SYNTHETIC, out)
    return out


def _table(out: Path, section: str, name: str, index=None) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / section / f"{name}_synthetic.csv", index_col=index)


def test_every_notebook_ran_and_is_linked(out):
    names = [p.stem for p in find_notebooks()]
    assert names == ["00_data", "01_descriptives", "02_reoffending", "03_matching", "04_subgroups", "05_robustness"]
    index = (out / "index.html").read_text()
    for name in names:
        assert (out / "notebooks" / f"{name}.html").exists()
        assert f"notebooks/{name}.html" in index
    assert "SYNTHETIC DATA" in index


def test_data_notebook_reproduces_the_window_sizes_and_the_calibration(out):
    sizes = _table(out, "00_data", "window_sizes", index="window")
    assert sizes["N"].tolist() == published.table_2().drop_duplicates("window")["N"].astype(int).tolist()
    calibration = _table(out, "00_data", "calibration")
    assert calibration.loc[calibration["status"] == "met", "passed"].all()


def test_every_descriptive_graph_has_a_table_and_a_figure(out):
    entries = {(e["kind"], e["name"]) for e in read_manifest(out) if e["section"] == "01_descriptives"}
    for graph in d.DESCRIPTIVE_GRAPHS:
        assert ("table", graph.name) in entries and ("figure", graph.name) in entries
    crime = _table(out, "01_descriptives", "crime_type")
    assert crime["crime_type"].tolist() == ["Other crime", "Violent crime", "Property crime"]
    assert crime["count"].sum() == 421 and set(crime["N"]) == {421}


def test_reoffending_tables_have_the_published_layout(out):
    entries = {(e["kind"], e["name"]) for e in read_manifest(out) if e["section"] == "02_reoffending"}
    for graph in r.RATE_GRAPHS:
        assert ("table", graph.name) in entries and ("figure", graph.name) in entries
    tests = _table(out, "02_reoffending", "significance_tests")
    assert tests["test"].tolist() == r.published_significance_tests().index.tolist()
    assert tests.loc[tests["test"] == "Age", "N"].item() == 421
    before_after = _table(out, "02_reoffending", "before_after")
    assert before_after["sample"].tolist() == list(r.BEFORE_AFTER_SAMPLES)


def test_balance_tables_have_the_published_rows_and_calibrated_unmatched_means(out):
    for window, table_id in tables.BALANCE_TABLE_IDS.items():
        name = "table_1" if table_id == "Table 1" else f"table_{table_id.lower()}"
        ours = _table(out, "03_matching", name, index="covariate")
        theirs = tables.published_balance_table(window)
        assert list(ours.index) == list(theirs.index) and list(ours.columns) == list(theirs.columns)
    ours, theirs = _table(out, "03_matching", "table_1", index="covariate"), published.balance_table("Table 1")
    for covariate in ours.index:
        tolerance = MEAN_TOLERANCE.get(covariate, PROPORTION_COVARIATE_TOLERANCE)
        for column in ("unmatched_treated", "unmatched_control"):
            assert abs(ours.loc[covariate, column] - theirs.loc[covariate, column]) <= tolerance, (covariate, column)


def test_table_2_has_the_published_cells_and_calibrated_rates_before_matching(out):
    ours = _table(out, "03_matching", "table_2", index=["window", "stage"])
    theirs = published.table_2().set_index(["window", "stage"])
    assert list(ours.index) == list(theirs.index)
    assert ours["N"].tolist() == theirs["N"].astype(int).tolist()
    before = ours.xs("before_matching", level="stage")
    published_before = theirs.xs("before_matching", level="stage")
    for group in ("treated", "control"):
        gap = (before[group] - published_before[group]).abs()
        # the published rates are rounded to 2 decimals: allow their rounding on top of the calibration tolerance
        assert (gap <= PROPORTION_TOLERANCE + 0.005).all(), gap


def test_matching_notebook_adds_equal_follow_up_and_category_balance(out):
    follow_up = _table(out, "03_matching", "total_equal_follow_up", index=["follow_up", "window", "stage"])
    assert set(follow_up.index.get_level_values("follow_up")) == {"published follow-up", "equal follow-up"}
    by_category = _table(out, "03_matching", "balance_cobalt", index="covariate")
    assert {"offence_type=Violent", "offence_type=Property", "smd_matched"} <= set(by_category.index) | set(by_category.columns)
    assert {"love_plot", "graph_31_bias", "score_distribution"} <= {
        e["name"] for e in read_manifest(out) if e["kind"] == "figure" and e["section"] == "03_matching"}


def test_subgroup_table_has_the_published_cells(out):
    for name in ("subgroup_table", "subgroup_table_total_outcome"):
        ours = _table(out, "04_subgroups", name, index=["subgroup", "window", "stage"])
        theirs = published.subgroup_table().set_index(["subgroup", "window", "stage"])
        assert set(ours.index) == set(theirs.index)


def test_robustness_tables(out):
    se = _table(out, "05_robustness", "se_table_2", index="window")
    assert list(se.index) == list(published.WINDOWS)
    grid = _table(out, "05_robustness", "specification_grid")
    assert len(grid) == 128 and grid["published"].sum() == 1
    assert grid.loc[grid["published"], "changes"].item() == "published"
    audit = _table(out, "05_robustness", "audit_published")
    assert len(audit) == 15  # the findings of docs/evaluation.md §1, §8-9, §12-14
    bounds = _table(out, "05_robustness", "rosenbaum_bounds", index="gamma")
    assert bounds.index[0] == 1.0 and bounds.index[-1] == 3.0
    assert {"kaplan_meier", "specification_grid"} <= {e["name"] for e in read_manifest(out) if e["kind"] == "figure"}
    # data/synthetic is the reconstruction: no known truth, so no simulated-truth table (the table on the
    # structural simulation is tested in test_robustness.py)
    assert "simulated_truth" not in {e["name"] for e in read_manifest(out) if e["kind"] == "table"}


def test_main_analyses_are_the_published_specification(out):
    # the notebooks run the published specification; its first grid row is that run
    grid = _table(out, "05_robustness", "specification_grid")
    run = analysis.main_analyses(analysis.load_files(SYNTHETIC))["total"]
    assert grid.loc[0, "att"] == pytest.approx(run.effect.matched.difference)
