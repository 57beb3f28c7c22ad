# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# pandas 2.2, the oldest pandas ccpandas supports: the core tests run there too.
COMPAT := .venv-pandas22
CPY    := $(COMPAT)/bin/python
CORE_TESTS := tests/test_plan.py tests/test_plan_properties.py tests/test_ids_fast_path.py \
	tests/test_readers.py tests/test_journal.py tests/test_client.py tests/engine

.PHONY: demo test test-compat lint format docs bench install install-test clean check-python

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

format: install-test
	$(PY) -m ruff check --fix ccpandas tests benchmarks
	$(PY) -m ruff format ccpandas tests benchmarks

docs: install-test
	$(PY) -m sphinx -W --keep-going -q -b html docs docs/_build/html

test: lint
	$(PY) -m pytest -q --doctest-modules ccpandas
	CCPANDAS_DATA_DIR=$$(mktemp -d) CCPANDAS_CONFIG_DIR=$$(mktemp -d) $(PY) -m pytest --nbval --nbval-sanitize-with notebooks/sanitize.cfg tests notebooks
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
