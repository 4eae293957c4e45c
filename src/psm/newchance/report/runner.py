"""Run notebooks headless: parameter injection, execution with progress, HTML export, output stripping.

Parameters are injected the way papermill does it, with nbformat only: the notebook's cell tagged
``parameters`` holds the defaults (for interactive use); a new code cell tagged
``injected-parameters`` is inserted right after it with the run's values, so they override the
defaults and the executed notebook shows both. A notebook without a ``parameters`` cell gets the
injected cell first. (papermill would add a dependency for these ~20 lines; nbclient, which it uses
underneath, is used directly.)

Execution uses :class:`nbclient.NotebookClient` with the ``python3`` kernel, which jupyter_client
starts with the running interpreter (``sys.executable``), so the kernel sees the same installed
``psm``. Cell timings are not recorded, so executed notebooks depend only on their inputs. Every
running kernel is registered, so that :func:`kill_kernels` can stop them all at once when one notebook
fails or the run is interrupted (notebooks run in threads, which cannot be interrupted otherwise).

A :class:`SharedKernel` runs several notebooks one after another in one kernel, so that the kernel's
start-up and the imports (about three seconds of CPU per notebook) are paid once per report worker
instead of once per notebook. Before each notebook after the first, the kernel's namespace is cleared
(``%reset -f``) and open figures are closed, so a notebook sees only what it defines; modules stay
imported. Execution counts in the executed notebook are nbclient's own (1, 2, ...), whichever kernel ran
it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
import re
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from psm.errors import PSMError

__all__ = [
    "INJECTED_TAG",
    "PARAMETERS_TAG",
    "NotebookExecutionError",
    "SharedKernel",
    "execute_notebook",
    "export_html",
    "inject_parameters",
    "kill_kernels",
    "notebook_problems",
    "strip_file",
    "strip_outputs",
]

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_RUNNING: set[NotebookClient] = set()
_RUNNING_LOCK = threading.Lock()


class NotebookExecutionError(PSMError, RuntimeError):
    """A notebook cell raised (or timed out, or the kernel died) during a headless run.

    ``notebook`` is the notebook's file name, ``cell`` the 1-based number of the failing cell in the
    notebook as stored (injected cells not counted), ``heading`` the last markdown heading above it,
    ``ename``/``evalue`` the Python exception name and message; ``partial`` the notebook as far as it
    ran (with the error output), set by :func:`execute_notebook`.
    """

    partial: NotebookNode | None = None
    kept: Path | None = None

    def __init__(self, notebook: str, cell: int | None, heading: str, source: str, ename: str, evalue: str):
        self.notebook, self.cell, self.heading = notebook, cell, heading
        self.source, self.ename, self.evalue = source, ename, evalue
        where = f"cell {cell}" if cell is not None else "start-up"
        if heading:
            where += f" (under '{heading}')"
        first_line = next((line for line in source.splitlines() if line.strip()), "")
        code = f"\n  code: {first_line.strip()[:120]}" if first_line else ""
        super().__init__(f"notebook {notebook} failed at {where}: {ename}: {evalue}{code}")


def _literal(name: str, value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    elif isinstance(value, dt.date):
        value = value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return f"{name} = {value!r}"
    raise TypeError(f"parameter {name!r}: cannot inject a {type(value).__name__}; use str, int, float, bool, None, date or Path")


def _tags(cell: NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, Any]) -> tuple[NotebookNode, int]:
    """A copy of ``nb`` with an ``injected-parameters`` cell; returns (notebook, position of that cell).

    Any injected cell already present (from an earlier run) is removed first. Values may be str, int,
    float, bool, None, :class:`~pathlib.Path` (injected as str) or :class:`datetime.date` (ISO str).
    """
    nb = copy.deepcopy(nb)
    nb.cells = [cell for cell in nb.cells if INJECTED_TAG not in _tags(cell)]
    source = "# Parameters injected by the report command\n" + "\n".join(
        _literal(name, value) for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    if "id" in cell:  # a fixed id keeps executed notebooks reproducible
        cell.id = INJECTED_TAG
    position = next((i + 1 for i, c in enumerate(nb.cells) if PARAMETERS_TAG in _tags(c)), 0)
    nb.cells.insert(position, cell)
    return nb, position


def _heading(cell: NotebookNode) -> str | None:
    if cell.cell_type != "markdown":
        return None
    for line in cell.source.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return None


def _headings(nb: NotebookNode) -> list[str]:
    """For each cell, the last markdown heading at or above it ('' before the first)."""
    current, result = "", []
    for cell in nb.cells:
        current = _heading(cell) or current
        result.append(current)
    return result


_FRESH_NAMESPACE = "%reset -f\nimport matplotlib.pyplot as _plt\n_plt.close('all')\ndel _plt"


class SharedKernel:
    """A kernel kept between notebooks (see the module notes); :meth:`close` shuts it down."""

    def __init__(self) -> None:
        self.km: Any = None
        self.notebooks = 0

    def close(self) -> None:
        if self.km is not None and self.km.has_kernel:
            from jupyter_client.utils import run_sync

            run_sync(self.km.shutdown_kernel)(now=True)
        self.km = None


def execute_notebook(
    nb: NotebookNode,
    *,
    name: str,
    cwd: Path,
    injected_at: int | None = None,
    timeout: int = 600,
    on_cell: Callable[[int, int, str], None] | None = None,
    kernel: SharedKernel | None = None,
) -> NotebookNode:
    """Execute ``nb`` in place in a fresh kernel started in ``cwd`` (or in ``kernel``, with a fresh
    namespace) and return it.

    ``on_cell(k, n, heading)`` is called before each code cell (k-th of n code cells). On failure
    the partially executed notebook is attached to the raised :class:`NotebookExecutionError` as
    ``.partial`` (it holds the error output), so the caller can still export it.
    """
    headings = _headings(nb)
    code_cells = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    current: dict[str, int | None] = {"index": None}

    def started(cell: NotebookNode, cell_index: int, **_: Any) -> None:
        current["index"] = cell_index
        if on_cell is not None and cell.cell_type == "code":
            on_cell(code_cells.index(cell_index) + 1, len(code_cells), headings[cell_index])

    async def fresh_namespace(**_: Any) -> None:
        if kernel is not None and kernel.notebooks > 0:  # what the previous notebook defined is gone
            await client.async_wait_for_reply(client.kc.execute(_FRESH_NAMESPACE, silent=True, store_history=False))

    client = NotebookClient(
        nb,
        km=None if kernel is None else kernel.km,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no start-up warnings on the terminal
        resources={"metadata": {"path": str(cwd)}},
        on_cell_start=started,
        on_notebook_start=fresh_namespace,
    )
    if kernel is not None:
        if kernel.km is None:
            kernel.km = client.create_kernel_manager()
        client.owns_km = False  # kept for the next notebook; SharedKernel.close shuts it down
    with _RUNNING_LOCK:
        _RUNNING.add(client)
    try:
        client.execute(env=_kernel_env())
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        error = _execution_error(nb, name, current["index"], injected_at, headings, exc)
        error.partial = nb
        raise error from None
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(client)
        if kernel is not None:
            kernel.notebooks += 1
            if client.kc is not None:
                client.kc.stop_channels()
    return nb


def kill_kernels() -> int:
    """Kill the kernel process of every notebook being executed (in any thread); return how many.

    Their :func:`execute_notebook` calls then fail at once with a dead kernel, instead of running to
    the end of their notebooks.
    """
    with _RUNNING_LOCK:
        clients = list(_RUNNING)
    killed = 0
    for client in clients:
        process = getattr(getattr(client.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()
            killed += 1
    return killed


def _kernel_env() -> dict[str, str]:
    """The kernel's environment: ours, with the folder that holds the running ``psm`` first on
    PYTHONPATH, so the kernel imports the same ``psm`` (installed or source tree) as the caller."""
    import psm

    root = str(Path(psm.__file__).resolve().parents[1])
    paths = [root, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != root]]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _execution_error(
    nb: NotebookNode, name: str, index: int | None, injected_at: int | None, headings: list[str], exc: Exception
) -> NotebookExecutionError:
    if index is None:
        return NotebookExecutionError(name, None, "", "", type(exc).__name__, _ANSI.sub("", str(exc)))
    stored = index + 1 - (1 if injected_at is not None and index > injected_at else 0)
    if isinstance(exc, CellExecutionError):
        ename, evalue = exc.ename, exc.evalue
    else:
        ename, evalue = type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""
    return NotebookExecutionError(name, stored, headings[index], nb.cells[index].source, ename, _ANSI.sub("", evalue))


def export_html(nb: NotebookNode, *, title: str) -> str:
    """The notebook as a standalone HTML page (nbconvert's ``lab`` template; inputs and prompts shown,
    figures embedded)."""
    body, _ = _html_exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body


@functools.cache
def _html_exporter() -> Any:
    """One exporter per process: loading its templates is the slow part of an export."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab", exclude_input=False, exclude_output_prompt=False, exclude_input_prompt=False)


