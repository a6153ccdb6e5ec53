"""The `duckdb_write` pool slot (one writer on the build database) is never lost to a run that ended: a build
interrupted between claiming the slot and its step's end can be recorded as finished and still hold it, and every
later run on the instance would wait for it. `hpw build` gives back the slots of finished or deleted runs before it
starts its own run, and leaves a slot held by a run in progress alone."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus
from dagster._core.storage.dagster_run import DagsterRun

from pipelines.assets import DUCKDB_POOL
from pipelines.build import _fail_dead_runs
from tests import conftest


@pytest.fixture
def instance(tmp_path: Path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(conftest.PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    with DagsterInstance.from_config(str(home)) as instance:
        yield instance


def _run(instance, status: DagsterRunStatus, warehouse: Path) -> str:
    run_id = str(uuid.uuid4())
    instance.add_run(
        DagsterRun(job_name="build_warehouse", run_id=run_id, status=status, tags={"hpw/warehouse": str(warehouse)})
    )
    return run_id


def _holders(instance) -> set[str]:
    return {slot.run_id for slot in instance.event_log_storage.get_concurrency_info(DUCKDB_POOL).claimed_slots}


def test_slots_of_finished_and_deleted_runs_are_given_back(instance, tmp_path):
    storage = instance.event_log_storage
    other_warehouse = tmp_path / "other"  # a build of another folder, running now: its slot stays
    storage.initialize_concurrency_limit_to_default(DUCKDB_POOL)
    assert storage.get_concurrency_info(DUCKDB_POOL).slot_count == 1  # the project's dagster.yaml: one writer

    ended = _run(instance, DagsterRunStatus.FAILURE, tmp_path / "warehouse")
    claim = storage.claim_concurrency_slot(DUCKDB_POOL, ended, "raw__us_bases")
    assert claim.is_claimed and _holders(instance) == {ended}
    # the slot is taken: a new run's step could not start
    waiting = _run(instance, DagsterRunStatus.STARTED, other_warehouse)
    assert not storage.claim_concurrency_slot(DUCKDB_POOL, waiting, "raw__us_bases").is_claimed

    _fail_dead_runs(instance, tmp_path / "warehouse")
    assert ended not in _holders(instance)
    # the run in progress (another warehouse, not ours to fail) keeps its place and now gets the slot
    assert instance.get_run_by_id(waiting).status == DagsterRunStatus.STARTED
    assert storage.claim_concurrency_slot(DUCKDB_POOL, waiting, "raw__us_bases").is_claimed
    _fail_dead_runs(instance, tmp_path / "warehouse")
    assert _holders(instance) == {waiting}

    instance.delete_run(waiting)  # a run deleted from the UI while holding the slot
    _fail_dead_runs(instance, tmp_path / "warehouse")
    assert _holders(instance) == set()
