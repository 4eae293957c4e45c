"""Notebooks are committed without outputs, so diffs stay readable.

Every ``.ipynb`` under ``notebooks/`` and ``src/psm/newchance/notebooks/`` must have no outputs, no
execution counts and no injected-parameters cell. To clean them:
``python -m psm.newchance strip`` (packaged notebooks) or ``... --strip PATH ...``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    p for folder in (ROOT / "notebooks", ROOT / "src" / "psm" / "newchance" / "notebooks")
    for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts
)  # fmt: skip


def test_there_are_notebooks_to_check():
    assert NOTEBOOKS, "no notebooks found; the report needs at least src/psm/newchance/notebooks/00_data.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_notebook_is_committed_clean(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        f"cell {number}: {what}"
        for number, cell in enumerate(nb.cells, start=1)
        for what, bad in (
            ("outputs", cell.cell_type == "code" and bool(cell.get("outputs"))),
            ("execution count", cell.cell_type == "code" and cell.get("execution_count") is not None),
            ("injected parameters", "injected-parameters" in cell.get("metadata", {}).get("tags", [])),
        )
        if bad
    ]
    assert not dirty, f"{path.name} has {dirty}; run: python -m psm.newchance strip {path}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.relative_to(ROOT).as_posix() for p in NOTEBOOKS])
def test_notebook_has_a_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: exactly one cell must be tagged 'parameters'"
