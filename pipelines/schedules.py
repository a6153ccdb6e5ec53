"""When the warehouse refreshes: one schedule per cadence, one run at a time, freshness per source.

Choice: **one schedule per cadence** (monthly, quarterly, yearly), not one per source and not declarative
automation. The build is one job that recreates the build database and publishes it atomically, so every run is
a whole build; per-source schedules meant several identical whole builds firing in the same minute (all but one
failing on the build lock), and automation conditions would request the same whole build once per stale asset.
A cadence run is the `build_warehouse` job with run config per raw asset (op `raw__<table>`, `RawFileConfig`):

- the cadence's own sources in `mode: live` (conditional download; a 304 reuses the landed vintage);
- every other raw table in `mode: landed`: the newest vintage already landed, else the bundled snapshot, with no
  network (pipelines/fetch.py), so a monthly run never rolls a quarterly source back to its snapshot.

The three crons never fire on the same day (3rd of each month, 5th of each quarter's first month, 15 May), and the
instance queues runs one at a time (`concurrency: runs: max_concurrent_runs: 1` in dagster_home/dagster.yaml):
a schedule firing while an upstream sensor's run (pipelines/sensors.py) is in progress waits in the queue instead
of failing on the build lock. Cadence `never` (hand-built) and `retired` (discontinued by the publisher, e.g. IMF
DOTS) have no schedule, no sensor and no freshness check: their raw table reads what was landed.

The daemon must run for schedules and sensors to fire: `dagster dev` runs one, or `dagster-daemon run`
(README "Live mode and schedules"). Everything starts STOPPED so that opening the UI never touches the network.

Freshness: each scheduled raw asset carries a `FreshnessPolicy.time_window` (Dagster 1.12+ freshness policies,
evaluated by the freshness daemon) and a `freshness` asset check (`build_last_update_freshness_checks`, evaluated by
the `freshness_checks_sensor`), both with the source's expected update period plus a grace period.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Iterable
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
    """source -> cadence, for every source a publisher still updates (not `never`, not `retired`)."""
    return {source: tables[0].cadence for source, tables in tables_by_source().items() if tables[0].cadence in CADENCE}


def sources_of(cadence: str) -> list[str]:
    return sorted(source for source, c in scheduled_sources().items() if c == cadence)


def freshness_policy(table: RawTable) -> FreshnessPolicy | None:
    if table.cadence not in CADENCE:
        return None
    _, period, grace = CADENCE[table.cadence]
    return FreshnessPolicy.time_window(fail_window=period + grace, warn_window=period)


def live_run_config(live_sources: Iterable[str], tables=RAW_TABLES) -> dict:
    """Run config of the build job: `live` for the raw tables of these sources, `landed` for every other one."""
    live = set(live_sources)
    return {
        "ops": {
            f"raw__{table.name}": {"config": {"mode": "live" if table.source in live else "landed"}} for table in tables
        }
    }


def _schedule(cadence: str) -> ScheduleDefinition:
    cron, _, _ = CADENCE[cadence]
    sources = sources_of(cadence)
    return ScheduleDefinition(
        name=f"refresh_{cadence}",
        cron_schedule=cron,
        execution_timezone="UTC",
        job_name=BUILD_JOB_NAME,
        run_config=live_run_config(sources),
        tags={"hpw/trigger": "schedule", "hpw/cadence": cadence},
        description=f"Refresh the {cadence} sources live ({', '.join(sources)}); the others read their landed "
        "vintage. One whole build, queued behind any run in progress.",
        default_status=DefaultScheduleStatus.STOPPED,
    )


SCHEDULES = [_schedule(cadence) for cadence in CADENCE if sources_of(cadence)]

# Freshness checks are "superseded" by FreshnessPolicy in Dagster 1.12+, but they are still the way a per-source check
# shows on the asset's Checks tab and in GraphQL; the policies above are attached as well.
warnings.filterwarnings("ignore", message=r".*build_(last_update_freshness_checks|sensor_for_freshness_checks).*")

# One check definition per cadence (its sources share the bound): each is one step of a build run, where a
# definition per source made a dozen steps evaluating the same thing; the check keys (asset, `freshness_check`)
# are the same either way, and a refresh runs only the checks of the raw tables it re-lands.
FRESHNESS_CHECKS = [
    check
    for cadence in CADENCE
    if sources_of(cadence)
    for check in build_last_update_freshness_checks(
        assets=[AssetKey(["raw", t.name]) for source in sources_of(cadence) for t in tables_by_source()[source]],
        lower_bound_delta=CADENCE[cadence][1] + CADENCE[cadence][2],
    )
]

FRESHNESS_SENSOR = build_sensor_for_freshness_checks(freshness_checks=FRESHNESS_CHECKS, minimum_interval_seconds=3600)
