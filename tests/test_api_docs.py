"""The API reference: docs/api.md is generated from the docstrings and up to date, every public name has
a docstring, the guides for Stata and MatchIt users name only things that exist, and the docstrings'
examples run (doctest)."""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil
import re
from pathlib import Path

import pytest

import psm

DOCS = Path(__file__).resolve().parents[1] / "docs"
_spec = importlib.util.spec_from_file_location("build_api", DOCS / "build_api.py")
build_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_api)


def _headings(text: str) -> set[str]:
    return {re.sub(r"\(.*", "", h) for h in re.findall(r"^#{3,4} `([^`]+)`", text, flags=re.M)}


def test_api_md_documents_every_public_name():
    # the names, not the text: a reworded docstring does not fail the suite; `make docs` refreshes it
    on_disk = _headings((DOCS / "api.md").read_text(encoding="utf-8"))
    assert on_disk == _headings(build_api.render()), "docs/api.md is missing or has extra names: run `make docs`"
    assert {"psm.match", "psm.Summary.as_latex", "psm.datasets.lalonde", "psm.Matching.matched_data"} <= on_disk


def test_every_public_name_and_member_has_a_docstring():
    undocumented = []
    for name, obj in build_api.public_names().items():
        if not build_api._doc(obj):
            undocumented.append(name)
        if isinstance(obj, type) and not issubclass(obj, BaseException):
            for member, value in build_api.members(obj).items():
                target = value.fget if isinstance(value, property) else getattr(value, "func", value)
                if not build_api._doc(target):
                    undocumented.append(f"{name}.{member}")
    assert not undocumented, undocumented


def _resolve(dotted: str) -> object:
    obj = psm
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


@pytest.mark.parametrize("page", ["stata.md", "matchit.md", "api.md"])
def test_guides_reference_only_existing_names_and_pages(page):
    text = (DOCS / page).read_text(encoding="utf-8")
    names = set(re.findall(r"\bpsm(?:\.[A-Za-z_]\w*)+", text))
    assert names
    broken = []
    for name in names:
        try:
            _resolve(name)
        except AttributeError:
            broken.append(name)
    assert not broken, broken
    for link in re.findall(r"\]\(([^)#:]+\.md)\)", text):
        assert (DOCS / link).exists(), link
    for path in re.findall(r"`(examples/\w+\.py)`", text):
        assert (DOCS.parent / path).exists(), path


def _library_modules():
    for info in pkgutil.walk_packages(psm.__path__, "psm."):
        if not info.name.startswith("psm.newchance"):
            yield info.name


@pytest.mark.parametrize("module", sorted(_library_modules()))
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_every_public_function_and_result_class_has_an_examples_section():
    # errors are shown by the base class's example (psm.PSMError); everything else carries its own
    # numpydoc Examples section (a doctest, run by test_docstring_examples_run, or a pointer to one)
    without = {name for name, obj in build_api.public_names().items()
               if not (isinstance(obj, type) and issubclass(obj, BaseException) and obj is not psm.PSMError)
               and "Examples\n--------\n" not in build_api._doc(obj)}
    assert without == set()