def strip_outputs(nb: NotebookNode) -> bool:
    """Remove outputs, execution counts, per-cell execution metadata and injected-parameter cells.

    Returns True if anything changed. Tags and other metadata are kept.
    """
    changed = False
    kept = [cell for cell in nb.cells if INJECTED_TAG not in _tags(cell)]
    if len(kept) != len(nb.cells):
        nb.cells = kept
        changed = True
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if cell.get("outputs") or cell.get("execution_count") is not None:
            cell.outputs, cell.execution_count = [], None
            changed = True
        if "execution" in cell.get("metadata", {}):
            del cell.metadata["execution"]
            changed = True
    if "widgets" in nb.metadata:
        del nb.metadata["widgets"]
        changed = True
    return changed


def strip_file(path: Path) -> bool:
    """Strip one notebook file in place (see :func:`strip_outputs`); True if it was rewritten."""
    nb = nbformat.read(path, as_version=4)
    if not strip_outputs(nb):
        return False
    nbformat.write(nb, path)
    return True


def notebook_problems(nb: NotebookNode) -> list[str]:
    """Why a notebook is not clean for committing: cells with outputs or execution counts,
    injected-parameter cells (empty list when clean)."""
    problems = []
    for number, cell in enumerate(nb.cells, start=1):
        if INJECTED_TAG in _tags(cell):
            problems.append(f"cell {number} is an injected-parameters cell")
        if cell.cell_type == "code" and cell.get("outputs"):
            problems.append(f"cell {number} has outputs")
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            problems.append(f"cell {number} has an execution count")
    return problems
