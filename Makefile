# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lint format docs bench install install-test clean

$(PY):
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
	$(PY) -m ccpandas.demo

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

bench: install-test
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) docs/_build .pytest_cache .ruff_cache .hypothesis
