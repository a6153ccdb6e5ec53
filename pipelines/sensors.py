"""Sensors that look for a new upstream version cheaply and request a build only then.

One sensor per cadence (`<cadence>_upstream_sensor`), over the sources of that cadence with a live address, so
that one publisher release requests one build, never one per source. Each tick sends a HEAD request per publisher
file with the validators of the last landed vintage (`If-None-Match` / `If-Modified-Since`, from the ingestion
log): a 304 or the same ETag/Last-Modified means nothing changed and the sensor skips, so nothing is rebuilt.
A new ETag or Last-Modified requests one `build_warehouse` run with the changed sources `live` and every other raw
table `landed` (pipelines/schedules.py), keyed by the new validators so the same upstream version is never
requested twice; the instance's run queue (one run at a time) orders it behind any build in progress.
Sensors start STOPPED; turn them on in the UI (Automation) or with `dagster sensor start <name>`.
"""

from __future__ import annotations

import hashlib

from dagster import DefaultSensorStatus, RunRequest, SensorDefinition, SensorEvaluationContext, SkipReason, sensor

from pipelines import fetch, settings
from pipelines.schedules import BUILD_JOB_NAME, CADENCE, live_run_config, sources_of, tables_by_source

# How often a sensor looks (seconds): often enough to notice a release within hours, rarely enough to be polite.
INTERVAL = {"monthly": 6 * 3600, "quarterly": 12 * 3600, "yearly": 24 * 3600}


def upstream_sensor(cadence: str, sources: list[str]) -> SensorDefinition:
    files = {table.fetch_key: table for source in sources for table in tables_by_source()[source] if table.live_url}

    @sensor(
        name=f"{cadence}_upstream_sensor",
        job_name=BUILD_JOB_NAME,
        minimum_interval_seconds=INTERVAL[cadence],
        default_status=DefaultSensorStatus.STOPPED,
        description=f"HEAD the live addresses of the {cadence} sources ({', '.join(sources)}); request one live "
        "build of the changed ones only when a new version is published.",
    )
    def _sensor(context: SensorEvaluationContext):
        root = fetch.data_dir(settings.warehouse_dir())
        reasons, changed, changed_sources = [], [], set()
        for table in files.values():
            is_new, reason = fetch.probe(table, root)
            reasons.append(reason)
            if is_new:
                changed.append(reason)
                changed_sources.add(table.source)
        if not changed:
            return SkipReason("; ".join(reasons))
        context.log.info("; ".join(changed))
        return RunRequest(
            run_key=f"{cadence}:" + hashlib.sha256("|".join(changed).encode()).hexdigest()[:16],
            run_config=live_run_config(changed_sources),
            tags={"hpw/trigger": "sensor", "hpw/cadence": cadence, "hpw/sources": ",".join(sorted(changed_sources))},
        )

    return _sensor


SENSORS = [
    upstream_sensor(cadence, live)
    for cadence in CADENCE
    if (live := [s for s in sources_of(cadence) if any(t.live_url for t in tables_by_source()[s])])
]
