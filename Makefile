# The two commands of the README. Each sets itself up on a fresh machine:
# it creates .venv and installs the project with its test extras, and
# re-installs only when pyproject.toml changes (a stamp file records it).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DATA   ?= data/synthetic
OUT    ?= reports

.PHONY: reproduce test test-fast docs bench clean-venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m psm.newchance report $(DATA) --out $(OUT)

test: $(STAMP)
	$(PY) -m pytest

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# docs/api.md (markdown, committed) and the Sphinx site in docs/_build/html (git-ignored); warnings
# and broken references are errors
docs: $(STAMP)
	$(PY) docs/build_api.py
	$(PY) -m sphinx -W --keep-going -n -q -E -b html docs/sphinx docs/_build/html

bench: $(STAMP)
	$(PY) benchmarks/bench_matching.py
	$(PY) benchmarks/bench_pipeline.py
	$(PY) benchmarks/bench_balance.py

clean-venv:
	rm -rf $(VENV)
