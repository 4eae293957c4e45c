"""psm.newchance.report.session: every notebook's way in (parameters parsed once, data validated once)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import nbformat
import pytest
from newchance_builders import offence, referral, write_dataset

from psm.newchance.analysis import specification as analysis
from psm.newchance.inputs.problems import DataValidationError
from psm.newchance.report.build import default_notebook_dir
from psm.newchance.report.runner import PARAMETERS_TAG
from psm.newchance.report.session import (
    dataset_key,
    load_saved_dataset,
    locate,
    open_notebook,
    parse_extract_date,
    save_dataset,
)

ROOT = Path(__file__).resolve().parents[2]
#: What the report command injects (psm.newchance.report.build), and so what every notebook declares.
PARAMETERS = {"data_dir", "mapping", "extract_date", "min_count", "out_dir", "notebook_name", "dataset_file"}


@pytest.fixture
def folder(tmp_path):
    referrals = [referral() for _ in range(3)] + [referral(referral_date="2018-06-01")]
    return write_dataset(tmp_path / "data", referrals, [offence() for _ in range(3)], description="four referrals")


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("", None), ("2019-12-31", dt.date(2019, 12, 31)), (dt.date(2020, 1, 1), dt.date(2020, 1, 1)),
     (dt.datetime(2020, 1, 2, 13, 0), dt.date(2020, 1, 2))],
)  # fmt: skip
def test_parse_extract_date(value, expected):
    assert parse_extract_date(value) == expected


@pytest.mark.parametrize("value", ["10/01/2020", "2020-13-01", 20200110])
def test_parse_extract_date_rejects_what_is_not_a_date(value):
    with pytest.raises(ValueError, match="extract_date must be an ISO date"):
        parse_extract_date(value)


def test_extract_date_as_text_overrides_dataset_yaml(folder):
    session = open_notebook(folder, extract_date="2019-12-31")
    assert session.dataset.extract_date == dt.date(2019, 12, 31)
    assert session.extract_date_given
    # the 2018-06-01 referral has 12 months before 2019-12-31; the 2019-06-01 ones do not
    assert int(session.analysis.data.query("treated == 1")["eligible_12m"].sum()) == 1
    plain = open_notebook(folder)
    assert plain.dataset.extract_date == dt.date(2020, 1, 10) and not plain.extract_date_given


def test_mapping_is_located_and_kept(folder, tmp_path, monkeypatch):
    (tmp_path / "mapping.yaml").write_text("referrals: {}\n")
    monkeypatch.chdir(folder)  # found from a folder below the one that holds it
    session = open_notebook("data", mapping="mapping.yaml")
    assert session.mapping == (tmp_path / "mapping.yaml").resolve()
    with pytest.raises(FileNotFoundError, match="nomap.yaml"):
        open_notebook("data", mapping="nomap.yaml")


def test_the_saved_dataset_is_used_only_under_its_key(folder, tmp_path):
    validated = open_notebook(folder).dataset
    marked = dataclasses.replace(validated, description="from the report's saved copy")
    saved = save_dataset(marked, dataset_key(folder, None, None), tmp_path / "dataset.pickle")
    assert open_notebook(folder, dataset_file=saved).dataset.description == "from the report's saved copy"
    # other parameters, other data: the folder is validated again
    other = open_notebook(folder, extract_date="2019-12-31", dataset_file=saved)
    assert other.dataset.description == "four referrals"
    assert load_saved_dataset(tmp_path / "absent.pickle", dataset_key(folder, None, None)) is None


def test_invalid_data_and_parameters_are_reported(folder, tmp_path):
    with pytest.raises(ValueError, match="min_count must be an integer >= 1"):
        open_notebook(folder, min_count=0)
    (folder / "referrals.csv").write_text("referral_id\nR1\n")
    with pytest.raises(DataValidationError):
        open_notebook(folder)


def test_report_writer_follows_the_parameters(folder, tmp_path):
    session = open_notebook(folder, out_dir=tmp_path / "out", notebook_name="07_x", min_count=5)
    assert (session.report.out_dir, session.report.section, session.report.min_count) == (tmp_path / "out", "07_x", 5)
    assert session.report.synthetic is session.synthetic is True
    assert session.files["equal"].equal_follow_up is not None and session.analysis.equal_follow_up is None
    assert set(session.files) == set(analysis.load_files(folder))  # the same files as the analysis layer's


def test_locate_walks_up_from_the_current_folder(tmp_path, monkeypatch):
    (tmp_path / "data" / "synthetic").mkdir(parents=True)
    deep = tmp_path / "src" / "pkg" / "notebooks"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert locate("data/synthetic") == (tmp_path / "data" / "synthetic").resolve()
    assert locate(tmp_path / "data") == (tmp_path / "data").resolve()
    with pytest.raises(FileNotFoundError, match="nowhere"):
        locate("nowhere")


def test_notebooks_folder_is_a_real_folder_linking_every_packaged_notebook(monkeypatch):
    # a real folder: `cd notebooks && ../.venv/bin/jupyter ...` resolves `..` to the repository root
    top = ROOT / "notebooks"
    assert top.is_dir() and not top.is_symlink()
    packaged = sorted(p.name for p in default_notebook_dir().glob("*.ipynb"))
    linked = sorted(p.name for p in top.glob("*.ipynb"))
    assert linked == packaged
    for name in linked:
        assert (top / name).resolve() == (default_notebook_dir() / name).resolve()
    monkeypatch.chdir(top)
    assert locate("data/synthetic") == (ROOT / "data" / "synthetic").resolve()


@pytest.mark.parametrize("path", sorted(default_notebook_dir().glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_notebook_declares_the_report_parameters_and_opens_through_the_session(path):
    nb = nbformat.read(path, as_version=4)
    parameters = next(c for c in nb.cells if PARAMETERS_TAG in c.metadata.get("tags", []))
    declared = {line.split("=")[0].strip() for line in parameters.source.splitlines() if "=" in line and not line.startswith("#")}
    assert declared == PARAMETERS
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert "open_notebook(" in code[1]  # the first cell after the parameters
    assert not any("load_dataset" in s or "load_files" in s or "prepare(" in s for s in code)


def test_a_saved_figure_is_shown_as_its_png_and_drawn_only_when_changed(tmp_path):
    from types import SimpleNamespace

    from IPython.core.formatters import PNGFormatter
    from matplotlib.figure import Figure

    from psm.newchance.report.session import show_saved_figures
    from psm.newchance.report.writer import SAVED_PNG, ReportWriter

    formatter = PNGFormatter()
    drawn = []
    formatter.for_type(Figure, lambda fig: drawn.append(fig) or b"drawn")
    shell = SimpleNamespace(display_formatter=SimpleNamespace(formatters={"image/png": formatter}))
    show_saved_figures(shell)
    show_saved_figures(shell)  # installed once, not wrapped twice
    fig = Figure()
    ax = fig.add_subplot()
    ax.plot([0, 1])
    path = ReportWriter(tmp_path, synthetic=True, section="s").figure("line", fig, caption="c")
    assert getattr(fig, SAVED_PNG) == path.read_bytes()
    assert formatter(fig) == path.read_bytes() and drawn == []  # the saved image, with its banner
    ax.set_title("changed after saving")
    assert formatter(fig) == b"drawn" and drawn == [fig]
    show_saved_figures(None)  # outside IPython: nothing to do
