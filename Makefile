# The whole user interface: `make run` builds the warehouse, `make test` runs every test.
# Both install what they need first (Python 3.11 + package registries only).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9

# Telemetry off for Dagster and dbt, bytecode compiled once at install (this machine sets
# PYTHONDONTWRITEBYTECODE, and recompiling imports costs seconds per process).
export DAGSTER_DISABLE_TELEMETRY := 1
export DO_NOT_TRACK := 1
export DAGSTER_HOME := $(CURDIR)/dagster_home
export UV_COMPILE_BYTECODE := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

MODEL_FILES := $(shell find models -path models/target -prune -o -type f \( -name '*.sql' -o -name '*.yml' -o -name '*.csv' \) -print 2>/dev/null)
MANIFEST := models/target/manifest.json

.PHONY: install run test dev docs manifest clean help

help:
	@echo "make run   - install and build warehouse/partnership.duckdb from the bundled data"
	@echo "make test  - install and run all tests"
	@echo "make dev   - Dagster UI on http://127.0.0.1:3000"
	@echo "make clean - remove the warehouse, dbt artefacts and environments"

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(BIN)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra dev --python $(PYTHON)
	touch $@

install: $(BIN)/.installed

$(MANIFEST): $(BIN)/.installed $(MODEL_FILES)
	cd models && HPW_BUILD_DB=$(CURDIR)/warehouse/.build/partnership.duckdb ../$(BIN)/dbt parse --quiet
	touch $@

manifest: $(MANIFEST)

run: install manifest
	$(BIN)/hpw build

test: install manifest
	$(BIN)/pytest

dev: install manifest
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

clean:
	rm -rf warehouse models/target models/logs $(VENV) $(TOOLS)
