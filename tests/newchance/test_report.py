"""psm.newchance.report.build: the report command end to end on throwaway notebooks, and its guards.

Kernel runs are few and shared through module-scoped fixtures (each kernel start costs seconds).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import nbformat
from matplotlib.figure import Figure
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from newchance_builders import offence, referral, write_dataset

from psm.newchance.inputs.problems import DataValidationError
from psm.newchance import cli
from psm.newchance.report import build as report
from psm.newchance.report.build import ReportError, build_report, find_notebooks
from psm.newchance.report.index import DatasetInfo, RunInfo, write_index
from psm.newchance.report.output import OutputFolder
from psm.newchance.report.writer import ReportWriter
from psm.newchance.report.output import OutputFolderError

PARAMETER_NAMES = ("data_dir", "mapping", "extract_date", "min_count", "out_dir", "synthetic", "notebook_name", "dataset_file")

PARAMETERS_CELL = """data_dir = "nowhere"
mapping = None
extract_date = None
min_count = 10
out_dir = None
synthetic = None
notebook_name = "default"
dataset_file = None"""

OK_NOTEBOOK_CODE = """import matplotlib.pyplot as plt
import pandas as pd
from psm.newchance.report.writer import ReportWriter

report = ReportWriter(out_dir, synthetic=synthetic, min_count=min_count, section=notebook_name)
names = ["data_dir", "mapping", "extract_date", "min_count", "out_dir", "synthetic", "notebook_name", "dataset_file"]
seen = pd.DataFrame({"value": [repr(globals()[n]) for n in names]}, index=pd.Index(names, name="parameter"))
report.table("parameters", seen, caption="Parameters seen by the notebook")
report.table("counts", pd.DataFrame({"group": ["a", "b"], "n": [3, 25]}), caption="Counts", counts=["n"])
fig, ax = plt.subplots()
ax.bar(["a", "b"], [3, 25])
report.figure("bars", fig, caption="Bars")"""


def _write_notebook(path: Path, cells: list) -> Path:
    nbformat.write(new_notebook(cells=cells), path)
    return path


def _ok_notebook(folder: Path) -> Path:
    return _write_notebook(
        folder / "01_ok.ipynb",
        [
            new_markdown_cell("# A notebook that works"),
            new_code_cell(PARAMETERS_CELL, metadata={"tags": ["parameters"]}),
            new_markdown_cell("## Writing outputs"),
            new_code_cell(OK_NOTEBOOK_CODE),
        ],
    )


def _failing_notebook(folder: Path) -> Path:
    return _write_notebook(
        folder / "02_fail.ipynb",
        [
            new_markdown_cell("# A notebook that fails"),
            new_code_cell(PARAMETERS_CELL, metadata={"tags": ["parameters"]}),
            new_markdown_cell("## Broken step"),
            new_code_cell("x = 1"),
            new_code_cell('raise ValueError("deliberate failure in step two")'),
        ],
    )


def _data_folder(folder: Path, *, synthetic: bool) -> Path:
    """Five referrals (three from 2019-06-01: too late for the 12-month window of a 2020-01-10 extract)
    and four comparison women (start offences in May 2015, followed up in every window)."""
    referrals = [referral() for _ in range(3)] + [referral(referral_date="2018-06-01") for _ in range(2)]
    police = [offence() for _ in range(4)]
    return write_dataset(folder, referrals, police, synthetic=synthetic, description="Throwaway test data")


# ---------------------------------------------------------------------------------------------
# A successful run on synthetic data: the packaged 00_data notebook and a throwaway one
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("synthetic_run")
    data = _data_folder(base / "data", synthetic=True)
    mapping = base / "mapping.yaml"
    mapping.write_text("referrals: {}\n")
    notebooks = [report.default_notebook_dir() / "00_data.ipynb", _ok_notebook(base)]
    lines: list[str] = []
    summary = build_report(
        data, base / "reports", mapping=mapping, extract_date=dt.date(2019, 12, 31),
        min_count=10, notebooks=notebooks, progress=lines.append,
    )  # fmt: skip
    return summary, base, lines


@pytest.mark.slow
def test_run_writes_notebooks_tables_figures_and_index(synthetic_run):
    summary, base, _ = synthetic_run
    out = base / "reports"
    assert summary.out_dir == out.resolve()
    # 00_data: data source, flow, window sizes (vs published), calibration (synthetic data); 01_ok: two tables
    assert (summary.tables, summary.figures, summary.comparisons) == (6, 2, 1)
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        ".psm-report",
        "figures/00_data/window_sizes_synthetic.png",
        "figures/01_ok/bars_synthetic.png",
        "index.html",
        "index.md",
        "manifest.json",
        "notebooks/00_data.html",
        "notebooks/01_ok.html",
        *[f"tables/00_data/{name}_synthetic.{ext}" for name in ("calibration", "data_source", "flow")
          for ext in ("csv", "html", "md")],
        "tables/00_data/window_sizes_synthetic.csv",
        "tables/00_data/window_sizes_synthetic.html",
        "tables/00_data/window_sizes_synthetic.md",
        "tables/00_data/window_sizes_synthetic_vs_published.csv",
        "tables/00_data/window_sizes_synthetic_vs_published.html",
        "tables/00_data/window_sizes_synthetic_vs_published.md",
        *[f"tables/01_ok/{name}_synthetic.{ext}" for name in ("counts", "parameters") for ext in ("csv", "html", "md")],
    ]
    # every output is linked from both front pages
    index, readme = (out / "index.html").read_text(), (out / "index.md").read_text()
    for name in files:
        if name.startswith(("tables/", "figures/", "notebooks/")):
            assert f'href="{name}"' in index, name
            assert f"]({name})" in readme, name


@pytest.mark.slow
def test_no_absolute_path_of_this_machine_in_the_report(synthetic_run):
    _, base, _ = synthetic_run
    out = base / "reports"
    texts = {p: p.read_text("utf-8") for p in out.rglob("*") if p.suffix in {".html", ".md", ".csv", ".json"}}
    assert texts and [p for p, text in texts.items() if str(base) in text] == []


@pytest.mark.slow
def test_parameters_are_injected_after_the_parameters_cell(synthetic_run):
    _, base, _ = synthetic_run
    seen = pd.read_csv(base / "reports" / "tables" / "01_ok" / "parameters_synthetic.csv", index_col="parameter")["value"]
    assert seen["min_count"] == "10"
    # the notebooks ran on absolute paths; the report shows folder and file names only
    assert seen["data_dir"] == "'data'"
    assert seen["mapping"] == "'mapping.yaml'"
    assert seen["dataset_file"] == "'dataset.pickle'"  # the validated copy, in the run's work folder
    assert seen["extract_date"] == "'2019-12-31'"
    assert seen["out_dir"] == "'reports'"  # (the building folder beside it, while the run lasted)
    assert seen["synthetic"] == "True"
    assert seen["notebook_name"] == "'01_ok'"


@pytest.mark.slow
def test_synthetic_banners_everywhere_and_no_suppression(synthetic_run):
    _, base, _ = synthetic_run
    out = base / "reports"
    assert "SYNTHETIC DATA" in (out / "index.html").read_text()
    assert "> **SYNTHETIC DATA**" in (out / "index.md").read_text()
    html = (out / "notebooks" / "01_ok.html").read_text()
    assert "SYNTHETIC DATA" in html
    assert "Parameters injected by the report command" in html  # inputs are shown
    counts = pd.read_csv(out / "tables" / "01_ok" / "counts_synthetic.csv")
    assert counts["n"].tolist() == [3, 25]


@pytest.mark.slow
def test_index_states_source_parameters_versions_and_date(synthetic_run):
    _, base, _ = synthetic_run
    readme = (base / "reports" / "index.md").read_text()
    assert "| description | Throwaway test data |" in readme
    assert "| extract date used | 2019-12-31 |" in readme
    assert "| min_count | 10 |" in readme and "| extract_date | 2019-12-31 |" in readme
    assert "seed" not in readme and "dataset_file" not in readme
    for package in ("python", "psm", "numpy", "pandas", "scipy", "statsmodels", "matplotlib"):
        assert re.search(rf"\| {package} \| \d", readme), package
    assert re.search(r"\| date \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \|", readme)


@pytest.mark.slow
def test_the_packaged_data_notebook_reports_source_flow_and_window_sizes(synthetic_run):
    _, base, _ = synthetic_run
    folder = base / "reports" / "tables" / "00_data"
    source = pd.read_csv(folder / "data_source_synthetic.csv", index_col="item")["value"]
    assert source["extract date"] == "2019-12-31"
    assert source["extract date from"] == "command line"
    assert source["referral file"] == "referrals.csv"
    sizes = pd.read_csv(folder / "window_sizes_synthetic.csv", index_col="window")
    assert sizes.index.tolist() == ["total", "30d", "60d", "90d", "6m", "12m"]
    # the 2019-06-01 referrals have 6 but not 12 months of follow-up before the extract date
    assert sizes.loc["6m"].tolist() == [5, 4, 9]
    assert sizes.loc["12m"].tolist() == [2, 4, 6]
    view = pd.read_csv(folder / "window_sizes_synthetic_vs_published.csv")
    assert view["published"].tolist() == [772, 769, 758, 742, 710, 610]
    assert (view["status"] == "differs").all()
    flow = pd.read_csv(folder / "flow_synthetic.csv")
    assert {"file", "window", "step", "removed", "remaining"} <= set(flow.columns)


@pytest.mark.slow
def test_progress_names_notebooks_cells_and_summary(synthetic_run):
    _, _, lines = synthetic_run
    assert lines[0].startswith("Checking the data folder ")
    assert lines[1].startswith("Report on ") and "SYNTHETIC DATA" in lines[1]
    assert "[1/2] 00_data.ipynb" in lines and "[2/2] 01_ok.ipynb" in lines
    assert "      01_ok: cell 3/3 · Writing outputs" in lines
    assert lines[-2].startswith("Wrote ") or lines[-1].startswith("Wrote ")
    assert "2 notebooks, 6 tables (1 with a published-vs-reproduced view), 2 figures" in "\n".join(lines[-2:])


# ---------------------------------------------------------------------------------------------
# A failing run on supplied data, through the command line
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("failing_run")
    data = _data_folder(base / "data", synthetic=False)
    notebooks = base / "notebooks"
    notebooks.mkdir()
    _ok_notebook(notebooks)
    _failing_notebook(notebooks)
    patch = pytest.MonkeyPatch()
    patch.setattr(report, "default_notebook_dir", lambda: notebooks)
    stdout = io.StringIO()
    patch.setattr("sys.stdout", stdout)
    try:
        code = cli.main(["report", str(data), "--out", str(base / "reports"), "--min-count", "5"])
    finally:
        patch.undo()
    return code, stdout.getvalue(), base


@pytest.mark.slow
def test_failure_exits_non_zero_with_notebook_and_cell(failing_run):
    code, text, base = failing_run
    assert code == 1
    assert (
        "error: notebook 02_fail.ipynb failed at cell 5 (under 'Broken step'): "
        "ValueError: deliberate failure in step two\n  code: raise ValueError" in text
    )
    assert "Traceback" not in text
    kept = base / "reports.failed-02_fail.html"  # the executed part, with the error, beside the output
    assert f"The executed part is in {kept}" in text
    assert "deliberate failure" in kept.read_text()
    assert not (base / "reports").exists()  # nothing half-made; an earlier report would be left as it was


@pytest.mark.slow
def test_supplied_data_are_suppressed_and_not_stamped(tmp_path):
    data = _data_folder(tmp_path / "data", synthetic=False)
    build_report(data, tmp_path / "reports", min_count=5, notebooks=[_ok_notebook(tmp_path)])
    folder = tmp_path / "reports" / "tables" / "01_ok"
    counts = pd.read_csv(folder / "counts.csv")
    assert counts["n"].astype(str).tolist() == ["<5", "<5"]  # 25 with 3: the two add up to a total
    assert "Counts below 5 are shown as" in (folder / "counts.md").read_text()
    assert not list(folder.glob("*synthetic*"))
    assert "SYNTHETIC" not in (tmp_path / "reports" / "notebooks" / "01_ok.html").read_text()


@pytest.mark.slow
def test_a_failure_stops_the_notebooks_running_beside_it(tmp_path):
    data = _data_folder(tmp_path / "data", synthetic=True)
    slow = _write_notebook(tmp_path / "01_slow.ipynb", [new_code_cell(PARAMETERS_CELL, metadata={"tags": ["parameters"]}),
                                                        new_code_cell("import time\ntime.sleep(300)")])
    with pytest.raises(report.NotebookExecutionError) as info:
        build_report(data, tmp_path / "reports", notebooks=[slow, _failing_notebook(tmp_path)], jobs=2)
    assert info.value.notebook == "02_fail.ipynb"  # the failure, not the notebook listed first
    # the slow notebook's kernel was killed: it is not reported as a failure of its own
    assert sorted(p.name for p in tmp_path.iterdir() if "reports" in p.name) == ["reports.failed-02_fail.html"]


# ---------------------------------------------------------------------------------------------
# Guards that need no kernel
# ---------------------------------------------------------------------------------------------


def test_data_problems_stop_the_run_before_any_notebook(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(DataValidationError, match="dataset.yaml: not found"):
        build_report(tmp_path / "data", tmp_path / "out", notebooks=[_ok_notebook(tmp_path)])
    with pytest.raises(DataValidationError, match="data folder not found"):
        build_report(tmp_path / "nope", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_bad_arguments_are_report_errors(tmp_path):
    data = _data_folder(tmp_path / "data", synthetic=True)
    with pytest.raises(ReportError, match="min_count"):
        build_report(data, tmp_path / "out", min_count=0)
    with pytest.raises(ReportError, match="jobs must be an integer >= 1, got 0"):
        build_report(data, tmp_path / "out", jobs=0)
    with pytest.raises(DataValidationError, match="mapping file not found"):
        build_report(data, tmp_path / "out", mapping=tmp_path / "missing.yaml", notebooks=[_ok_notebook(tmp_path)])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReportError, match="no notebooks"):
        build_report(data, tmp_path / "out", notebooks=tmp_path / "empty")


def test_command_prints_report_errors_without_traceback(tmp_path):
    out = io.StringIO()
    code = cli.run_report(
        tmp_path / "nope", out_dir=tmp_path / "r", mapping=None, extract_date=None, min_count=10, out=out
    )
    assert code == 1
    assert "\nerror: 4 problems found in the supplied data:\n- " in out.getvalue()
    assert "data folder not found" in out.getvalue()


def test_a_foreign_non_empty_output_folder_is_refused_and_untouched(tmp_path):
    data = _data_folder(tmp_path / "data", synthetic=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / "thesis.docx").write_text("precious")
    with pytest.raises(OutputFolderError, match="not empty"):
        build_report(data, out, notebooks=[_ok_notebook(tmp_path)])
    assert (out / "thesis.docx").read_text() == "precious"


def test_a_bad_option_on_a_finished_report_changes_nothing(tmp_path):
    data = _data_folder(tmp_path / "data", synthetic=True)
    out = tmp_path / "out"
    with OutputFolder(out) as folder:
        (folder.building / "index.html").write_text("finished report")
        folder.commit()
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    code = cli.run_report(data, out_dir=out, mapping=None, extract_date=None, min_count=10, jobs=0,
                          out=io.StringIO())  # fmt: skip
    assert code == 1
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    assert (out / "index.html").read_text() == "finished report"


def test_the_folder_note_is_accepted_and_never_overwritten(tmp_path):
    # the repository keeps reports/README.md; a folder holding only that note is a valid output folder,
    # and every run carries the note over unchanged
    out = tmp_path / "reports"
    out.mkdir()
    (out / "README.md").write_text("what make reproduce writes here")
    for run in range(2):
        folder = OutputFolder(out)
        folder.check()
        with folder:
            (folder.building / "index.html").write_text(f"run {run}")
            folder.commit()
    assert (out / "README.md").read_text() == "what make reproduce writes here"
    assert sorted(p.name for p in out.iterdir()) == [".psm-report", "README.md", "index.html"]
    assert "README.md" not in (out / ".psm-report").read_text()


def test_find_notebooks_sorts_by_file_name(tmp_path):
    for name in ("05_b.ipynb", "01_a.ipynb", "10_c.ipynb"):
        (tmp_path / name).write_text("{}")
    (tmp_path / "readme.md").write_text("")
    assert [p.name for p in find_notebooks(tmp_path)] == ["01_a.ipynb", "05_b.ipynb", "10_c.ipynb"]
    with pytest.raises(ReportError, match="not found"):
        find_notebooks([tmp_path / "zz.ipynb"])
    assert find_notebooks()[0] == report.default_notebook_dir() / "00_data.ipynb"


def test_index_lists_files_not_in_the_manifest(tmp_path):
    out = tmp_path / "out"
    (out / "extra").mkdir(parents=True)
    (out / "extra" / "stray.csv").write_text("a\n1\n")
    run = RunInfo(
        parameters={"min_count": 1},
        dataset=DatasetInfo(tmp_path / "data", "Throwaway test data", False, "2020-01-10"),
        started=dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc),
        seconds=1.0,
        notebooks=[],
        versions={"python": "3.x"},
    )
    index = write_index(out, run).read_text()
    assert '<a href="extra/stray.csv">' in index
    assert "SYNTHETIC" not in index
    readme = (out / "index.md").read_text()
    assert "- [extra/stray.csv](extra/stray.csv)" in readme
    assert "headline needs the tables" in readme  # no matching tables in this run: no headline
    assert "2026-01-02 03:04 UTC" in readme


def test_index_counts_the_cells_that_agree_per_table_and_overall(tmp_path):
    from psm.newchance.report.writer import finalise_manifest

    out = tmp_path / "out"
    writer = ReportWriter(out, synthetic=True, section="03_matching")
    index = pd.Index(["total", "30d"], name="window")
    # published 0.23 stands for [0.225, 0.235): 0.229 agrees, 0.25 does not; 0.03 agrees
    writer.table("t2", pd.DataFrame({"treated": [0.229, 0.031]}, index=index), caption="Two",
                 published=pd.DataFrame({"treated": ["0.23", "0.03"]}, index=index))
    writer.table("t3", pd.DataFrame({"treated": [0.25, 0.5]}, index=index), caption="Three",
                 published=pd.DataFrame({"treated": ["0.23", "0.50"]}, index=index))
    finalise_manifest(out)
    run = RunInfo(parameters={}, dataset=DatasetInfo(tmp_path / "data", "d", True, "2020-01-10"),
                  started=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc), seconds=1.0, notebooks=[],
                  versions={"python": "3.x"})
    page = write_index(out, run).read_text()
    assert "Agreement with the published tables" in page and "data/synthetic/README.md" in page
    rows = re.findall(r"<tr><td>([^<]+)</td><td class=\"num\">(\d+)</td><td class=\"num\">(\d+)</td>", page)
    assert rows == [("Two", "2", "2"), ("Three", "1", "2"), ("All compared tables", "3", "4")]  # short captions
    assert "| All compared tables | 3 | 4 | 75% |" in (out / "index.md").read_text()


def test_strip_command_cleans_the_given_notebooks(tmp_path, capsys):
    from nbformat.v4 import new_output

    path = _ok_notebook(tmp_path)
    nb = nbformat.read(path, as_version=4)
    nb.cells[3].outputs = [new_output("stream", name="stdout", text="hi\n")]
    nb.cells[3].execution_count = 1
    nbformat.write(nb, path)
    assert cli.main(["strip", str(path)]) == 0
    assert f"stripped {path}" in capsys.readouterr().out
    cell = nbformat.read(path, as_version=4).cells[3]
    assert (cell.outputs, cell.execution_count) == ([], None)
    assert cli.main(["strip", str(path)]) == 0
    assert f"clean    {path}" in capsys.readouterr().out


def test_index_names_notebooks_by_title_and_shows_wide_figures_full_width(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    out = tmp_path / "out"
    (out / "notebooks").mkdir(parents=True)
    (out / "notebooks" / "03_x.html").write_text("<html><body><h1 id='t'>03 · Matching: Table 2<a>¶</a></h1></body></html>")
    writer = ReportWriter(out, synthetic=True, section="03_x")
    for name, size in (("panels", (12, 3)), ("single", (6, 4))):
        fig = Figure(figsize=size)
        fig.add_subplot().plot([0, 1])
        writer.figure(name, fig, caption=name)
    run = RunInfo(parameters={}, dataset=DatasetInfo(tmp_path, "d", True, "2020-01-10"),
                  started=dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc), seconds=1.0,
                  notebooks=[("03_x.ipynb", "notebooks/03_x.html", 2.5)], versions={"python": "3.x"})  # fmt: skip
    index = write_index(out, run).read_text()
    assert '<a href="notebooks/03_x.html">03 · Matching: Table 2</a> — the executed notebook as a web page' in index
    assert '<figure class="wide"><a href="figures/03_x/panels_synthetic.png">' in index
    assert '<figure><a href="figures/03_x/single_synthetic.png">' in index
    assert "(full size)" in index
