"""The report command: run the notebooks headless and write a complete, linked ``reports/`` folder.

``python -m psm.newchance report DATA_DIR --out reports`` (its handler is in :mod:`psm.newchance.cli`)
calls :func:`build_report`, which

1. loads and validates the data folder once (:func:`psm.newchance.inputs.dataset.load_dataset`), so that
   problems in supplied data are reported in full before any notebook starts, and saves the validated
   dataset for the notebooks (:func:`psm.newchance.report.session.save_dataset`), which read it instead
   of validating again;
2. checks the output folder and every option before touching anything, then builds the new report in
   a locked folder beside the target and swaps it in only when complete
   (:class:`psm.newchance.report.output.OutputFolder`: an earlier report survives any failure or
   interruption, a folder holding files the tool did not write is refused, a second run into the same
   folder is refused);
3. executes the notebooks (sorted by file name; ``jobs`` workers, each keeping one kernel for the
   notebooks it runs, with a fresh namespace for each: :class:`psm.newchance.report.runner.SharedKernel`),
   injecting the parameters
   ``data_dir, mapping, extract_date, min_count, out_dir, synthetic, notebook_name, dataset_file`` after the
   cell tagged ``parameters`` (see :mod:`psm.newchance.report.runner`), printing which notebook and
   which cell is running;
4. saves each executed notebook as ``notebooks/<name>.html`` (a SYNTHETIC DATA banner cell on top
   for synthetic data);
5. writes ``index.html`` and ``index.md`` (:mod:`psm.newchance.report.index`) and a summary. A
   ``README.md`` in the folder (the repository keeps one in ``reports/``) is carried over as it is.

When a notebook fails, the other kernels are killed, the executed part of the failed notebook is kept
beside the output as ``<out>.failed-<notebook>.html`` and the earlier report stays as it was.

Notebooks write their own tables and figures with :class:`ReportWriter`.

Where the notebooks live
------------------------
In the package, ``src/psm/newchance/notebooks/`` (declared as package data in pyproject), so that
``pip install .`` users can run the report as well as those working in a checkout: the report does
not depend on the current directory. ``notebooks/`` in the repository holds a link to each, so they
open from there too; their first cell calls :func:`psm.newchance.report.session.open_notebook`, which
finds ``data/synthetic`` from the current folder or any folder above it, and ``out_dir = None`` makes
exploring write nothing. ``build_report(notebooks=...)`` runs other
notebooks (a folder or a list of files).

Stripping outputs before committing: ``python -m psm.newchance strip [NOTEBOOK ...]``
(default: every packaged notebook), or :func:`psm.newchance.report.runner.strip_file`.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat

from psm.errors import PSMError
from psm.newchance.report.runner import (
    NotebookExecutionError,
    SharedKernel,
    execute_notebook,
    export_html,
    inject_parameters,
    kill_kernels,
)
from psm.newchance.inputs.dataset import Dataset, load_dataset
from psm.newchance.report.index import DatasetInfo, RunInfo, write_index
from psm.newchance.report.output import OutputFolder
from psm.newchance.report.session import dataset_key, locate, save_dataset
from psm.newchance.report.writer import SYNTHETIC_BANNER, finalise_manifest

__all__ = [
    "NotebookRun",
    "ReportError",
    "ReportSummary",
    "build_report",
    "default_notebook_dir",
    "find_notebooks",
    "locate",
]

DATASET_FILE = "dataset.pickle"

class ReportError(PSMError, RuntimeError):
    """The report cannot be built (missing data folder or notebooks, unusable output folder...)."""


@dataclass(frozen=True)
class NotebookRun:
    """One executed notebook: file name, HTML path, wall-clock seconds, number of code cells."""

    name: str
    html: Path
    seconds: float
    code_cells: int


@dataclass(frozen=True)
class ReportSummary:
    """What a report run wrote."""

    out_dir: Path
    index: Path
    notebooks: tuple[NotebookRun, ...]
    tables: int
    figures: int
    comparisons: int
    seconds: float
    synthetic: bool

    def __str__(self) -> str:
        label = f" ({SYNTHETIC_BANNER})" if self.synthetic else ""
        return (
            f"Wrote {self.out_dir}{label}: {len(self.notebooks)} notebooks, {self.tables} tables "
            f"({self.comparisons} with a published-vs-reproduced view), {self.figures} figures "
            f"in {self.seconds:.1f} s.\n  open {self.index}"
        )


def default_notebook_dir() -> Path:
    """The packaged notebooks folder (``psm/newchance/notebooks``)."""
    return Path(str(resources.files("psm.newchance").joinpath("notebooks")))


def find_notebooks(notebooks: Path | str | Sequence[Path | str] | None = None) -> list[Path]:
    """The notebooks to run: every ``*.ipynb`` of a folder sorted by file name (default: the packaged
    folder), or the given files in the given order. Raises :class:`ReportError` if none is found."""
    if notebooks is None or isinstance(notebooks, (str, Path)):
        folder = default_notebook_dir() if notebooks is None else Path(notebooks)
        if not folder.is_dir():
            raise ReportError(f"notebook folder {folder} does not exist")
        found = sorted(folder.glob("*.ipynb"), key=lambda p: p.name)
        if not found:
            raise ReportError(f"no notebooks (*.ipynb) in {folder}")
        return found
    paths = [Path(p) for p in notebooks]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing or not paths:
        raise ReportError(f"notebooks not found: {missing}" if missing else "no notebooks given")
    return paths


def _dataset_info(data_dir: Path | str, mapping: Path | str | None, extract_date: dt.date | None) -> tuple[DatasetInfo, Dataset]:
    """Validate the data folder once (raises ``DataValidationError`` listing every problem) and
    describe it; the validated dataset is handed on to the notebooks."""
    loaded = load_dataset(data_dir, mapping=mapping, extract_date=extract_date)
    return DatasetInfo(
        path=Path(data_dir).resolve(),
        description=loaded.description,
        synthetic=loaded.synthetic,
        extract_date=loaded.extract_date.isoformat(),
    ), loaded


def _back_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell("[← Back to the report index](../index.html)")
    cell.id = "report-back-link"
    return cell


def _local_paths(parameters: dict[str, object], folder: OutputFolder) -> dict[str, str]:
    """Absolute paths of this machine -> the names a report shows instead (folder or file name)."""
    paths = {str(folder.building): folder.name}
    parents = [folder.parent]
    for key in ("data_dir", "mapping", "dataset_file"):
        if parameters.get(key):
            path = Path(str(parameters[key]))
            paths[str(path)] = path.name
            parents.append(path.parent)
    for parent in parents:  # also in a display that truncates the full path; never a short, common prefix
        if len(parent.parts) >= 3:
            paths[str(parent) + os.sep] = ""
    return paths


def _without_local_paths(text: str, parameters: dict[str, object], folder: OutputFolder) -> str:
    """``text`` with the run's absolute paths replaced by folder and file names: a report handed on
    does not show where the data lived on the analyst's machine."""
    for path, name in sorted(_local_paths(parameters, folder).items(), key=lambda item: -len(item[0])):
        text = text.replace(path, name)
    return text


