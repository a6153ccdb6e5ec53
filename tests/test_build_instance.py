"""`hpw build` is a run of the definitions' `build_warehouse` job on the project's Dagster instance (DAGSTER_HOME):
the UI shows every asset of the build materialised by that run, the run in its list, and the freshness checks
passing for the bundled vintages. Tests point DAGSTER_HOME at a temporary folder (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dagster import AssetCheckKey, DagsterEventType, DagsterInstance

from tests import conftest

pytestmark = pytest.mark.e2e


def _run_id(warehouse: Path) -> str:
    with duckdb.connect(str(warehouse / "partnership.duckdb"), read_only=True) as con:
        return con.execute("select run_id from meta.build").fetchone()[0]


def test_a_build_is_a_run_of_build_job_on_the_project_instance(
    built_warehouse, session_build_instance_home, monkeypatch
):
    from pipelines.definitions import defs
    from pipelines.schedules import BUILD_JOB_NAME, FRESHNESS_CHECKS

    run_id = _run_id(built_warehouse)
    # read the instance as `make dev` does: its event log lives under $DAGSTER_HOME (pipelines/instance_storage.py)
    monkeypatch.setenv("DAGSTER_HOME", str(session_build_instance_home))
    with DagsterInstance.from_config(str(session_build_instance_home)) as instance:
        home = Path(instance.root_directory).resolve()
        assert home == session_build_instance_home.resolve() != (conftest.PROJECT_ROOT / "dagster_home").resolve()
        run = instance.get_run_by_id(run_id)
        assert run is not None and run.job_name == BUILD_JOB_NAME
        assert run_id in {r.run_id for r in instance.get_runs()}
        assert run.is_success

        job = defs.resolve_job_def(BUILD_JOB_NAME)
        keys = set(job.asset_layer.asset_graph.executable_asset_keys)
        layers = {k.path[0] for k in keys}
        assert {"raw", "staging", "intermediate", "marts", "published"} <= layers and len(keys) > 60
        materialised = {
            e.dagster_event.event_specific_data.materialization.asset_key
            for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        }
        assert materialised == keys
        for key in keys:  # what the asset catalog shows: no "Never materialized"
            assert instance.get_latest_materialization_event(key) is not None, key.to_user_string()

        evaluations = {
            AssetCheckKey(e.asset_key, e.check_name): e
            for e in (
                r.dagster_event.event_specific_data
                for r in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
            )
        }
        freshness = {key for check in FRESHNESS_CHECKS for key in check.check_keys}
        assert len(freshness) >= 20
        assert freshness <= evaluations.keys()
        stale = [k.to_user_string() for k in freshness if not evaluations[k].passed]
        assert not stale, f"freshness checks failed for the bundled vintages: {stale}"
