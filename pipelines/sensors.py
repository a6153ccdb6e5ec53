"""Sensors that look for a new upstream version cheaply and request a build only then.

One sensor per source with a live address. Each tick sends a HEAD request per publisher file with the validators
of the last landed vintage (`If-None-Match` / `If-Modified-Since`, from the ingestion log): a 304 or the same
ETag/Last-Modified means nothing changed and the sensor skips, so downstream assets are not rebuilt. A new ETag or
Last-Modified requests one live `build_warehouse` run, keyed by the new validators so the same upstream version is
never requested twice. Sensors start STOPPED; turn them on in the UI (Automation) or with
`dagster sensor start <name>`.
"""

from __future__ import annotations

import hashlib

from dagster import DefaultSensorStatus, RunRequest, SensorDefinition, SensorEvaluationContext, SkipReason, sensor

from pipelines import fetch, settings
from pipelines.schedules import BUILD_JOB_NAME, CADENCE, live_run_config, tables_by_source

# How often a sensor looks (seconds): often enough to notice a release within hours, rarely enough to be polite.
INTERVAL = {"monthly": 6 * 3600, "quarterly": 12 * 3600, "yearly": 24 * 3600}


def upstream_sensor(source: str, tables) -> SensorDefinition:
    files = {table.fetch_key: table for table in tables if table.live_url}
    cadence = tables[0].cadence

    @sensor(
        name=f"{source}_upstream_sensor",
        job_name=BUILD_JOB_NAME,
        minimum_interval_seconds=INTERVAL.get(cadence, 24 * 3600),
        default_status=DefaultSensorStatus.STOPPED,
        description=f"HEAD the live address(es) of {source}; request a live build only when a new version is published.",
    )
    def _sensor(context: SensorEvaluationContext):
        root = fetch.data_dir(settings.warehouse_dir())
        reasons, changed = [], []
        for table in files.values():
            is_new, reason = fetch.probe(table, root)
            reasons.append(reason)
            if is_new:
                changed.append(reason)
        if not changed:
            return SkipReason("; ".join(reasons))
        context.log.info("; ".join(changed))
        return RunRequest(
            run_key=f"{source}:" + hashlib.sha256("|".join(changed).encode()).hexdigest()[:16],
            run_config=live_run_config(),
            tags={"hpw/source": source, "hpw/trigger": "sensor"},
        )

    return _sensor


SENSORS = [
    upstream_sensor(source, tables)
    for source, tables in sorted(tables_by_source().items())
    if tables[0].cadence in CADENCE and any(t.live_url for t in tables)
]