def _scrub_local_paths(root: Path, parameters: dict[str, object], folder: OutputFolder) -> None:
    """Apply :func:`_without_local_paths` to every page and table written under ``root``."""
    for path in root.rglob("*"):
        if path.suffix in {".html", ".md", ".csv", ".json"} and path.is_file():
            text = path.read_text("utf-8")
            cleaned = _without_local_paths(text, parameters, folder)
            if cleaned != text:
                path.write_text(cleaned, "utf-8")


def _banner_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(
        f"<div style=\"background:#b00020;color:#fff;font-weight:bold;padding:.6em\">{SYNTHETIC_BANNER}: "
        f"every number below comes from made-up people, not from the New Chance evaluation.</div>"
    )
    cell.id = "synthetic-banner"
    return cell


def _run_one(
    path: Path, parameters: dict[str, object], dataset: DatasetInfo, folder: OutputFolder, workdir: Path,
    timeout: int, progress: Callable[[str], None], kernel: SharedKernel, stopping: threading.Event,
) -> NotebookRun:  # fmt: skip
    start = time.perf_counter()
    source = nbformat.read(path, as_version=4)
    nb, injected_at = inject_parameters(source, {**parameters, "notebook_name": path.stem})
    html = folder.building / "notebooks" / f"{path.stem}.html"
    html.parent.mkdir(parents=True, exist_ok=True)

    def on_cell(k: int, n: int, heading: str) -> None:
        progress(f"      {path.stem}: cell {k}/{n}" + (f" · {heading}" if heading else ""))

    try:
        nb = execute_notebook(nb, name=path.name, cwd=workdir, injected_at=injected_at, timeout=timeout, on_cell=on_cell,
                              kernel=kernel)
    except NotebookExecutionError as error:
        if error.partial is not None and not stopping.is_set():
            page = _without_local_paths(export_html(error.partial, title=path.stem), parameters, folder)
            error.kept = folder.keep_beside(f"failed-{path.stem}.html", page)
        raise
    if dataset.synthetic:
        nb.cells.insert(0, _banner_cell())
    nb.cells.insert(0, _back_cell())
    html.write_text(export_html(nb, title=path.stem), "utf-8")
    code_cells = sum(cell.cell_type == "code" for cell in source.cells)
    return NotebookRun(path.name, folder.target / html.relative_to(folder.building), time.perf_counter() - start, code_cells)


