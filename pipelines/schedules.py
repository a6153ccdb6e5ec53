"""When the warehouse refreshes: one schedule per source at the publisher's cadence, and freshness per source.

Every schedule runs the whole `build_warehouse` job in **live** mode (run config `mode: live` on every raw asset):
the build database is rebuilt from scratch each run, conditional requests make unchanged sources cost one
304, and only a changed file lands as a new vintage (pipelines/fetch.py). Tags say which source's cadence fired.
The daemon must run for schedules and sensors to fire: `dagster dev` runs one, or `dagster-daemon run`
(README "Live mode and schedules"). Everything starts STOPPED so that opening the UI never touches the network.

Freshness: each raw asset carries a `FreshnessPolicy.time_window` (Dagster 1.12+ freshness policies, evaluated by
the freshness daemon) and a `freshness` asset check per source (`build_last_update_freshness_checks`, evaluated by
the `freshness_checks_sensor`), both with the source's expected update period plus a grace period.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from datetime import timedelta

from dagster import (
    AssetKey,
    DefaultScheduleStatus,
    FreshnessPolicy,
    ScheduleDefinition,
    build_last_update_freshness_checks,
    build_sensor_for_freshness_checks,
)

from pipelines.sources import RAW_TABLES
from pipelines.sources.base import RawTable

BUILD_JOB_NAME = "build_warehouse"

# cadence -> (cron in UTC, expected update period, grace before a source counts as late)
CADENCE = {
    "monthly": ("0 6 3 * *", timedelta(days=31), timedelta(days=10)),  # Census/IMF trade: early each month
    "quarterly": ("0 6 5 1,4,7,10 *", timedelta(days=92), timedelta(days=14)),  # FA.gov, DMDC, World Bank
    "yearly": ("0 6 15 5 *", timedelta(days=366), timedelta(days=30)),  # SIPRI (late April releases), MME, bases
}


def tables_by_source() -> dict[str, list[RawTable]]:
    grouped: dict[str, list[RawTable]] = defaultdict(list)
    for table in RAW_TABLES:
        grouped[table.source].append(table)
    return dict(grouped)


def scheduled_sources() -> dict[str, str]:
    """source -> cadence, for every source a publisher updates (hand-built tables have cadence `never`)."""
    return {source: tables[0].cadence for source, tables in tables_by_source().items() if tables[0].cadence in CADENCE}


def freshness_policy(table: RawTable) -> FreshnessPolicy | None:
    if table.cadence not in CADENCE:
        return None
    _, period, grace = CADENCE[table.cadence]
    return FreshnessPolicy.time_window(fail_window=period + grace, warn_window=period)


def live_run_config(tables=RAW_TABLES) -> dict:
    return {"ops": {f"raw__{table.name}": {"config": {"mode": "live"}} for table in tables}}


def _schedule(source: str, cadence: str) -> ScheduleDefinition:
    cron, _, _ = CADENCE[cadence]
    return ScheduleDefinition(
        name=f"{source}_{cadence}",
        cron_schedule=cron,
        execution_timezone="UTC",
        job_name=BUILD_JOB_NAME,
        run_config=live_run_config(),
        tags={"hpw/source": source, "hpw/trigger": "schedule", "hpw/cadence": cadence},
        description=f"Refresh {source} ({cadence}) in live mode: full build, conditional downloads, publish.",
        default_status=DefaultScheduleStatus.STOPPED,
    )


SCHEDULES = [_schedule(source, cadence) for source, cadence in sorted(scheduled_sources().items())]

# Freshness checks are "superseded" by FreshnessPolicy in Dagster 1.12+, but they are still the way a per-source check
# shows on the asset's Checks tab and in GraphQL; the policies above are attached as well.
warnings.filterwarnings("ignore", message=r".*build_(last_update_freshness_checks|sensor_for_freshness_checks).*")

FRESHNESS_CHECKS = [
    check
    for source, cadence in sorted(scheduled_sources().items())
    for check in build_last_update_freshness_checks(
        assets=[AssetKey(["raw", t.name]) for t in tables_by_source()[source]],
        lower_bound_delta=CADENCE[cadence][1] + CADENCE[cadence][2],
    )
]

FRESHNESS_SENSOR = build_sensor_for_freshness_checks(freshness_checks=FRESHNESS_CHECKS, minimum_interval_seconds=3600)
