# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint clean docs docs-serve

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/backprop train

test: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/python -m pytest -q

# The fast lane, for the edit-and-check loop: every test but the slow, MPI and browser ones
# (pyproject.toml's markers). `make test` stays the whole suite, which CI runs.
test-fast: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks
	$(BIN)/python -m pytest -q -m "not slow and not mpi and not browser"

lint: $(STAMP)
	$(BIN)/ruff check src tests examples benchmarks

# The documentation site (mkdocs.yml): README, docs/*.md, the API reference from the docstrings
# and the tutorials (notebooks/*.ipynb, not run) into site/. Strict: a broken link or reference fails.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

# The same site at http://127.0.0.1:8000/, rebuilt on every edit.
docs-serve: $(STAMP)
	$(BIN)/mkdocs serve --strict

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
