# The whole user interface: `make run` builds the warehouse, `make test` runs every test.
# Both install what they need first (Python 3.11 + package registries only).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

# Telemetry off for Dagster and dbt. Bytecode: a process that recompiles its imports pays seconds, so the project's
# processes write .pyc (PYTHONDONTWRITEBYTECODE, set on some machines, is not passed on): the first build and dbt
# parse compile the ~2,800 modules they import, where compiling all ~7,500 installed at install cost ~10 s more.
export DAGSTER_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export DAGSTER_HOME := $(CURDIR)/dagster_home
export UV_PROJECT_ENVIRONMENT := $(VENV)
unexport PYTHONDONTWRITEBYTECODE
unexport UV_COMPILE_BYTECODE

MODEL_FILES := $(shell find models -path models/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print 2>/dev/null)
MANIFEST := models/target/manifest.json

.PHONY: install run test test-fast dev docs manifest clean help browser bench lint lint-fix

help:
	@echo "make run   - install and build warehouse/partnership.duckdb from the bundled data"
	@echo "make test  - install and run all tests (every core; PYTEST_WORKERS=0 runs them in one process)"
	@echo "make test-fast - day-to-day work: parsers, contracts, crosswalk, CLI, dbt unit tests, no build (not e2e/slow)"
	@echo "make bench - each figure next to its target; BENCH_ARGS=\"--clone --tests --large\" adds the long rows"
	@echo "make dev   - Dagster UI on http://127.0.0.1:3000"
	@echo "make lint  - ruff (lint + format check), mypy on pipelines/ and data_contracts/, sqlfluff on models/"
	@echo "make lint-fix - apply what the tools can fix by themselves (ruff format, ruff --fix, sqlfluff fix)"
	@echo "make docs  - docs/data_dictionary.md and the dbt docs site (warehouse/docs/static_index.html, offline)"
	@echo "make clean - remove the warehouse, dbt artefacts and environments"

# uv alone in .tools/ (pip --target: no venv with its own pip to create first); a venv where pip refuses --target
PIP_QUIET := --quiet --disable-pip-version-check
$(UV):
	$(PYTHON) -m pip install $(PIP_QUIET) --root-user-action=ignore --no-compile --target $(TOOLS) uv==$(UV_VERSION) \
	  || { rm -rf $(TOOLS) && $(PYTHON) -m venv $(TOOLS) && $(TOOLS)/bin/pip install $(PIP_QUIET) uv==$(UV_VERSION); }

$(BIN)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	touch $@

install: $(BIN)/.installed

# The database named as a build's dbt names it (relative to its build folder), so builds reuse this parse state.
$(MANIFEST): $(BIN)/.installed $(MODEL_FILES)
	cd models && HPW_BUILD_DB=partnership.duckdb ../$(BIN)/dbt parse --quiet
	touch $@

manifest: $(MANIFEST)

# No `manifest` prerequisite: `hpw build` runs dbt parse itself when the manifest is missing or stale, beside the
# imports of Dagster and the sources instead of before them (pipelines/build.py, manifest_parse).
run: install
	$(BIN)/hpw build

# The country-brief test renders a page in headless Chromium (Debian's package). Installed when missing and we
# are root with apt-get; otherwise that one test is skipped and says so.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "note: could not install chromium; the brief browser test will be skipped"; \
	  else echo "note: chromium not installed; the brief browser test will be skipped"; fi; }

# pytest-xdist: one worker per core. loadgroup keeps the tests that share a module's build (or one round of fault
# cases) on one worker; the session build is made once and shared by all workers (tests/conftest.py).
# pytest exits non-zero when no test ran.
PYTEST_WORKERS ?= auto
test: install manifest browser
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

# The tier for day-to-day work: every test that needs no warehouse build, no server, no Dagster run and no second
# interpreter (markers in pyproject.toml), on every core as well.
test-fast: install manifest
	$(BIN)/pytest -q -m "not e2e and not slow" -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# Quality gates: every tool runs and reports even when an earlier one failed; the target fails if any did.
# Settings live in pyproject.toml ([tool.ruff], [tool.mypy], [tool.sqlfluff]); sqlfluff renders the dbt Jinja
# itself (jinja templater with dbt builtins), so no dbt compile or database is needed.
lint: install
	@status=0; \
	echo "== ruff check"; $(BIN)/ruff check --output-format concise . || status=1; \
	echo "== ruff format --check"; $(BIN)/ruff format --check . || status=1; \
	echo "== mypy"; $(BIN)/mypy || status=1; \
	echo "== sqlfluff lint models"; $(BIN)/sqlfluff lint models --disable-progress-bar || status=1; \
	exit $$status

# What the tools fix on their own; review the diff, then `make lint` for what is left to fix by hand.
lint-fix: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix --exit-zero .
	$(BIN)/sqlfluff fix models --disable-progress-bar || true

# Benchmark figures as a Markdown table (docs/benchmarks.md); synthetic files go to bench/out/ (git-ignored)
BENCH_ARGS ?=
bench: install manifest
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# docs/data_dictionary.md from the dbt yml, and the dbt docs site (lineage, column docs) as one offline page
docs: run
	$(BIN)/hpw export --dictionary-only
	$(BIN)/hpw docs

dev: install manifest
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf warehouse models/target models/logs $(VENV) $(TOOLS)
