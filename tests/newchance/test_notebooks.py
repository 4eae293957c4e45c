"""Every notebook runs headless on data/synthetic, and the tables it writes have the published
structure and, where the synthetic data are calibrated, the published values within tolerance.

One report run (all notebooks, through the command line with every report option: ``--extract-date``
and ``--mapping`` set to what dataset.yaml already implies, so the published checks still hold) serves
every test of this module. The numbers behind the tables are tested without a kernel in the modules'
own tests; this checks the notebooks' wiring and what lands in reports/.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd
import pytest

from psm.newchance.analysis import grid as grid_module
from psm.newchance.analysis import specification as analysis
from psm.newchance.published import numbers as published
from psm.newchance.analysis import tables
from psm.newchance.analysis import descriptives as d
from psm.newchance.analysis import reoffending as r
from psm.newchance import cli
from psm.newchance.report.build import find_notebooks
from psm.newchance.report.writer import read_manifest

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = ROOT / "data" / "synthetic"
PROPORTION_TOLERANCE = 0.015  # calibration of reoffending rates: 1.5 percentage points
MEAN_TOLERANCE = {"Age": 0.02 * 33.0, "Offending History": 0.02 * 24.0, "Offence Type": 0.02 * 1.8}  # 2% relative
PROPORTION_COVARIATE_TOLERANCE = 0.02  # 0.02 absolute for the 0/1 covariates

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    mapping = base / "mapping.yaml"
    mapping.write_text("referrals: {}\npolice: {}\n")  # the raw names as they are: an identity mapping
    out = base / "reports"
    argv = ["report", str(SYNTHETIC), "--out", str(out), "--extract-date", "2020-01-10", "--mapping", str(mapping)]
    assert cli.main(argv) == 0
    return out


def test_every_report_option_reached_the_notebooks(out):
    source = _table(out, "00_data", "data_source", index="item")["value"]
    assert source["extract date"] == "2020-01-10"
    assert source["extract date from"] == "command line"
    assert source["mapping file"].endswith("mapping.yaml")


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
    # every specification is in the grid, those giving the same analysis as another shown once
    assert grid["specifications"].sum() == len(grid_module.specifications()) and grid["published"].sum() == 1
    assert grid.loc[grid["published"], "changes"].item() == "published"
    assert set(grid["se_method"]) == {"ai2006", "ai2016", "bootstrap"}
    # the SE comparison across estimators: the published run's three SEs, teffects', kernel's and radius'
    estimators = _table(out, "05_robustness", "se_estimators", index=["estimator", "se_method"])
    assert len(estimators) == 8
    published_att = se.loc["total", "att"]
    assert estimators.loc["nearest (published)", "att"].tolist() == pytest.approx([published_att] * 3)
    for name in ("kernel", "radius"):  # the grid's bootstrap is the table's: same replicates, same seed
        row = grid[grid["method"] == name].iloc[0]
        assert estimators.loc[(name, "bootstrap"), "se"] == pytest.approx(row["se"])
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


# ---------------------------------------------------------------------------------------------
# The pages as a reader meets them: complete documents, every link resolving, seen in a browser
# ---------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--hide-scrollbars", "--window-size=1400,1000"]  # fmt: skip


class _Page(HTMLParser):
    """Links, images, anchors, title and charset of one page."""

    def __init__(self):
        super().__init__()
        self.links, self.images, self.ids, self.title, self.charset, self._in_title = [], [], set(), "", False, False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])
        if tag == "meta" and (attrs.get("charset", "").lower() == "utf-8" or "charset=utf-8" in attrs.get("content", "").lower()):
            self.charset = True
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False if tag == "title" else self._in_title

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text("utf-8"))
    return page


def test_every_page_is_complete_and_every_link_resolves(out):
    pages = sorted(out.rglob("*.html"))
    assert len(pages) > 60  # index, 6 notebooks, a page per table, a page per comparison
    problems = []
    for path in pages:
        page = _parse(path)
        where = path.relative_to(out).as_posix()
        if not page.title.strip() or not page.charset:
            problems.append(f"{where}: title {page.title!r}, charset {page.charset}")
        if path != out / "index.html" and not any(link.endswith("index.html") for link in page.links):
            problems.append(f"{where}: no link back to the index")
        if "SYNTHETIC DATA" not in path.read_text("utf-8"):
            problems.append(f"{where}: no SYNTHETIC DATA banner")
        for target in page.links + page.images:
            url = urlsplit(target)
            if url.scheme in {"http", "https", "mailto", "data"}:
                continue
            file = (path.parent / unquote(url.path)).resolve() if url.path else path
            if not file.is_file():
                problems.append(f"{where}: {target} does not exist")
            elif url.fragment and url.fragment not in _parse(file).ids:
                problems.append(f"{where}: anchor #{url.fragment} not found in {file.name}")
    assert not problems, "\n".join(problems[:30])


def test_no_page_shows_a_tuple_or_scientific_notation(out):
    for path in [*out.rglob("tables/**/*.md"), *out.rglob("tables/**/*.html"), out / "index.md"]:
        text = path.read_text("utf-8")
        assert not re.search(r"\('[^']*', '", text), f"{path.name} shows a Python tuple"
        assert not re.search(r"\d\.\d+e[+-]\d\d", text), f"{path.name} shows scientific notation"
    for path in out.rglob("*_vs_published.csv"):
        assert not re.search(r"\('[^']*', '", path.read_text("utf-8")), f"{path.name} holds a tuple as a row label"


def test_index_opens_with_the_answer(out):
    text = (out / "index.html").read_text("utf-8")
    first_screen = text[: text.index("<h2>Sections</h2>")]
    for needed in ("did the programme reduce reoffending", "Published (Table 2)", "equal follow-up",
                   "95% interval", "Hidden bias", "critical Γ", 'href="tables/03_matching/table_2_synthetic.html"'):
        assert needed in first_screen, needed


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)")
def test_pages_render_in_chromium(out, tmp_path):
    # the index, every notebook and the first table and comparison page of each notebook, as a reader sees
    # them at 1,400 pixels; the screenshots stay in pytest's temporary folder for a look
    pages = [out / "index.html", *sorted((out / "notebooks").glob("*.html"))]
    for section in sorted((out / "tables").iterdir()):
        pages += sorted(p for p in section.glob("*.html") if not p.name.endswith("_vs_published.html"))[:1]
        pages += sorted(section.glob("*_vs_published.html"))[:1]
    for path in pages:
        shot = tmp_path / (path.relative_to(out).as_posix().replace("/", "__") + ".png")
        subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--screenshot={shot}", path.as_uri()],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path
        dom = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, "--dump-dom", path.as_uri()],
                             check=True, capture_output=True, text=True, timeout=120).stdout  # fmt: skip
        assert "<title>" in dom and "SYNTHETIC DATA" in dom, path
