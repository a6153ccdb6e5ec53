"""The project instance's event log (pipelines/instance_storage.py) writes what Dagster's own SQLite event log
writes: the same run of the same job, on an instance with each storage, reads back the same events, asset
records and asset-check executions (what the UI shows). The job is small and synthetic (two assets, a failing
and a passing check, a log line); the real build's run is read back in tests/test_build_instance.py."""

import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from dagster import (
    AssetCheckKey,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    DagsterInstance,
    Definitions,
    asset,
    asset_check,
    define_asset_job,
    in_process_executor,
)

from pipelines.instance_storage import KeptOpenSqliteEventLogStorage
from tests import conftest

pytestmark = pytest.mark.slow  # two Dagster instances and runs


@asset
def upstream(context: AssetExecutionContext) -> int:
    context.log.info("upstream computed")
    return 3


@asset
def downstream(upstream: int) -> int:
    return upstream * 2


@asset_check(asset=upstream)
def upstream_is_positive(upstream: int) -> AssetCheckResult:
    return AssetCheckResult(passed=upstream > 0, metadata={"value": upstream})


@asset_check(asset=downstream)
def downstream_is_odd(downstream: int) -> AssetCheckResult:
    return AssetCheckResult(passed=downstream % 2 == 1)


DEFS = Definitions(
    assets=[upstream, downstream],
    asset_checks=[upstream_is_positive, downstream_is_odd],
    jobs=[define_asset_job("small", executor_def=in_process_executor)],
)
KEYS = [AssetKey("upstream"), AssetKey("downstream")]
CHECKS = [AssetCheckKey(KEYS[0], "upstream_is_positive"), AssetCheckKey(KEYS[1], "downstream_is_odd")]


def _home(tmp_path: Path, name: str, project_storage: bool) -> Path:
    home = tmp_path / name
    home.mkdir()
    config = yaml.safe_load((conftest.PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text(encoding="utf-8"))
    assert config["event_log_storage"]["class"] == "KeptOpenSqliteEventLogStorage"
    if not project_storage:  # Dagster's default event log, everything else the project's
        del config["event_log_storage"]
    (home / "dagster.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return home


def _run_twice_and_read(home: Path, monkeypatch) -> dict:
    """Two runs of the job on the instance at `home`, and what the UI reads of them."""
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with DagsterInstance.get() as instance:
        run_ids = []
        for _ in range(2):
            result = DEFS.resolve_job_def("small").execute_in_process(instance=instance, raise_on_error=False)
            run_ids.append(result.run_id)
        storage = type(instance.event_log_storage).__name__
        runs = []
        for run_id in run_ids:
            logs = instance.all_logs(run_id)
            runs.append(
                {
                    "status": instance.get_run_by_id(run_id).status.value,
                    # messages name the instance's folder, the process and timings: those are masked
                    "events": [
                        (
                            e.dagster_event_type.value if e.dagster_event_type else "log",
                            e.step_key,
                            re.sub(r"\d[\d.]*( ?m?s\b)?", "#", e.user_message.replace(str(home), "<home>")),
                        )
                        for e in logs
                    ],
                }
            )
        latest = {}
        for key in KEYS:
            record = instance.get_latest_materialization_event(key)
            latest[key.to_user_string()] = run_ids.index(record.run_id)
        checks = {}
        for check_key in CHECKS:
            history = instance.event_log_storage.get_asset_check_execution_history(check_key, limit=10)
            checks[check_key.to_user_string()] = [(run_ids.index(r.run_id), r.status.value) for r in history]
        planned = {
            k.to_user_string(): run_ids.index(instance.get_latest_planned_materialization_info(k).run_id) for k in KEYS
        }
        asset_keys = sorted(k.to_user_string() for k in instance.all_asset_keys())
    # the index shard as the webserver's own reader sees it, table by table (ids and timestamps aside)
    index = home / "history" / "runs" / "index.db"
    with sqlite3.connect(index) as con:
        counts = {
            table: con.execute(f"select count(*) from {table}").fetchone()[0]
            for table in ("event_logs", "asset_keys", "asset_check_executions", "asset_event_tags")
        }
    return {
        "storage": storage,
        "runs": runs,
        "latest": latest,
        "checks": checks,
        "planned": planned,
        "asset_keys": asset_keys,
        "index": counts,
    }


@pytest.mark.parametrize("batch_size", ["0", "1000"])  # planned events one at a time, and as one batch
def test_the_project_event_log_writes_what_dagsters_own_writes(tmp_path, monkeypatch, batch_size):
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
    batches = []
    store_batch = KeptOpenSqliteEventLogStorage.store_event_batch

    def counted(self, events):
        batches.append(len(events))
        store_batch(self, events)

    monkeypatch.setattr(KeptOpenSqliteEventLogStorage, "store_event_batch", counted)
    ours = _run_twice_and_read(_home(tmp_path, "project", project_storage=True), monkeypatch)
    theirs = _run_twice_and_read(_home(tmp_path, "default", project_storage=False), monkeypatch)
    assert (ours.pop("storage"), theirs.pop("storage")) == ("KeptOpenSqliteEventLogStorage", "SqliteEventLogStorage")
    assert ours["checks"]["downstream:downstream_is_odd"] == [(1, "FAILED"), (0, "FAILED")]
    assert ours["checks"]["upstream:upstream_is_positive"] == [(1, "SUCCEEDED"), (0, "SUCCEEDED")]
    assert ours["index"]["asset_check_executions"] == 4 and ours["latest"] == {"upstream": 1, "downstream": 1}
    assert ours == theirs
    # each run's planned events (2 assets, 2 checks) came as one batch when batching is on
    assert batches == ([4, 4] if batch_size != "0" else [])


def _schema(shard: Path) -> tuple:
    with sqlite3.connect(shard) as con:
        return (
            con.execute("select type, name, tbl_name, sql from sqlite_master order by type, name").fetchall(),
            con.execute("select version_num from alembic_version").fetchall(),
            con.execute("pragma journal_mode").fetchone(),
        )


def test_a_run_shard_made_from_the_template_is_the_shard_dagster_makes(tmp_path, monkeypatch):
    """The first run's shard is made by Dagster and kept as a template; the second run's starts as its copy:
    both have Dagster's schema, alembic stamp and WAL mode, and each holds only its own run's events."""
    home = _home(tmp_path, "project", project_storage=True)
    read = _run_twice_and_read(home, monkeypatch)
    runs = home / "history" / "runs"
    templates = list(runs.glob(".run-shard-template-*.sqlite"))
    assert len(templates) == 1, sorted(p.name for p in runs.iterdir())
    shards = sorted((p for p in runs.glob("*.db") if p.name != "index.db"), key=lambda p: p.stat().st_mtime)
    assert len(shards) == 2
    first, second = (_schema(shard) for shard in shards)
    assert first == second == _schema(templates[0])
    assert first[0] and first[2] == ("wal",)
    with sqlite3.connect(templates[0]) as con:
        assert con.execute("select count(*) from event_logs").fetchone()[0] == 0
    for shard, run in zip(shards, read["runs"]):
        with sqlite3.connect(shard) as con:
            assert con.execute("select count(*) from event_logs").fetchone()[0] == len(run["events"])
