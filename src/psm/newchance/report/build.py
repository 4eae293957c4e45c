"""The report command: run the notebooks headless and write a complete, linked ``reports/`` folder.

``python -m psm.newchance report DATA_DIR --out reports`` (its handler is in :mod:`psm.newchance.cli`)
calls :func:`build_report`, which

1. loads and validates the data folder once (:func:`psm.newchance.inputs.dataset.load_dataset`), so that
   problems in supplied data are reported in full before any notebook starts, and saves the validated
   dataset for the notebooks (:func:`psm.newchance.report.session.save_dataset`), which read it instead
   of validating again;
2. prepares the output folder (a folder written by an earlier run is cleared of its old outputs; a
   non-empty folder that is not a report is refused, so no one's files are deleted);
3. executes each notebook (sorted by file name) in a fresh kernel, injecting the parameters
   ``data_dir, mapping, extract_date, min_count, out_dir, synthetic, notebook_name, dataset_file`` after the
   cell tagged ``parameters`` (see :mod:`psm.newchance.report.runner`), printing which notebook and
   which cell is running;
4. saves each executed notebook as ``notebooks/<name>.html`` (a SYNTHETIC DATA banner cell on top
   for synthetic data);
5. writes ``index.html`` and ``index.md`` (:mod:`psm.newchance.report.index`) and a summary. A
   ``README.md`` in the folder (the repository keeps one in ``reports/``) is left as it is.

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
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import nbformat

from psm.errors import PSMError
from psm.newchance.report.runner import (
    NotebookExecutionError,
    execute_notebook,
    export_html,
    inject_parameters,
)
from psm.newchance.inputs.dataset import load_dataset
from psm.newchance.report.index import DatasetInfo, RunInfo, write_index
from psm.newchance.report.session import dataset_key, locate, save_dataset
from psm.newchance.report.writer import MANIFEST_PARTS, SYNTHETIC_BANNER, ReportWriter, finalise_manifest

__all__ = [
    "NotebookRun",
    "ReportError",
    "ReportSummary",
    "build_report",
    "default_notebook_dir",
    "find_notebooks",
    "locate",
]

MARKER = ".psm-report"
_OWNED = ("notebooks", "tables", "figures", "index.html", "index.md", "manifest.json", MANIFEST_PARTS)
_KEPT = {"README.md", ".gitignore"}  # a note about the folder may sit in it; never touched


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


DATASET_FILE = "dataset.pickle"


def _dataset_info(
    data_dir: Path | str, mapping: Path | str | None, extract_date: dt.date | None, workdir: Path
) -> tuple[DatasetInfo, Path]:
    """Validate the data folder once (raises ``DataValidationError`` listing every problem), save the
    validated dataset into ``workdir`` for the notebooks, and describe it."""
    loaded = load_dataset(data_dir, mapping=mapping, extract_date=extract_date)
    saved = save_dataset(loaded, dataset_key(data_dir, mapping, extract_date), workdir / DATASET_FILE)
    return DatasetInfo(
        path=Path(data_dir).resolve(),
        description=loaded.description,
        synthetic=loaded.synthetic,
        extract_date=loaded.extract_date.isoformat(),
    ), saved


def _prepare_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise ReportError(f"output path {out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(p.name not in _KEPT for p in out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise ReportError(
            f"output folder {out_dir} is not empty and was not written by this command; "
            "choose an empty or new folder (nothing was deleted)"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in _OWNED:
        target = out_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    (out_dir / MARKER).write_text("written by python -m psm.newchance report; cleared on the next run\n", "utf-8")


def _back_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell("[← Back to the report index](../index.html)")
    cell.id = "report-back-link"
    return cell


def _banner_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell(
        f"<div style=\"background:#b00020;color:#fff;font-weight:bold;padding:.6em\">{SYNTHETIC_BANNER}: "
        f"every number below comes from made-up people, not from the New Chance evaluation.</div>"
    )
    cell.id = "synthetic-banner"
    return cell


def _run_one(
    path: Path, parameters: dict[str, object], dataset: DatasetInfo, out_dir: Path, workdir: Path,
    timeout: int, progress: Callable[[str], None],
) -> NotebookRun:  # fmt: skip
    start = time.perf_counter()
    source = nbformat.read(path, as_version=4)
    nb, injected_at = inject_parameters(source, {**parameters, "notebook_name": path.stem})
    html = out_dir / "notebooks" / f"{path.stem}.html"
    html.parent.mkdir(parents=True, exist_ok=True)

    def on_cell(k: int, n: int, heading: str) -> None:
        progress(f"      {path.stem}: cell {k}/{n}" + (f" · {heading}" if heading else ""))

    try:
        nb = execute_notebook(nb, name=path.name, cwd=workdir, injected_at=injected_at, timeout=timeout, on_cell=on_cell)
    except NotebookExecutionError as error:
        if error.partial is not None:
            html.write_text(export_html(error.partial, title=path.stem), "utf-8")
        raise
    if dataset.synthetic:
        nb.cells.insert(0, _banner_cell())
    nb.cells.insert(0, _back_cell())
    html.write_text(export_html(nb, title=path.stem), "utf-8")
    code_cells = sum(cell.cell_type == "code" for cell in source.cells)
    return NotebookRun(path.name, html, time.perf_counter() - start, code_cells)


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
    ``synthetic`` (from dataset.yaml), ``notebook_name`` (the file's stem) and ``dataset_file`` (the
    validated dataset, see :mod:`psm.newchance.report.session`; removed when the run ends). ``progress`` receives one
    line per step (default: silent); ``timeout`` is per cell, in seconds. ``jobs`` notebooks run at
    the same time, each in its own kernel (they share nothing but the output folder, where each writes
    its own sub-folders and manifest part); the summary lists them in file-name order whatever the
    order they finish in.

    Raises :class:`~psm.errors.DataValidationError` (every problem of the data folder, before any
    notebook runs), :class:`ReportError` for an unusable notebook list or output folder, and
    :class:`NotebookExecutionError` naming the notebook and cell when a notebook fails (its partial
    HTML is still written; the index is not).
    """
    say = progress or (lambda _line: None)
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ReportError(f"min_count must be an integer >= 1, got {min_count!r}")
    paths = find_notebooks(notebooks)
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ReportError(f"jobs must be an integer >= 1, got {jobs!r}")
    with tempfile.TemporaryDirectory(prefix="psm-report-") as workdir:
        say(f"Checking the data folder {data_dir}")
        dataset, dataset_file = _dataset_info(data_dir, mapping, extract_date, Path(workdir))
        out_dir = Path(out_dir).resolve()
        _prepare_out_dir(out_dir)
        parameters: dict[str, object] = {
            "data_dir": str(dataset.path),
            "mapping": str(Path(mapping).resolve()) if mapping is not None else None,
            "extract_date": extract_date.isoformat() if extract_date is not None else None,
            "min_count": min_count,
            "out_dir": str(out_dir),
            "synthetic": dataset.synthetic,
            "dataset_file": str(dataset_file),
        }
        kind = SYNTHETIC_BANNER if dataset.synthetic else "supplied data"
        say(f"Report on {dataset.path} ({kind}) -> {out_dir}: {len(paths)} notebooks")

        def run(number: int, path: Path) -> NotebookRun:
            say(f"[{number}/{len(paths)}] {path.name}")
            result = _run_one(path, parameters, dataset, out_dir, Path(workdir), timeout, say)
            say(f"      {path.stem}: done in {result.seconds:.1f} s -> {result.html.relative_to(out_dir).as_posix()}")
            return result

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(run, number, path) for number, path in enumerate(paths, start=1)]
            try:
                runs = [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    entries = finalise_manifest(out_dir)
    seconds = time.perf_counter() - clock
    info = RunInfo(
        parameters={k: v for k, v in parameters.items() if k not in {"out_dir", "synthetic", "dataset_file"}},
        dataset=dataset,
        started=started,
        seconds=seconds,
        notebooks=[(r.name, r.html.relative_to(out_dir).as_posix(), r.seconds) for r in runs],
    )
    index = write_index(out_dir, info)
    summary = ReportSummary(
        out_dir=out_dir,
        index=index,
        notebooks=tuple(runs),
        tables=sum(e["kind"] == "table" for e in entries),
        figures=sum(e["kind"] == "figure" for e in entries),
        comparisons=sum("comparison" in e for e in entries),
        seconds=seconds,
        synthetic=dataset.synthetic,
    )
    say(str(summary))
    return summary
