"""The Sphinx API reference (docs/sphinx) builds with ``-W --keep-going -n``: a docstring that does not
parse, or a reference to a name that is not documented, fails the suite."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")
pytest.importorskip("numpydoc")
pytest.importorskip("myst_parser")

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "docs" / "sphinx"
_spec = importlib.util.spec_from_file_location("build_api", ROOT / "docs" / "build_api.py")
build_api = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_api)


@pytest.mark.slow
def test_sphinx_site_builds_without_warnings_and_documents_every_public_name(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q", "-E", "-b", "html",
         str(SOURCE), str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    assert "WARNING" not in run.stderr and "ERROR" not in run.stderr, run.stderr
    api = (tmp_path / "api.html").read_text(encoding="utf-8")
    documented = set(re.findall(r'id="(psm\.[\w.]+)"', api))
    assert {"psm.match", "psm.Matching.matched_data", "psm.Summary.as_latex", "psm.datasets.lalonde",
            "psm.plots.love_plot"} <= documented
    missing = set(build_api.public_names()) - documented
    assert not missing, missing
    # the guides are pages of the site and their links to the reference resolve
    assert 'href="api.html' in (tmp_path / "stata.html").read_text(encoding="utf-8")
    assert (tmp_path / "matchit.html").exists()
