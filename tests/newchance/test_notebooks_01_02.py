"""Notebooks 01 (descriptives) and 02 (reoffending) run headless on synthetic data and write their tables.

Slow-ish (about a minute: synthetic data, then two kernels); the tables' numbers are tested in
test_descriptives.py and test_reoffending.py, this checks the notebooks' wiring and the written layout.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from psm.newchance import descriptives as d
from psm.newchance import reoffending as r
from psm.newchance.report import build_report, default_notebook_dir
from psm.newchance.report_writer import read_manifest
from psm.newchance.synthetic import run_synthesize_command


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    base = tmp_path_factory.mktemp("nb0102")
    assert run_synthesize_command(base / "data", seed=20200710, out=io.StringIO()) == 0
    notebooks = [default_notebook_dir() / f"{name}.ipynb" for name in ("01_descriptives", "02_reoffending")]
    build_report(base / "data", base / "reports", notebooks=notebooks)
    return base / "reports"


def _table(out, section, name):
    return pd.read_csv(out / "tables" / section / f"{name}_synthetic.csv")


def test_every_descriptive_graph_has_a_table_and_a_figure(report_dir):
    entries = {(e["kind"], e["name"]) for e in read_manifest(report_dir) if e["section"] == "01_descriptives"}
    for graph in d.DESCRIPTIVE_GRAPHS:
        assert ("table", graph.name) in entries and ("figure", graph.name) in entries
    crime = _table(report_dir, "01_descriptives", "crime_type")
    assert crime["crime_type"].tolist() == ["Other crime", "Violent crime", "Property crime"]
    assert crime["count"].sum() == 421 and set(crime["N"]) == {421}


def test_reoffending_tables_have_the_published_layout(report_dir):
    entries = {(e["kind"], e["name"]) for e in read_manifest(report_dir) if e["section"] == "02_reoffending"}
    for graph in r.RATE_GRAPHS:
        assert ("table", graph.name) in entries and ("figure", graph.name) in entries
    tests = _table(report_dir, "02_reoffending", "significance_tests")
    assert tests["test"].tolist() == r.published_significance_tests().index.tolist()
    assert tests.loc[tests["test"] == "Age", "N"].item() == 421
    before_after = _table(report_dir, "02_reoffending", "before_after")
    assert before_after["sample"].tolist() == list(r.BEFORE_AFTER_SAMPLES)
    compared = [e["name"] for e in read_manifest(report_dir) if "comparison" in e]
    expected = {"reoffended", "before_after", "significance_tests", "crime_type", "offending_and_age_summary"}
    assert expected <= set(compared)
