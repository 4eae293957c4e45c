"""One way into the data for every notebook: parameters in, loaded and validated data out.

Each notebook's first code cell is::

    from psm.newchance.report.session import open_notebook
    nb = open_notebook(data_dir, mapping=mapping, extract_date=extract_date, min_count=min_count,
                       out_dir=out_dir, notebook_name=notebook_name, dataset_file=dataset_file)

and then uses ``nb.dataset`` (validated raw data), ``nb.analysis`` (the analysis file as published),
``nb.files`` (every analysis file the specifications need, prepared once) and ``nb.report``
(the :class:`~psm.newchance.report.writer.ReportWriter` of this notebook).

Each parameter is parsed once, here: ``data_dir`` and ``mapping`` are found from the current folder or
any folder above it (:func:`locate`: the notebooks open from the repository root, from ``notebooks/`` or
from the package folder alike), ``extract_date`` may be an ISO string or a date, ``min_count`` must be
an integer >= 1.

Opening a notebook also sets pandas to show floats without scientific notation
(:func:`psm.newchance.report.formatting.display_float`), so displayed tables read like the written ones,
and, in IPython, shows a figure the report writer has saved as that PNG (:func:`show_saved_figures`)
instead of drawing it again.

Validation happens once per report. The report command validates the data folder before any notebook
starts and saves the validated :class:`~psm.newchance.inputs.dataset.Dataset` with :func:`save_dataset`
next to a *key* (data folder, mapping file, extract date); it passes the file as ``dataset_file``.
:func:`open_notebook` uses that file only when its key equals the key of its own parameters, and
validates the folder itself otherwise (interactive use, or a notebook run with other parameters).
"""

from __future__ import annotations

import datetime as dt
import pickle
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from psm.newchance.inputs.dataset import Dataset, load_dataset
from psm.newchance.analysis.specification import prepare_files
from psm.newchance.preparation.prepare import AnalysisFile
from psm.newchance.report.formatting import display_float
from psm.newchance.report.writer import SAVED_PNG, ReportWriter

__all__ = ["DatasetKey", "NotebookSession", "dataset_key", "load_saved_dataset", "locate", "open_notebook",
           "parse_extract_date", "save_dataset", "show_saved_figures"]

DatasetKey = tuple[str, str | None, str | None]


def locate(path: str | Path) -> Path:
    """Resolve ``path`` as given, else relative to the current folder's parents (nearest first).

    ``locate("data/synthetic")`` finds the repository's synthetic data from the repository root, from
    ``notebooks/`` and from ``src/psm/newchance/notebooks/``. Absolute paths (as the report command
    passes them) are returned unchanged if they exist.
    """
    path = Path(path)
    candidates = [path] if path.is_absolute() else [base / path for base in (Path.cwd(), *Path.cwd().parents)]
    for candidate in candidates:
        if candidate.exists():
            return candidate.resolve()
    raise FileNotFoundError(f"{path} not found in {Path.cwd()} or any folder above it; pass the full path")


