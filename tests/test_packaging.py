"""Packaging: environment.yml lists the same dependencies as pyproject.toml (core and every extra), the
distribution name is ``psmatch`` while the import name is ``psm``, the core stays light, and a missing
``newchance`` extra is reported by name."""

import re
from pathlib import Path

import pytest
import yaml

import psm.newchance

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
META = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: what matching, balance, effects, sensitivity and the plots import (patsy: formulas); the summaries
#: write their own text, HTML, LaTeX and Markdown, so neither tabulate nor jinja2 is needed.
CORE = {"numpy", "pandas", "scipy", "threadpoolctl", "statsmodels", "patsy", "matplotlib"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_specs() -> dict[str, str]:
    specs = list(META["dependencies"])
    for extra in META.get("optional-dependencies", {}).values():
        specs.extend(s for s in extra if _name(s) != META["name"])  # self-references name other extras
    return {_name(s): s.replace(" ", "") for s in specs}


def _conda_specs() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = [d for d in env["dependencies"] if isinstance(d, str)]
    return {_name(s): s.replace(" ", "") for s in specs if _name(s) not in {"python", "pip"}}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    assert _conda_specs() == _pyproject_specs()


def test_python_floor_agrees():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_python = next(d for d in env["dependencies"] if isinstance(d, str) and _name(d) == "python")
    assert conda_python.replace(" ", "").removeprefix("python") == META["requires-python"]


def test_distribution_name_is_free_and_import_name_is_psm():
    # "psm" on the package index is an unrelated project; the distribution is psmatch, the package psm
    assert META["name"] == "psmatch"
    assert yaml.safe_load((ROOT / "environment.yml").read_text())["name"] == "psmatch"
    assert "pip install psmatch" in (ROOT / "README.md").read_text()
    assert (ROOT / "src" / "psm" / "__init__.py").exists()


def test_core_is_light_and_the_report_stack_is_an_extra():
    assert {_name(s) for s in META["dependencies"]} == CORE
    extras = META["optional-dependencies"]
    assert {_name(s) for s in extras["newchance"]} == set(psm.newchance.EXTRA_MODULES.values())
    # the test extra pulls the report stack in, so make test / make reproduce have what they need
    assert "psmatch[newchance]" in extras["test"]
    assert "'.[test]'" in (ROOT / "Makefile").read_text()


def test_missing_extra_is_named(monkeypatch):
    real = psm.newchance.find_spec
    monkeypatch.setattr(psm.newchance, "find_spec", lambda m: None if m in ("pandera", "nbclient") else real(m))
    with pytest.raises(ImportError, match=r"missing: pandera, nbclient\). Install it with: pip install 'psmatch\[newchance\]'"):
        psm.newchance.check_extra()
