"""The package's layout: imports flow one way and no module grows past a size a reader can hold.

``psm`` (the general library) never imports ``psm.newchance`` (the evaluation). Inside
``psm.newchance`` the stages are folders and data flow downward,
``cli`` → ``report`` → ``analysis`` → ``preparation`` → ``inputs``, with ``published`` (the
evaluation's numbers) and ``synthetic`` (the simulated data) beside them; every import, including one
inside a function, is checked, and the module graph has no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
MAX_LINES = 600

#: stage -> the stages its modules may import (its own stage always allowed).
ALLOWED = {
    "cli": {"report", "analysis", "preparation", "inputs", "published", "synthetic"},
    "report": {"analysis", "preparation", "inputs", "published", "synthetic"},
    "analysis": {"preparation", "inputs", "published", "synthetic"},
    "published": {"preparation", "inputs"},
    "synthetic": {"preparation", "inputs"},
    "preparation": {"inputs"},
    "inputs": set(),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / "psm").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _resolve(name: str) -> str:
    """The longest known module a dotted name refers to (``psm.x.y.Name`` -> ``psm.x.y``)."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _imports(module: str) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    package = module if MODULES[module].name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {_resolve(a.name) for a in node.names if a.name.startswith("psm")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("psm"):
                found |= {_resolve(f"{base}.{a.name}") for a in node.names}
    return found - {module}


GRAPH = {m: _imports(m) for m in MODULES}


def _stage(module: str) -> str | None:
    parts = module.split(".")
    if parts[:2] != ["psm", "newchance"] or len(parts) < 3:
        return None
    return parts[2] if parts[2] in ALLOWED else None


def test_the_library_never_imports_the_evaluation():
    offenders = sorted(
        f"{m} imports {i}" for m, deps in GRAPH.items() if not m.startswith("psm.newchance")
        for i in deps if i.startswith("psm.newchance")
    )
    assert offenders == []


def test_every_module_of_the_evaluation_belongs_to_a_stage():
    loose = sorted(m for m in MODULES if m.startswith("psm.newchance.") and _stage(m) is None
                   and m not in {"psm.newchance.__main__"})
    assert loose == []


def test_imports_between_stages_flow_downward():
    upward = sorted(
        f"{m} ({_stage(m)}) imports {i} ({_stage(i)})"
        for m, deps in GRAPH.items() if _stage(m)
        for i in deps if _stage(i) and _stage(i) != _stage(m) and _stage(i) not in ALLOWED[_stage(m)]
    )
    assert upward == []


def test_the_module_graph_has_no_circle():
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(GRAPH.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(path[path.index(nxt):] + [nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for module in sorted(GRAPH):
        if module not in state:
            visit(module, [module])
    assert circles == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_is_longer_than_a_reader_can_hold(module):
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{MODULES[module].relative_to(SRC)} has {lines} lines"


def test_the_checker_sees_an_upward_import_and_a_circle(monkeypatch):
    """The rules above can fail: a fake upward import and a fake circle are reported."""
    fake = dict(GRAPH)
    fake["psm.newchance.inputs.io"] = GRAPH["psm.newchance.inputs.io"] | {"psm.newchance.report.build"}
    stage_of = {m: _stage(m) for m in fake}
    assert "report" not in ALLOWED[stage_of["psm.newchance.inputs.io"]]
    monkeypatch.setitem(GRAPH, "psm.newchance.inputs.io", fake["psm.newchance.inputs.io"])
    with pytest.raises(AssertionError):
        test_imports_between_stages_flow_downward()
    monkeypatch.setitem(GRAPH, "psm.newchance.report.build", GRAPH["psm.newchance.report.build"] | {"psm.newchance.inputs.io"})
    with pytest.raises(AssertionError):
        test_the_module_graph_has_no_circle()
