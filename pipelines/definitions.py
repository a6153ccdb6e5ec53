"""The one place that assembles the Dagster code location (loaded by workspace.yaml and `hpw build`)."""

from __future__ import annotations

import os

from dagster import AssetSelection, Definitions, default_loggers, define_asset_job, in_process_executor

from pipelines.assets import RAW_ASSETS
from pipelines.dbt import dbt_resource, warehouse_dbt_assets
from pipelines.partitions import PARTITIONED_ASSETS, census_country_job, worldbank_country_job
from pipelines.publish import published_warehouse
from pipelines.resources import default_warehouse
from pipelines.run_events import run_events_logger
from pipelines.schedules import BUILD_JOB_NAME, FRESHNESS_CHECKS, FRESHNESS_SENSOR, SCHEDULES
from pipelines.sensors import SENSORS

# Dagster hands a run's planned events (one per asset and check of the run, ~500 in a cold build) to the event
# log as one batch when this is set, and the project instance stores a batch in one transaction
# (pipelines/instance_storage.py). Set here because every process that runs the build job loads this module.
os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")

ALL_ASSETS = [*RAW_ASSETS, warehouse_dbt_assets, published_warehouse]

# The one definition of "the build": raw -> contracts -> dbt build -> publish, and the freshness checks.
# `hpw build` runs this job on the project instance (a refresh runs a subset of it: pipelines/refresh.py);
# so do the UI, the cadence schedules and the upstream sensors. In-process because every step writes the same
# DuckDB file (one writer at a time) and a process per step costs seconds on 2 cores.
# The per-country landing assets (group `landing`, pipelines/partitions.py) run in their own partitioned job.
BUILD_SELECTION = AssetSelection.all() - AssetSelection.groups("landing")
build_job = define_asset_job(BUILD_JOB_NAME, selection=BUILD_SELECTION, executor_def=in_process_executor)

defs = Definitions(
    assets=[*ALL_ASSETS, *PARTITIONED_ASSETS],
    jobs=[build_job, worldbank_country_job, census_country_job],
    schedules=SCHEDULES,
    sensors=[*SENSORS, FRESHNESS_SENSOR],
    asset_checks=FRESHNESS_CHECKS,
    resources={"warehouse_db": default_warehouse(), "dbt": dbt_resource()},
    executor=in_process_executor,
    # the console logger, and the run's events handed to `hpw build`'s progress lines (pipelines/run_events.py)
    loggers={**default_loggers(), "hpw_run_events": run_events_logger},
)
