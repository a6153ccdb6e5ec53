"""Schedules at each source's cadence, upstream sensors that request a run only on a new version, freshness per source."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from dagster import AssetKey, RunRequest, SkipReason, build_schedule_context, build_sensor_context
from dagster._utils.schedules import cron_string_iterator

from pipelines import fetch
from pipelines.sources import RAW_TABLES, RAW_TABLES_BY_NAME
from tests.livehttp import LiveServer
from tests.test_definitions import load_definitions

AID = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
AID_PATH = urlsplit(AID.live_url).path


def _gaps(cron: str) -> set[float]:
    """Days between consecutive firings of a cron over two years."""
    import datetime as dt

    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc).timestamp()
    times = []
    for fired in cron_string_iterator(start, cron, "UTC"):
        times.append(fired)
        if len(times) > 30 or (fired.timestamp() - start) > 2 * 366 * 86400:
            break
    return {round((b - a).total_seconds() / 86400) for a, b in zip(times, times[1:])}


def test_one_schedule_per_published_source_at_its_real_cadence():
    defs = load_definitions()
    schedules = {s.name: s for s in defs.schedules}
    published = {t.source for t in RAW_TABLES if t.cadence != "never"}  # a RawTable may declare its own cadence
    assert {name.rsplit("_", 1)[0] for name in schedules} == published
    expected_days = {"monthly": {28, 29, 30, 31}, "quarterly": {90, 91, 92}, "yearly": {365, 366}}
    for name, schedule in schedules.items():
        cadence = schedule.tags["hpw/cadence"]
        assert name.endswith(cadence) and schedule.tags["hpw/source"] in published
        assert _gaps(schedule.cron_schedule) <= expected_days[cadence], (name, schedule.cron_schedule)
        assert schedule.job_name == "build_warehouse"
        with build_schedule_context() as context:
            request = schedule.evaluate_tick(context).run_requests[0]
        ops = request.run_config["ops"]  # scheduled runs are live runs of every raw asset
        assert {k.removeprefix("raw__") for k in ops} == {t.name for t in RAW_TABLES}
        assert {v["config"]["mode"] for v in ops.values()} == {"live"}
    assert schedules["us_foreign_aid_quarterly"] and schedules["sipri_milex_yearly"] and schedules["imf_dots_us_trade_monthly"]
    assert defs.resolve_job_def("build_warehouse").executor_def.name == "in_process"


def test_freshness_check_and_policy_on_every_scheduled_raw_asset():
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    checks = {(k.asset_key, k.name) for k in graph.asset_check_keys}
    for table in RAW_TABLES:
        key = AssetKey(["raw", table.name])
        node = graph.get(key)
        if table.cadence == "never":
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


def _aid_sensor():
    defs = load_definitions()
    return next(s for s in defs.sensors if s.name == "us_foreign_aid_upstream_sensor")


def _tick(sensor):
    with build_sensor_context() as context:
        return sensor(context)


def test_sensor_requests_a_run_only_when_upstream_changes(live, tmp_path):
    sensor = _aid_sensor()
    first = _tick(sensor)  # nothing landed yet: a run is needed
    assert isinstance(first, RunRequest) and first.tags["hpw/source"] == "us_foreign_aid"

    acquired = fetch.acquire(AID, None, tmp_path / "warehouse", mode="live")
    fetch.record(acquired, fetch.data_dir(tmp_path / "warehouse"), rows=None)
    gets_before = len(live.gets(AID_PATH))

    unchanged = _tick(sensor)  # same upstream: HEAD answered 304, no run, nothing downloaded
    assert isinstance(unchanged, SkipReason) and "not modified" in unchanged.skip_message
    heads = [h for m, p, h in live.requests if m == "HEAD" and p == AID_PATH]
    assert heads[-1].get("If-None-Match") == acquired.ingestion.etag
    assert len(live.gets(AID_PATH)) == gets_before

    live.set_file(AID_PATH, AID.bundled_path.read_bytes() + b"\r\n", last_modified="Mon, 05 Jan 2026 09:00:00 GMT")
    changed = _tick(sensor)
    assert isinstance(changed, RunRequest)
    assert changed.run_config["ops"]["raw__us_foreign_aid_summary"]["config"]["mode"] == "live"
    assert changed.run_key != first.run_key
    assert len(live.gets(AID_PATH)) == gets_before  # sensors only look; the run downloads
