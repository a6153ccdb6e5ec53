"""The one place that assembles the Dagster code location (loaded by workspace.yaml and `hpw build`)."""

from __future__ import annotations

from dagster import Definitions, define_asset_job, in_process_executor

from pipelines.assets import RAW_ASSETS
from pipelines.dbt import dbt_resource, warehouse_dbt_assets
from pipelines.publish import published_warehouse
from pipelines.resources import default_warehouse

ALL_ASSETS = [*RAW_ASSETS, warehouse_dbt_assets, published_warehouse]

# The whole warehouse in one run: raw -> contracts -> dbt build -> publish. In-process because every step
# writes the same DuckDB file (one writer at a time) and a process per step costs seconds on 2 cores.
build_job = define_asset_job("build_warehouse", selection="*", executor_def=in_process_executor)

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[build_job],
    resources={"warehouse_db": default_warehouse(), "dbt": dbt_resource()},
    executor=in_process_executor,
)
