"""Every script in examples/ runs as written and prints what it promises."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import matplotlib
import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))
EXPECTED = {  # a line each example must print
    "matchit_workflow.py": ["| race=black |", "cluster-robust SE", "Love plot written"],
    "psmatch2_workflow.py": ["Abadie-Imbens (2006) S.E. of ATT for re78", "race=black", "Mantel-Haenszel"],
}


def test_every_example_is_checked():
    assert sorted(p.name for p in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path, monkeypatch, capsys):
    matplotlib.use("Agg")
    monkeypatch.setattr(sys, "argv", [str(script), str(tmp_path)])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    for expected in EXPECTED[script.name]:
        assert expected in out, expected
    if script.name == "matchit_workflow.py":
        assert (tmp_path / "love_plot.png").stat().st_size > 1000
