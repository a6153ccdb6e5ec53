"""Shared fixtures. The end-to-end build runs once per test session into a temporary warehouse folder."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = PROJECT_ROOT / "data" / "snapshots"

# Builds are runs on the Dagster instance of DAGSTER_HOME (the Makefile points it at the repository's dagster_home/):
# tests use a temporary one with the project's dagster.yaml, so they never write run storage into the repository.
DAGSTER_HOME = Path(tempfile.mkdtemp(prefix="hpw-dagster-home-"))
shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", DAGSTER_HOME / "dagster.yaml")
os.environ["DAGSTER_HOME"] = str(DAGSTER_HOME)
atexit.register(shutil.rmtree, DAGSTER_HOME, True)


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Path:
    """Build the whole warehouse from the bundled snapshots once; returns the warehouse folder."""
    from pipelines.build import run_build

    root = tmp_path_factory.mktemp("warehouse")
    result = run_build(force=True, warehouse_dir=root, log_level="WARNING", echo=lambda *_: None)
    assert result.success, result.error
    return root


@pytest.fixture()
def marts(built_warehouse):
    """A read-only connection to the published file of the session build."""
    con = duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True)
    yield con
    con.close()
