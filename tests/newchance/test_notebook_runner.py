"""psm.newchance.report.runner without a kernel: injection, stripping, cleanliness checks.

Execution itself is tested end to end in test_report.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from psm.newchance.report.runner import (
    INJECTED_TAG,
    NotebookExecutionError,
    inject_parameters,
    notebook_problems,
    strip_file,
    strip_outputs,
)


def _notebook(with_parameters: bool = True) -> nbformat.NotebookNode:
    cells = [new_markdown_cell("# Title"), new_code_cell("import math")]
    if with_parameters:
        cells.append(new_code_cell("seed = 1\ndata_dir = 'x'", metadata={"tags": ["parameters"]}))
    cells.append(new_code_cell("print(seed)"))
    return new_notebook(cells=cells)


def test_injected_cell_follows_the_parameters_cell():
    nb, position = inject_parameters(
        _notebook(),
        {"seed": 7, "data_dir": Path("/data/x"), "mapping": None, "extract_date": dt.date(2020, 1, 10), "flag": True},
    )
    assert position == 3
    cell = nb.cells[3]
    assert cell.metadata.tags == [INJECTED_TAG]
    lines = cell.source.splitlines()[1:]
    assert lines == ["seed = 7", "data_dir = '/data/x'", "mapping = None", "extract_date = '2020-01-10'", "flag = True"]
    # later assignments win when executed in order
    namespace: dict = {}
    for c in nb.cells[1:4]:
        exec(c.source, namespace)  # noqa: S102 - the test's own literals
    assert namespace["seed"] == 7 and namespace["data_dir"] == "/data/x"
    nbformat.validate(nb)


def test_without_a_parameters_cell_the_values_go_first_and_the_input_is_unchanged():
    source = _notebook(with_parameters=False)
    nb, position = inject_parameters(source, {"seed": 1})
    assert position == 0
    assert nb.cells[0].metadata.tags == [INJECTED_TAG]
    assert len(source.cells) == 3


def test_reinjecting_replaces_the_previous_injected_cell():
    once, _ = inject_parameters(_notebook(), {"seed": 1})
    twice, _ = inject_parameters(once, {"seed": 2})
    injected = [c for c in twice.cells if INJECTED_TAG in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "seed = 2" in injected[0].source


def test_unsupported_parameter_types_are_refused():
    with pytest.raises(TypeError, match="parameter 'cols'.*list"):
        inject_parameters(_notebook(), {"cols": ["a"]})


def test_strip_outputs_and_problems(tmp_path):
    nb, _ = inject_parameters(_notebook(), {"seed": 3})
    code = nb.cells[-1]
    code.outputs = [new_output("stream", name="stdout", text="3\n")]
    code.execution_count = 4
    code.metadata["execution"] = {"iopub.status.busy": "2020-01-01"}
    problems = notebook_problems(nb)
    assert problems == [
        "cell 4 is an injected-parameters cell",
        "cell 5 has outputs",
        "cell 5 has an execution count",
    ]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    assert strip_file(path) is True
    stripped = nbformat.read(path, as_version=4)
    assert notebook_problems(stripped) == []
    assert "execution" not in stripped.cells[-1].metadata
    assert stripped.cells[2].metadata.tags == ["parameters"]  # tags kept
    assert strip_file(path) is False  # already clean: not rewritten
    assert strip_outputs(stripped) is False


def test_execution_error_message_names_notebook_cell_heading_and_code():
    error = NotebookExecutionError("02_x.ipynb", 5, "Matching", "\n  fit(data)\nmore", "ValueError", "bad column 'age'")
    assert str(error) == (
        "notebook 02_x.ipynb failed at cell 5 (under 'Matching'): ValueError: bad column 'age'\n  code: fit(data)"
    )


@pytest.mark.slow
def test_a_shared_kernel_runs_notebooks_one_after_another_with_a_fresh_namespace(tmp_path):
    from psm.newchance.report.runner import SharedKernel, execute_notebook

    first = new_notebook(cells=[new_code_cell("import json\nsecret = 41\nimport os\npid = os.getpid()\npid")])
    second = new_notebook(cells=[new_code_cell("import os\nos.getpid()"),
                                 new_code_cell("'secret' in globals(), 'json' in globals()"),
                                 new_code_cell("import sys\n'json' in sys.modules")])  # fmt: skip
    kernel = SharedKernel()
    try:
        execute_notebook(first, name="first.ipynb", cwd=tmp_path, kernel=kernel)
        execute_notebook(second, name="second.ipynb", cwd=tmp_path, kernel=kernel)
    finally:
        kernel.close()
    result = [c.outputs[0]["data"]["text/plain"] for c in second.cells]
    assert result[0] == first.cells[0].outputs[0]["data"]["text/plain"]  # the same kernel process
    assert result[1] == "(False, False)"  # nothing the first notebook defined
    assert result[2] == "True"  # but its imports are still loaded: that is the saving
    assert [c.execution_count for c in second.cells] == [1, 2, 3]
    assert kernel.km is None
