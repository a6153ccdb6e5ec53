"""A run launched from the Dagster UI or a schedule takes the same build lock as `hpw build`."""

from __future__ import annotations

import subprocess
import sys

import pytest
from dagster import DagsterInstance, materialize

from pipelines.assets import raw_country_universe
from pipelines.resources import WarehouseResource
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.slow  # Dagster runs, and a second interpreter holding the lock

HOLD_LOCK = """
import sys, time
from pathlib import Path
from pipelines.locking import build_lock
with build_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_dagster_run_refuses_while_another_process_builds(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(tmp_path)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        result = materialize(
            [raw_country_universe],
            resources={"warehouse_db": WarehouseResource(warehouse_dir=str(tmp_path))},
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        assert not result.success
        failure = next(e for e in result.all_events if e.is_failure)
        assert "a build is already running" in str(failure.event_specific_data)
        assert not (tmp_path / ".build" / "partnership.duckdb").exists()  # nothing was written
    finally:
        holder.kill()
        holder.wait()
    # once the other build is gone, the same run goes through and releases the lock again
    result = materialize(
        [raw_country_universe],
        resources={"warehouse_db": WarehouseResource(warehouse_dir=str(tmp_path))},
        instance=DagsterInstance.ephemeral(),
    )
    assert result.success
    from pipelines.locking import build_lock

    with build_lock(tmp_path):
        pass
