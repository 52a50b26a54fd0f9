# chatlens — two commands on a fresh machine with Python 3.11:
#   make demo   set up .venv, install, run the main job on the built-in demo corpus
#   make test   set up .venv, install everything the tests need, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
DEMO_OUT ?= demo-run

.PHONY: demo test lint bench clean install install-test browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

# torch comes first and pinned: it installs a CPU build from local files; letting another
# package pull an unpinned torch would download a multi-GB CUDA build.
$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev,ml,dask,train,embed,encoder]'
	touch $@ $(VENV)/.core

install: $(VENV)/.core
install-test: $(VENV)/.test

demo: install
	$(BIN)/chatlens analyze --out $(DEMO_OUT)

# The report's browser test needs headless Chromium: installed when missing and apt-get is usable.
browser:
	@sh scripts/ensure_browser.sh

test: install-test browser
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/python -m pytest -q
	$(BIN)/python -m pytest -q --doctest-modules src/chatlens

lint: install-test
	$(BIN)/ruff check src tests scripts benchmarks

bench: install
	$(BIN)/python benchmarks/bench_ingest.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache
