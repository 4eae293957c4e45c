"""psm.newchance.report.output: the output folder is checked first, built aside, swapped whole, locked."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from psm.newchance.report.output import MARKER, OutputFolder, OutputFolderError

SRC = Path(__file__).resolve().parents[2] / "src"


def _report(folder: Path, files: dict[str, str]) -> Path:
    """A finished report written through OutputFolder (so its marker lists its files)."""
    with OutputFolder(folder) as out:
        for name, text in files.items():
            (out.building / name).parent.mkdir(parents=True, exist_ok=True)
            (out.building / name).write_text(text)
        out.commit()
    return folder


def _tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}


def test_commit_swaps_in_the_new_report_and_lists_its_files(tmp_path):
    out = _report(tmp_path / "r", {"index.html": "old", "tables/a/t.csv": "1"})
    assert (out / MARKER).read_text().splitlines()[1:] == ["index.html", "tables/a/t.csv"]
    _report(out, {"index.html": "new"})
    assert sorted(_tree(out)) == [MARKER, "index.html"]
    assert (out / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]  # no lock, building or old folder left


def test_a_failure_inside_leaves_the_old_report_untouched(tmp_path):
    out = _report(tmp_path / "r", {"index.html": "old", "tables/a/t.csv": "1"})
    before = _tree(out)
    with pytest.raises(ValueError, match="notebook broke"):
        with OutputFolder(out) as folder:
            (folder.building / "index.html").write_text("half")
            raise ValueError("notebook broke")
    assert _tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_an_interruption_inside_leaves_the_old_report_untouched(tmp_path):
    out = _report(tmp_path / "r", {"index.html": "old"})
    with pytest.raises(KeyboardInterrupt):
        with OutputFolder(out) as folder:
            (folder.building / "index.html").write_text("half")
            raise KeyboardInterrupt
    assert _tree(out)["index.html"] == "old"


def test_files_the_tool_did_not_write_are_never_deleted(tmp_path):
    out = _report(tmp_path / "r", {"index.html": "old", "tables/a/t.csv": "1"})
    (out / "tables" / "mine.xlsx").write_text("precious")
    with pytest.raises(OutputFolderError, match=r"did not write: tables/mine\.xlsx; move them"):
        OutputFolder(out).check()
    assert (out / "tables" / "mine.xlsx").read_text() == "precious"


def test_foreign_folders_files_and_unwritable_places_are_refused(tmp_path):
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter.docx").write_text("precious")
    with pytest.raises(OutputFolderError, match="not empty and was not written by this command"):
        OutputFolder(tmp_path / "thesis").check()
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputFolderError, match="exists and is not a folder"):
        OutputFolder(tmp_path / "file.txt").check()
    with pytest.raises(OutputFolderError, match="is a file, not a folder"):
        OutputFolder(tmp_path / "file.txt" / "reports").check()
    with pytest.raises(OutputFolderError, match="file-system root"):
        OutputFolder("/").check()
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(OutputFolderError, match="permission denied"):
            OutputFolder(locked / "reports").check()
    OutputFolder(tmp_path / "new" / "deeper").check()  # absent folders are fine
    (tmp_path / "empty").mkdir()
    OutputFolder(tmp_path / "empty").check()


def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    with OutputFolder(tmp_path / "r"):
        with pytest.raises(OutputFolderError, match=rf"another report run \(process {os.getpid()}\) is writing"):
            with OutputFolder(tmp_path / "r"):
                pass
    with OutputFolder(tmp_path / "r"):  # released
        pass


def test_failed_notebook_pages_are_kept_beside_the_output(tmp_path):
    with OutputFolder(tmp_path / "r") as folder:
        kept = folder.keep_beside("failed-02_x.html", "<p>partial</p>")
    assert kept == tmp_path / "r.failed-02_x.html"
    assert kept.read_text() == "<p>partial</p>"


_HOLD = """
import sys, time
from pathlib import Path
from psm.newchance.report.output import OutputFolder
with OutputFolder(Path(sys.argv[1])) as folder:
    (folder.building / "index.html").write_text("half")
    print("building", flush=True)
    time.sleep(60)
    folder.commit()
"""


def _holding_process(out: Path) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", _HOLD, str(out)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(SRC)})
    assert process.stdout.readline().strip() == "building"
    return process


def test_a_killed_run_leaves_the_old_report_and_the_next_run_cleans_up(tmp_path):
    out = _report(tmp_path / "r", {"index.html": "old"})
    process = _holding_process(out)
    with pytest.raises(OutputFolderError, match=f"process {process.pid}"):
        OutputFolder(out).__enter__()
    process.kill()
    process.wait()
    assert _tree(out) == {MARKER: (out / MARKER).read_text(), "index.html": "old"}
    assert (tmp_path / f".r.building-{process.pid}").exists()  # left by the killed run
    _report(out, {"index.html": "new"})  # stale lock and building folder cleared
    assert (out / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_a_terminated_run_leaves_the_old_report(tmp_path):
    out = _report(tmp_path / "r", {"index.html": "old"})
    process = _holding_process(out)
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=10)
    assert (out / "index.html").read_text() == "old"
    OutputFolder(out).check()
    with OutputFolder(out):
        pass


CLI_INTERRUPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from psm.newchance.report import build
    build.default_notebook_dir = lambda: Path(sys.argv[1])
    from psm.newchance.cli import main
    sys.exit(main(["report", sys.argv[2], "--out", sys.argv[3]]))
""")


@pytest.mark.slow
def test_sigterm_during_a_report_exits_130_with_one_line_and_keeps_the_old_report(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook
    from newchance_builders import referral, offence, write_dataset

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("import time\ntime.sleep(120)")]), notebooks / "01_slow.ipynb")
    data = write_dataset(tmp_path / "data", [referral()], [offence()])
    out = _report(tmp_path / "r", {"index.html": "old"})
    process = subprocess.Popen([sys.executable, "-c", CLI_INTERRUPT, str(notebooks), str(data), str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(SRC)})
    for line in process.stdout:
        if "01_slow: cell 2/2" in line:  # the injected parameters are cell 1
            break
    process.send_signal(signal.SIGTERM)
    rest, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in rest + err
    assert rest.strip().splitlines()[-1] == f"interrupted: no report written; {out} was left as it was."
    assert (out / "index.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "notebooks", "r"]


def test_an_impossible_folder_is_a_clear_error_not_a_traceback(tmp_path):
    with pytest.raises(OutputFolderError, match="cannot use the output folder"):
        with OutputFolder(tmp_path / ("x" * 300) / "reports"):
            pass
