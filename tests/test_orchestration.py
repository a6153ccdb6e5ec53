"""One schedule and one upstream sensor per cadence, a run queue of one, freshness per source."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from urllib.parse import urlsplit

import polars as pl
import pytest
from dagster import AssetKey, RunRequest, SkipReason, build_schedule_context, build_sensor_context
from dagster._utils.schedules import cron_string_iterator

from pipelines import fetch
from pipelines.sources import RAW_TABLES, RAW_TABLES_BY_NAME
from pipelines.sources.base import CADENCES, RawTable
from tests.livehttp import LiveServer
from tests.test_definitions import load_definitions

AID = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
AID_PATH = urlsplit(AID.live_url).path


def _gaps(cron: str) -> set[float]:
    """Days between consecutive firings of a cron over two years."""
    import datetime as dt

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    times = []
    for fired in cron_string_iterator(start, cron, "UTC"):
        times.append(fired)
        if len(times) > 30 or (fired.timestamp() - start) > 2 * 366 * 86400:
            break
    return {round((b - a).total_seconds() / 86400) for a, b in zip(times, times[1:])}


def _fire_days(cron: str) -> set[str]:
    import datetime as dt

    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    days = set()
    for fired in cron_string_iterator(start, cron, "UTC"):
        if (fired.timestamp() - start) > 2 * 366 * 86400:
            return days
        days.add(fired.date().isoformat())
    return days


def test_one_schedule_per_cadence_refreshes_that_cadence_live():
    defs = load_definitions()
    schedules = {s.name: s for s in defs.schedules}
    assert set(schedules) == {"refresh_monthly", "refresh_quarterly", "refresh_yearly"}
    expected_days = {"monthly": {28, 29, 30, 31}, "quarterly": {90, 91, 92}, "yearly": {365, 366}}
    for name, schedule in schedules.items():
        cadence = schedule.tags["hpw/cadence"]
        assert name == f"refresh_{cadence}"
        assert _gaps(schedule.cron_schedule) <= expected_days[cadence], (name, schedule.cron_schedule)
        assert schedule.job_name == "build_warehouse"
        with build_schedule_context() as context:
            request = schedule.evaluate_tick(context).run_requests[0]
        ops = request.run_config["ops"]  # the whole build: every raw asset, live only for this cadence's sources
        assert {k.removeprefix("raw__") for k in ops} == {t.name for t in RAW_TABLES}
        for table in RAW_TABLES:
            mode = ops[f"raw__{table.name}"]["config"]["mode"]
            assert mode == ("live" if table.cadence == cadence else "landed"), (name, table.name, mode)
    # the crons never fire on the same day, so two cadences never start two whole builds at once
    days = {name: _fire_days(s.cron_schedule) for name, s in schedules.items()}
    assert all(days.values())
    assert not days["refresh_monthly"] & days["refresh_quarterly"]
    assert not (days["refresh_monthly"] | days["refresh_quarterly"]) & days["refresh_yearly"]
    assert defs.resolve_job_def("build_warehouse").executor_def.name == "in_process"


def test_no_schedule_sensor_or_freshness_for_retired_or_hand_built_sources():
    defs = load_definitions()
    assert RAW_TABLES_BY_NAME["imf_dots_us_trade"].cadence == "retired"  # DOTS discontinued by the IMF in 2025
    quiet = {t.name for t in RAW_TABLES if t.cadence in ("retired", "never")}
    assert {"imf_dots_us_trade", "security_agreements"} <= quiet
    for schedule in defs.schedules:
        with build_schedule_context() as context:
            ops = schedule.evaluate_tick(context).run_requests[0].run_config["ops"]
        live = {k.removeprefix("raw__") for k, v in ops.items() if v["config"]["mode"] == "live"}
        assert live and not live & quiet, (schedule.name, live & quiet)
        assert "imf_dots_us_trade" not in schedule.description
    assert {s.name for s in defs.sensors} == {
        "monthly_upstream_sensor",
        "quarterly_upstream_sensor",
        "yearly_upstream_sensor",
        "freshness_checks_sensor",
    }


def test_a_raw_table_must_declare_its_cadence():
    aid = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
    fields = {
        f: getattr(aid, f) for f in ("name", "source", "snapshot", "default_file", "vintage", "parse", "description")
    }
    with pytest.raises(TypeError, match="cadence"):
        RawTable(**fields)  # no silent default
    with pytest.raises(ValueError, match="cadence 'weekly' is not one of"):
        RawTable(**fields, cadence="weekly")
    assert set(CADENCES) == {"monthly", "quarterly", "yearly", "never", "retired"}


def test_freshness_check_and_policy_on_every_scheduled_raw_asset():
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key, k.name) for k in graph.asset_check_keys}
    for table in RAW_TABLES:
        key = AssetKey(["raw", table.name])
        node = graph.get(key)
        if table.cadence in ("never", "retired"):
            assert (key, "freshness_check") not in checks
            continue
        assert (key, "freshness_check") in checks, table.name
        policy = node.freshness_policy
        assert policy is not None and policy.fail_window.to_timedelta() > policy.warn_window.to_timedelta()
        expected = {"monthly": 31, "quarterly": 92, "yearly": 366}[table.cadence]
        assert policy.warn_window.to_timedelta() == timedelta(days=expected)
    assert any(s.name == "freshness_checks_sensor" for s in defs.sensors)


def test_raw_assets_write_duckdb_only_through_one_pool():
    defs = load_definitions()
    for assets_def in defs.assets:
        if any(k.path[0] == "raw" for k in assets_def.keys):
            assert assets_def.op.pool == "duckdb_write"


@pytest.fixture()
def live(tmp_path, monkeypatch):
    with LiveServer() as server:
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
        monkeypatch.delenv("HPW_DATA_DIR", raising=False)
        monkeypatch.setenv("HPW_FETCH_BACKOFF", "0.01")
        yield server


def _quarterly_sensor():
    defs = load_definitions()
    return next(s for s in defs.sensors if s.name == "quarterly_upstream_sensor")


def _tick(sensor):
    with build_sensor_context() as context:
        return sensor(context)


def test_one_sensor_per_cadence_requests_one_run_only_when_upstream_changes(live, tmp_path):
    sensor = _quarterly_sensor()
    quarterly_live = [t for t in RAW_TABLES if t.cadence == "quarterly" and t.live_url]
    assert {t.source for t in quarterly_live} >= {"us_foreign_aid", "us_troops_dmdc", "worldbank_wdi"}
    first = _tick(sensor)  # nothing landed yet: one run for every quarterly source, not one per source
    assert isinstance(first, RunRequest) and first.tags["hpw/cadence"] == "quarterly"
    assert set(first.tags["hpw/sources"].split(",")) == {t.source for t in quarterly_live}

    root = fetch.data_dir(tmp_path / "warehouse")
    for table in {t.fetch_key: t for t in quarterly_live}.values():
        fetch.record(fetch.acquire(table, None, tmp_path / "warehouse", mode="live"), root, rows=None)
    etag = fetch.read_log(root).filter(pl.col("raw_table") == AID.name)["etag"][-1]
    gets_before = len(live.gets(AID_PATH))

    unchanged = _tick(sensor)  # same upstream: every HEAD answered 304, no run, nothing downloaded
    assert isinstance(unchanged, SkipReason) and "not modified" in unchanged.skip_message
    heads = [h for m, p, h in live.requests if m == "HEAD" and p == AID_PATH]
    assert heads[-1].get("If-None-Match") == etag
    assert len(live.gets(AID_PATH)) == gets_before

    live.set_file(AID_PATH, AID.bundled_path.read_bytes() + b"\r\n", last_modified="Mon, 05 Jan 2026 09:00:00 GMT")
    changed = _tick(sensor)
    assert isinstance(changed, RunRequest) and changed.tags["hpw/sources"] == "us_foreign_aid"
    modes = {k.removeprefix("raw__"): v["config"]["mode"] for k, v in changed.run_config["ops"].items()}
    assert modes["us_foreign_aid_summary"] == "live" and modes["us_troops_dmdc"] == "landed"
    assert changed.run_key != first.run_key
    assert _tick(sensor).run_key == changed.run_key  # the same release again: the same key, one run
    assert len(live.gets(AID_PATH)) == gets_before  # sensors only look; the run downloads


def test_landed_mode_reads_the_newest_landed_vintage_without_the_network(live, tmp_path):
    warehouse = tmp_path / "warehouse"
    root = fetch.data_dir(warehouse)
    first = fetch.acquire(AID, None, warehouse, mode="landed")  # nothing landed: the bundled snapshot
    assert first.file.bundled and first.ingestion.mode == "snapshot"
    fetch.record(first, root, rows=None)

    newer = b"".join(AID.bundled_path.read_bytes().splitlines(keepends=True)[:-1])  # a different upstream version
    live.set_file(AID_PATH, newer, last_modified="Mon, 05 Jan 2026 09:00:00 GMT")
    downloaded = fetch.acquire(AID, None, warehouse, mode="live")
    fetch.record(downloaded, root, rows=None)
    requests_before = len(live.requests)

    reused = fetch.acquire(AID, None, warehouse, mode="landed")
    assert len(live.requests) == requests_before  # no network
    assert reused.file.path == downloaded.file.path and reused.file.sha256 == downloaded.file.sha256
    assert reused.file.vintage == downloaded.ingestion.vintage and reused.ingestion.mode == "landed"
    fetch.record(reused, root, rows=None)
    again = fetch.acquire(AID, None, warehouse, mode="live")  # the reuse keeps the validators: a 304
    assert again.ingestion.outcome == "not_modified" and again.file.sha256 == downloaded.file.sha256


def _published_is_valid(published) -> dict[str, str]:
    """The published file opens read-only, has its marts and build stamp; returns raw table -> file sha256."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_country").fetchone()[0] > 0
        assert con.execute("select count(*) from marts.fct_us_aid_country_year").fetchone()[0] > 0
        assert con.execute("select count(*) from meta.build").fetchone()[0] == 1
        return dict(con.execute("select raw_table, sha256 from meta.loads").fetchall())