def build_report(
    data_dir: Path | str,
    out_dir: Path | str,
    *,
    mapping: Path | str | None = None,
    extract_date: dt.date | None = None,
    min_count: int = 10,
    notebooks: Path | str | Sequence[Path | str] | None = None,
    progress: Callable[[str], None] | None = None,
    timeout: int = 600,
    jobs: int = 2,
) -> ReportSummary:
    """Run the notebooks on ``data_dir`` and write the report into ``out_dir``.

    Parameters are injected into every notebook as plain values: ``data_dir``, ``mapping`` (str or
    None), ``extract_date`` (ISO str or None), ``min_count``, ``out_dir`` (absolute paths),
    ``synthetic`` (from dataset.yaml) and ``notebook_name`` (the file's stem). ``progress`` receives one
    line per step (default: silent); ``timeout`` is per cell, in seconds. ``jobs`` notebooks run at
    the same time, each in its own kernel (they share nothing but the output folder, where each writes
    its own sub-folders and manifest part); the summary lists them in file-name order whatever the
    order they finish in.

    Raises :class:`~psm.errors.DataValidationError` (every problem of the data folder, before any
    notebook runs), :class:`ReportError` for a bad option or notebook list,
    :class:`~psm.newchance.report.output.OutputFolderError` for an unusable or busy output folder (all
    before anything is written), and :class:`NotebookExecutionError` naming the notebook and cell when
    a notebook fails (its executed part is kept beside the output, ``.kept`` gives the path; the
    earlier report is left as it was).
    """
    say = progress or (lambda _line: None)
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    for name, value in (("min_count", min_count), ("jobs", jobs), ("timeout", timeout)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ReportError(f"{name} must be an integer >= 1, got {value!r}")
    paths = find_notebooks(notebooks)
    folder = OutputFolder(out_dir)
    folder.check()
    say(f"Checking the data folder {data_dir}")
    dataset, validated = _dataset_info(data_dir, mapping, extract_date)
    folder.check()  # again: validating a large data folder takes a while
    with folder, tempfile.TemporaryDirectory(prefix="psm-report-") as workdir:
        dataset_file = save_dataset(validated, dataset_key(data_dir, mapping, extract_date), Path(workdir) / DATASET_FILE)
        parameters: dict[str, object] = {
            "data_dir": str(dataset.path),
            "mapping": str(Path(mapping).resolve()) if mapping is not None else None,
            "extract_date": extract_date.isoformat() if extract_date is not None else None,
            "min_count": min_count,
            "out_dir": str(folder.building),
            "synthetic": dataset.synthetic,
            "dataset_file": str(dataset_file),
        }
        kind = SYNTHETIC_BANNER if dataset.synthetic else "supplied data"
        say(f"Report on {dataset.path} ({kind}) -> {folder.target}: {len(paths)} notebooks")

        queue = list(enumerate(paths, start=1))
        results: dict[int, NotebookRun] = {}
        stop = threading.Event()  # set once the run fails: notebooks killed then are not failures

        def worker() -> None:
            # one kernel per worker, reused notebook after notebook (runner.SharedKernel)
            kernel = SharedKernel()
            try:
                while not stop.is_set():
                    with lock:
                        if not queue:
                            return
                        number, path = queue.pop(0)
                    say(f"[{number}/{len(paths)}] {path.name}")
                    result = _run_one(path, parameters, dataset, folder, Path(workdir), timeout, say, kernel, stop)
                    say(f"      {path.stem}: done in {result.seconds:.1f} s -> "
                        f"{result.html.relative_to(folder.target).as_posix()}")  # fmt: skip
                    results[number] = result
            except BaseException:
                stop.set()
                raise
            finally:
                kernel.close()

        lock = threading.Lock()
        pool = ThreadPoolExecutor(max_workers=jobs)
        futures = [pool.submit(worker) for _ in range(min(jobs, len(paths)))]
        try:
            wait(futures, return_when=FIRST_EXCEPTION)  # the first failure, not the first notebook, decides
            failed = next((f.exception() for f in futures if f.done() and f.exception() is not None), None)
            if failed is not None:
                raise failed
            for future in futures:
                future.result()  # raises the first failure
        except BaseException:
            stop.set()
            kill_kernels()  # the other notebooks stop at once instead of running to their end
            pool.shutdown(wait=True)
            raise
        pool.shutdown(wait=True)
        runs = [results[number] for number in sorted(results)]
        entries = finalise_manifest(folder.building)
        seconds = time.perf_counter() - clock
        shown = {k: Path(str(v)).name if k in ("data_dir", "mapping") and v else v for k, v in parameters.items()}
        info = RunInfo(
            parameters={k: v for k, v in shown.items() if k not in {"out_dir", "synthetic", "dataset_file"}},
            dataset=DatasetInfo(Path(dataset.path.name), dataset.description, dataset.synthetic, dataset.extract_date),
            started=started,
            seconds=seconds,
            notebooks=[(r.name, r.html.relative_to(folder.target).as_posix(), r.seconds) for r in runs],
        )
        write_index(folder.building, info)
        _scrub_local_paths(folder.building, parameters, folder)
        folder.commit()
    summary = ReportSummary(
        out_dir=folder.target,
        index=folder.target / "index.html",
        notebooks=tuple(runs),
        tables=sum(e["kind"] == "table" for e in entries),
        figures=sum(e["kind"] == "figure" for e in entries),
        comparisons=sum("comparison" in e for e in entries),
        seconds=seconds,
        synthetic=dataset.synthetic,
    )
    say(str(summary))
    return summary
