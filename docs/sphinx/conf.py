"""Sphinx configuration of the API reference (``make docs``; tests/test_sphinx_docs.py builds it with
``-W --keep-going -n``, so any warning or broken reference fails).

The API page is not kept by hand: ``api.md`` here is a stub whose text is replaced, when Sphinx reads
it, by autodoc directives for every public name in ``docs/build_api.py``'s sections, the same list that
writes ``docs/api.md``. The guides for Stata and MatchIt/cobalt users are included from ``docs/``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "src"))

_spec = importlib.util.spec_from_file_location("build_api", HERE.parent / "build_api.py")
build_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_api)

project = "psmatch"
author = "psmatch contributors"
extensions = ["sphinx.ext.autodoc", "numpydoc", "myst_parser"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
myst_heading_anchors = 3

autodoc_typehints = "none"  # parameters' types are in the numpydoc sections
autodoc_member_order = "bysource"
numpydoc_show_class_members = False  # members come from autodoc's :members:
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

#: outside names a docstring may name in a ``See Also`` or a role; no intersphinx, so no network
nitpick_ignore_regex = [("py:.*", r"(pd|pandas|np|numpy|statsmodels|scipy|matplotlib)\..*")]


def _replace_api_stub(app, docname: str, source: list[str]) -> None:
    if docname == "api":
        source[0] = build_api.render_sphinx()


def setup(app):
    app.connect("source-read", _replace_api_stub)
