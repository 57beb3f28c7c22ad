# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# The pages whose every Python block runs as a test (Sybil, see conftest.py).
DOC_PAGES := README.md $(wildcard docs/*.md)
# Fast unit tests for `make check`: no browser, no child processes, no long runs.
UNIT_TESTS := tests/plan tests/client tests/run
# The suite mostly waits (on HTTP to the emulator, child processes, kernels, a browser),
# so it runs in worker processes (pytest-xdist), a file per worker at a time: a doc page
# or a notebook runs top to bottom in one kernel. Tests marked `serial` (several
# processes sharing one rate limit, "no throttled answer" checks, the browser tests)
# run in one process afterwards, beside the nox sessions. Eight workers on two cores: the
# suite's processes used a third of the two cores at -n 4 (297 s of CPU in 452 s), and -n 8
# took 318 s for the same 2,033 tests (measured side by side on this 2-core machine).
WORKERS  ?= 8
PARALLEL := -n $(WORKERS) --dist loadfile
# Bytecode caches on, even where PYTHONDONTWRITEBYTECODE is set (as on CI's machines):
# without them every test process rewrote the asserts of all 355 test modules and every
# child process compiled ccpandas again (measured: a collection took 17.8 s of CPU
# without the cache, 7.4 s with it; eight workers each collect the whole suite).
unexport PYTHONDONTWRITEBYTECODE
# The notebooks run as tests; a kernel's start is guarded against a hang, not timed (under
# eight workers one took more than nbval's default 60 s to answer).
NBVAL    := --nbval --nbval-sanitize-with notebooks/sanitize.cfg --nbval-kernel-startup-timeout 600
# Every test run keeps its journal and saved logins out of the user's own folders.
PRIVATE  := CCPANDAS_DATA_DIR=$$(mktemp -d) CCPANDAS_CONFIG_DIR=$$(mktemp -d)

.PHONY: demo test check package nox lint types contracts format docs doctest collect bench install install-test clean check-python

# Say plainly what is missing instead of failing half-way through `python -m venv`.
check-python:
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "ccpandas needs Python 3.11 or newer; $(PYTHON) is %d.%d. Name another: make PYTHON=python3.12 ..." % v[:2])'
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || { echo "$(PYTHON) cannot create virtual environments: install its venv module (Debian/Ubuntu: apt install python3-venv)"; exit 1; }

$(PY): | check-python
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# setuptools reports every editable install with an "Editable installation." box (an
# InformationOnly warning, which setuptools documents as filterable) and pip shows it even
# with --quiet: filter exactly that message, so real warnings still show.
EDITABLE := PYTHONWARNINGS="ignore:Editable installation" $(PY) -m pip install --quiet -e

$(VENV)/.installed-base: pyproject.toml | $(PY)
	$(EDITABLE) .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(EDITABLE) ".[test,docs,excel]"
	touch $@ $(VENV)/.installed-base

install: $(VENV)/.installed-base
install-test: $(VENV)/.installed-test

demo: install
	$(PY) -m ccpandas.cli.demo

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
	$(PRIVATE) $(PY) -m pytest -q -x -p no:cacheprovider $(PARALLEL) -m "not serial" $(UNIT_TESTS)

format: install-test
	$(PY) -m ruff check --fix ccpandas tests benchmarks
	$(PY) -m ruff format ccpandas tests benchmarks

# -E: a whole new build every time, so a changed docstring is never shown stale.
docs: install-test
	$(PY) -m sphinx -E -W --keep-going -q -b html docs docs/_build/html

# The doctests of ccpandas/ (their examples run against emulators of their own).
doctest: install-test
	$(PY) -m pytest -q --doctest-modules ccpandas

# Collects the suite once, so that pytest's rewritten test modules are cached before the
# workers start, each collecting the whole suite (see `unexport` above).
collect: install-test
	$(PRIVATE) $(PY) -m pytest -q -p no:cacheprovider --collect-only tests >/dev/null

# The docs are built first: the layout test (tests/docs) checks that very build. Two at
# a time (-j2): the Sphinx build and the package (the longest two: about 50 and 60 s)
# start first, then lint, types, contracts and the doctests take whichever core is free
# (measured: with the package last, one core idled for about 55 s); --output-sync keeps
# each one's output together. The tests marked serial (several processes sharing one
# rate limit, a browser) run in one process from the start, beside all of it: they mostly
# wait, on the rate limit, child processes and Chromium, so the other steps' work fits in
# their waits (their output kept in .nox/serial.log, shown after the suite's). Then the
# suite in its workers, and pip making the nox session's environment (.nox/install.log).
# Last, the nox session alone, on both cores (see noxfile.py: under make test, pandas 2.2
# on the newest other Python). Measured on 2 cores, fresh clones: 826 s; 927 s with the
# serial tests started beside the suite only; 1,086 s with four runs of the core tests.
# make runs a recipe line that names $(MAKE) even under -n (a dry run), and this line also
# starts the tests: so the sub-make is named through STEPS, and `make -n test` runs nothing.
STEPS := $(MAKE) --no-print-directory -j2 --output-sync=target
test: install-test
	mkdir -p .nox; $(PRIVATE) $(PY) -m pytest -m serial tests >.nox/serial.log 2>&1 & serial=$$!; \
	$(STEPS) docs package lint types contracts doctest collect \
		|| { kill $$serial; wait $$serial; exit 1; }; \
	$(NOX_ENV) $(VENV)/bin/nox --install-only >.nox/install.log 2>&1 & pip=$$!; \
	$(PRIVATE) CCPANDAS_DOCS_HTML=docs/_build/html $(PY) -m pytest $(PARALLEL) -m "not serial" \
		$(NBVAL) tests notebooks $(DOC_PAGES); status=$$?; \
	wait $$serial; serial_status=$$?; echo "serial tests:"; cat .nox/serial.log; \
	wait $$pip || { cat .nox/install.log; echo "nox --install-only failed"; exit 1; }; \
	test $$status = 0 || exit $$status; \
	test $$serial_status = 0 || { echo "the serial tests failed"; exit 1; }
	$(MAKE) nox WHEEL="$(BUILT_WHEEL)" TESTED_PYTHON="$(THIS_PYTHON)"

# The release artefacts, checked as a user gets them: build the sdist and the wheel into
# dist/, `twine check` them, install the wheel (not editable) in a throwaway venv, and
# run the demo, `ccpandas --help` and a plan against its own emulator from it.
package: install-test
	@set -e; tmp=$$(mktemp -d); emu=; \
	trap 'test -z "$$emu" || kill $$emu 2>/dev/null; rm -rf "$$tmp"' EXIT; \
	fail() { echo "make package: $$1 failed:"; cat "$$tmp/log"; exit 1; }; \
	echo "package: building the sdist and the wheel into dist/"; rm -rf dist; \
	$(PY) -m build --outdir dist . >"$$tmp/log" 2>&1 || fail "python -m build"; \
	$(PY) -m twine check --strict dist/* >"$$tmp/log" 2>&1 || fail "twine check"; \
	echo "package: installing $$(cd dist && ls *.whl) in a new venv"; \
	$(PYTHON) -m venv "$$tmp/venv" && bin="$$tmp/venv/bin"; \
	"$$bin/python" -m pip install --quiet dist/*.whl >"$$tmp/log" 2>&1 || fail "pip install"; \
	cd "$$tmp"; export CCPANDAS_DATA_DIR="$$tmp/data" CCPANDAS_CONFIG_DIR="$$tmp/config"; \
	"$$bin/python" -c 'import ccpandas, sys; sys.exit("site-packages" not in ccpandas.__file__)' || fail "import"; \
	"$$bin/python" -m ccpandas.cli.demo --contacts 500 >"$$tmp/log" 2>&1 || fail "the demo"; \
	"$$bin/ccpandas" --help >"$$tmp/log" 2>&1 || fail "ccpandas --help"; \
	"$$bin/ccpandas" emulator --port 0 --contacts 50 >"$$tmp/emu" 2>&1 & emu=$$!; \
	for i in $$(seq 100); do grep -q listening "$$tmp/emu" && break; sleep 0.1; done; \
	url=$$(awk '/listening/ {print $$5}' "$$tmp/emu"); \
	export CC_ACCESS_TOKEN=$$(sed -n 's/.*token=//p' "$$tmp/emu"); \
	printf 'contact_id\n8b54d1f4-5b0e-11ee-8c99-0242ac120002\n' | \
	"$$bin/ccpandas" plan - --lists Newsletter --base-url "$$url" >"$$tmp/log" 2>&1 || fail "ccpandas plan"; \
	echo "package: sdist and wheel pass twine check; the wheel runs the demo and the CLI"

# Python 3.11, 3.12 and 3.13 (and pandas 2.2) as nox sessions, see noxfile.py. A Python
# this machine lacks is reported as a skipped session; sessions keep their venvs (.nox/).
# `make test` passes WHEEL, the wheel `make package` just built and checked: every session
# installs that very file, so it is installed and tested on every interpreter present.
# Without WHEEL, pip builds one from the source tree in each session.
# TESTED_PYTHON (`make test` sets it to its own Python's version) skips the session
# that would repeat the suite just run on that Python (see noxfile.py).
# NOX_JOBS: how many sessions run at once (nox --parallel, each its output shown whole as
# it ends); `make test` runs one. Each session runs its tests in $(WORKERS) workers.
WHEEL ?=
TESTED_PYTHON ?=
NOX_JOBS ?= 1
nox: install-test
	CCPANDAS_WHEEL="$(WHEEL)" CCPANDAS_TESTED_PYTHON="$(TESTED_PYTHON)" WORKERS=$(WORKERS) \
		$(VENV)/bin/nox --parallel $(NOX_JOBS)

# What `make test` hands nox: the wheel `make package` built, and its own Python's version.
BUILT_WHEEL = $$(ls "$(CURDIR)"/dist/*.whl)
THIS_PYTHON = $$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
NOX_ENV = CCPANDAS_WHEEL="$(BUILT_WHEEL)" CCPANDAS_TESTED_PYTHON="$(THIS_PYTHON)"

bench: install-test
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) .nox docs/_build .pytest_cache .ruff_cache .hypothesis