def parse_extract_date(value: str | dt.date | None) -> dt.date | None:
    """``None``, a :class:`datetime.date`, or an ISO ``YYYY-MM-DD`` string, as a date."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"extract_date must be an ISO date YYYY-MM-DD, a date or None, got {value!r}")


def dataset_key(data_dir: str | Path, mapping: str | Path | None, extract_date: dt.date | None) -> DatasetKey:
    """What a validated dataset depends on: the resolved data folder and mapping file, and the extract
    date given on the command line (None: the one in ``dataset.yaml``)."""
    return (
        str(Path(data_dir).resolve()),
        None if mapping is None else str(Path(mapping).resolve()),
        None if extract_date is None else extract_date.isoformat(),
    )


def save_dataset(dataset: Dataset, key: DatasetKey, path: str | Path) -> Path:
    """Save a validated dataset with its key (read back by :func:`load_saved_dataset`)."""
    path = Path(path)
    path.write_bytes(pickle.dumps({"key": key, "dataset": dataset}, protocol=pickle.HIGHEST_PROTOCOL))
    return path


def load_saved_dataset(path: str | Path | None, key: DatasetKey) -> Dataset | None:
    """The dataset saved at ``path`` if it was saved under ``key``; None if there is none or it is
    another one. Only files written by :func:`save_dataset` (the report command's own) are read."""
    if path is None or not Path(path).is_file():
        return None
    saved = pickle.loads(Path(path).read_bytes())
    return saved["dataset"] if saved.get("key") == key else None


@dataclass(frozen=True)
class NotebookSession:
    """What a notebook works with: the validated dataset, its analysis files and its report writer.

    ``extract_date_given``: the extract date came from the parameters (the command line), not from
    ``dataset.yaml``. ``mapping``: the mapping file given, or None (``dataset.yaml``'s, if any).
    """

    dataset: Dataset
    report: ReportWriter
    mapping: Path | None
    extract_date_given: bool

    @property
    def synthetic(self) -> bool:
        return self.dataset.synthetic

    @property
    def analysis(self) -> AnalysisFile:
        """The analysis file as published (prepared once per notebook)."""
        return self.files["published"]

    @cached_property
    def files(self) -> dict[str, AnalysisFile]:
        """The analysis files every specification needs (as published, equal follow-up, the other
        crime-type precedence...: :func:`psm.newchance.analysis.specification.prepare_files`)."""
        return prepare_files(self.dataset)


def _shell() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with the report's dependencies
        return None
    return get_ipython()


def show_saved_figures(shell: Any) -> None:
    """Make ``shell`` (IPython, or None outside it) display a figure saved by
    :meth:`~psm.newchance.report.writer.ReportWriter.figure` as the saved PNG, unless the figure changed
    since; other figures are drawn as before. Installed once per PNG formatter."""
    if shell is None:
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    try:
        draw = formatter.lookup_by_type(Figure)
    except KeyError:
        draw = None
    if getattr(draw, "shows_saved_figures", False):
        return

    def png(fig: Figure) -> Any:
        saved = getattr(fig, SAVED_PNG, None)
        if saved is not None and not fig.stale:
            return saved
        return draw(fig) if draw is not None else None

    png.shows_saved_figures = True  # type: ignore[attr-defined]
    formatter.for_type(Figure, png)


def open_notebook(
    data_dir: str | Path,
    *,
    mapping: str | Path | None = None,
    extract_date: str | dt.date | None = None,
    min_count: int = 10,
    out_dir: str | Path | None = None,
    notebook_name: str = "main",
    dataset_file: str | Path | None = None,
) -> NotebookSession:
    """Parse a notebook's parameters, load the validated data (from the report's saved copy when it
    matches, else by validating the folder) and open the notebook's report writer.

    Raises ``FileNotFoundError`` for a data folder or mapping file that cannot be found,
    ``ValueError`` for a bad ``extract_date`` or ``min_count``, and
    :class:`~psm.newchance.inputs.problems.DataValidationError` listing every problem of the data.
    """
    if isinstance(min_count, bool) or not isinstance(min_count, int) or min_count < 1:
        raise ValueError(f"min_count must be an integer >= 1, got {min_count!r}")
    folder = locate(data_dir)
    mapping_path = locate(mapping) if mapping not in (None, "") else None
    date = parse_extract_date(extract_date)
    key = dataset_key(folder, mapping_path, date)
    dataset = load_saved_dataset(dataset_file, key) or load_dataset(folder, mapping=mapping_path, extract_date=date)
    report = ReportWriter(out_dir, synthetic=dataset.synthetic, min_count=min_count, section=notebook_name)
    shell = _shell()
    if shell is not None:  # a notebook's display only: a plain Python process keeps its own options
        pd.set_option("display.float_format", display_float)
    show_saved_figures(shell)
    return NotebookSession(dataset=dataset, report=report, mapping=mapping_path, extract_date_given=date is not None)
