# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# pandas 2.2, the oldest pandas ccpandas supports: the core tests run there too.
COMPAT := .venv-pandas22
CPY    := $(COMPAT)/bin/python
# The core layers' tests, by folder (they mirror ccpandas/): what runs under pandas 2.2 too.
CORE_TESTS := tests/plan tests/client tests/run tests/public
# Fast unit tests for `make check`: no browser, no child processes, no long runs.
UNIT_TESTS := tests/plan tests/client tests/run

.PHONY: demo test check test-compat lint types contracts format docs bench install install-test clean check-python

# Say plainly what is missing instead of failing half-way through `python -m venv`.
check-python:
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "ccpandas needs Python 3.11 or newer; $(PYTHON) is %d.%d. Name another: make PYTHON=python3.12 ..." % v[:2])'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "$(PYTHON) cannot create virtual environments: install its venv module (Debian/Ubuntu: apt install python3-venv)"; exit 1; }

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test

demo: install
	$(PY) -m ccpandas.widgets.demo

lint: install-test
	$(PY) -m ruff check ccpandas tests benchmarks notebooks
	$(PY) -m ruff format --check ccpandas tests benchmarks

# mypy over ccpandas/ (strict on plan/, models, errors and the base; see pyproject.toml).
types: install-test
	$(PY) -m mypy

# The layers: imports point one way (import-linter contracts in pyproject.toml).
contracts: install-test
	$(VENV)/bin/lint-imports

# The fast inner loop: lint, types, import contracts and the unit tests, in under a minute.
check: lint types contracts
	CCPANDAS_DATA_DIR=$$(mktemp -d) CCPANDAS_CONFIG_DIR=$$(mktemp -d) $(PY) -m pytest -q -x -p no:cacheprovider $(UNIT_TESTS)

format: install-test
	$(PY) -m ruff check --fix ccpandas tests benchmarks
	$(PY) -m ruff format ccpandas tests benchmarks

docs: install-test
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

test: lint types contracts
	$(PY) -m pytest -q --doctest-modules ccpandas
	CCPANDAS_DATA_DIR=$$(mktemp -d) CCPANDAS_CONFIG_DIR=$$(mktemp -d) $(PY) -m pytest --nbval --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks README.md docs/*.md
	$(MAKE) docs
	$(MAKE) test-compat

$(COMPAT)/.installed: pyproject.toml | check-python
	$(PYTHON) -m venv $(COMPAT)
	$(CPY) -m pip install --quiet --upgrade pip
	$(CPY) -m pip install --quiet -e . "pandas==2.2.*" pytest pytest-timeout hypothesis
	touch $@

test-compat: $(COMPAT)/.installed
	$(CPY) -c 'import pandas; assert pandas.__version__.startswith("2.2."), pandas.__version__'
	CCPANDAS_DATA_DIR=$$(mktemp -d) CCPANDAS_CONFIG_DIR=$$(mktemp -d) $(CPY) -m pytest -q -p no:cacheprovider $(CORE_TESTS)

bench: install-test
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) $(COMPAT) docs/_build .pytest_cache .ruff_cache .hypothesis