def _landed_aid(instance, run_id: str) -> tuple[str, str]:
    """(sha256, mode) of the FA.gov file the run's raw asset landed, from the run's own materialisation event."""
    from dagster import DagsterEventType

    (record,) = [
        r
        for r in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        if r.dagster_event.event_specific_data.materialization.asset_key == AssetKey(["raw", AID.name])
    ]
    metadata = record.dagster_event.event_specific_data.materialization.metadata
    return metadata["sha256"].value, metadata["mode"].value


@pytest.mark.builds  # six runs, one of them whole
@pytest.mark.e2e
def test_every_schedule_and_sensor_at_once_runs_queue_one_at_a_time_and_all_succeed(
    live, tmp_path, monkeypatch, reused_root
):
    """A real instance with the project's dagster.yaml (queued run coordinator, one run at a time) and the real
    code location: every schedule and sensor fires at once, the runs are submitted and queue; each iteration of
    the daemon's run-queue loop starts exactly one. Runs execute in this process (synchronous run launcher instead
    of a subprocess per run) and each succeeds.

    The queue does not look into a run, so all but the last request run as the subset of their build that lands
    the FA.gov file (their own run config for it, live or landed); the last one runs whole, as requested, after
    the live ones, and publishes a valid warehouse holding the newer vintage they landed."""
    import shutil

    import yaml
    from dagster import DagsterInstance, DagsterRunStatus
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.storage.dagster_run import RunsFilter
    from dagster._core.test_utils import create_test_daemon_workspace_context
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
    from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
    from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import QueuedRunCoordinatorDaemon

    from tests.conftest import PROJECT_ROOT

    home = tmp_path / "dagster_home"
    home.mkdir()
    config = yaml.safe_load((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
    assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1
    config["run_launcher"] = {
        "module": "dagster._core.launcher.sync_in_memory_run_launcher",
        "class": "SyncInMemoryRunLauncher",
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    shutil.copy(PROJECT_ROOT / "workspace.yaml", home / "workspace.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("HPW_MODE", raising=False)
    # the runs' warehouse_db resolves HPW_WAREHOUSE_DIR: a folder this worker reuses, so that dbt's parse state
    # kept for it by an earlier build spares the whole run a parse from scratch (tests/conftest.py, reused_folder)
    warehouse = reused_root
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(warehouse))
    # upstream published a new FA.gov version: the quarterly runs land it, later runs must keep it (mode `landed`)
    newer = b"".join(AID.bundled_path.read_bytes().splitlines(keepends=True)[:-1])
    newer_sha = hashlib.sha256(newer).hexdigest()
    live.set_file(AID_PATH, newer, last_modified="Mon, 05 Jan 2026 09:00:00 GMT")
    defs = load_definitions()
    origin = InProcessCodeLocationOrigin(
        LoadableTargetOrigin(module_name="pipelines.definitions", working_directory=str(PROJECT_ROOT)),
        location_name="hemisphere_partnership",
    )
    aid_asset, aid_op = AssetKey(["raw", AID.name]), f"raw__{AID.name}"

    with (
        DagsterInstance.get() as instance,
        create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as workspace_context,
    ):
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        workspace = workspace_context.create_request_context()
        location = workspace.get_code_location("hemisphere_partnership")
        remote_job = next(iter(location.get_repositories().values())).get_full_job("build_warehouse")
        job = defs.resolve_job_def("build_warehouse")

        requests = []
        for schedule in defs.schedules:
            with build_schedule_context(instance=instance) as context:
                requests += [(schedule.name, r) for r in schedule.evaluate_tick(context).run_requests]
        for sensor in defs.sensors:
            if sensor.name.endswith("_upstream_sensor"):
                with build_sensor_context(instance=instance) as context:
                    requests.append((sensor.name, sensor(context)))
        assert all(isinstance(r, RunRequest) for _, r in requests)
        assert len(requests) == 6  # 3 cadence schedules + 3 cadence sensors, nothing per source
        assert all(r.asset_selection is None for _, r in requests)  # each asks for the whole build
        modes = [r.run_config["ops"][aid_op]["config"]["mode"] for _, r in requests]
        assert modes.count("live") == 2 and modes[-1] == "landed", modes  # the quarterly schedule and sensor

        for turn, (name, request) in enumerate(requests, start=1):  # all at once, as the daemon's ticks would
            whole = turn == len(requests)
            run_config = request.run_config if whole else {"ops": {aid_op: request.run_config["ops"][aid_op]}}
            run = instance.create_run_for_job(
                job_def=job,
                run_config=run_config,
                asset_selection=None if whole else {aid_asset},
                tags={**request.tags, "hpw/requested_by": name},
                remote_job_origin=remote_job.get_remote_origin(),
                job_code_origin=remote_job.get_python_origin(),
            )
            instance.submit_run(run.run_id, workspace)
        assert len(instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.QUEUED]))) == len(requests)

        dequeuer = QueuedRunCoordinatorDaemon(interval_seconds=1)
        landed = []
        for turn in range(1, len(requests) + 1):  # bounded: the queue must drain in exactly one run per iteration
            list(dequeuer.run_iteration(workspace_context))
            done = instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))
            assert len(done) == turn, [(r.tags["hpw/requested_by"], r.status) for r in instance.get_runs()]
            assert (
                len(instance.get_runs(filters=RunsFilter(statuses=[DagsterRunStatus.QUEUED]))) == len(requests) - turn
            )
            run = done[0]  # newest first
            assert run.tags["hpw/requested_by"] == requests[turn - 1][0]  # in the order they were submitted
            landed.append(_landed_aid(instance, run.run_id))
            # landed mode reads the newest landed vintage, the bundled snapshot while nothing has been downloaded
            expected = "live" if modes[turn - 1] == "live" else "landed" if "live" in modes[: turn - 1] else "snapshot"
            assert landed[-1][1] == expected, (run.tags, landed[-1])
        # the live runs landed the newer upstream file; every later run, of any cadence, kept it
        first_live = modes.index("live")
        assert all(sha == hashlib.sha256(AID.bundled_path.read_bytes()).hexdigest() for sha, _ in landed[:first_live])
        assert all(sha == newer_sha for sha, _ in landed[first_live:]), landed
        assert [r.status for r in instance.get_runs()] == [DagsterRunStatus.SUCCESS] * len(requests)
        # the whole run published a complete warehouse with that vintage
        assert _published_is_valid(warehouse / "partnership.duckdb")[AID.name] == newer_sha
