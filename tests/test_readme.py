"""The README's Python examples run as written, in order, on the shipped data, and give the numbers the
README states."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_readme_has_python_examples():
    assert len(_python_blocks()) >= 2


def test_readme_python_blocks_run_in_order(capsys):
    namespace: dict = {}
    for block in _python_blocks():
        exec(compile(block, str(README), "exec"), namespace)  # noqa: S102 - the README's own code
    eff, res, md = namespace["eff"], namespace["res"], namespace["md"]
    text = README.read_text(encoding="utf-8")
    att, se, se_ai = eff.matched.difference, eff.matched.se, eff.se_ai
    assert f"ATT on 1978 earnings is {att:.2f} dollars" in text
    assert f"approximate SE {se:.2f} and the Abadie–Imbens\nSE {se_ai:.2f}" in text
    assert (round(att, 2), round(se_ai, 2)) == (1968.80, 1085.82)
    assert res.effect.matched.difference == pytest.approx(att)
    assert md["weights"].sum() == pytest.approx(2 * 185)
    assert "race=black" in capsys.readouterr().out  # every level in the balance table
    assert namespace["atc"].estimand == "ATU"
