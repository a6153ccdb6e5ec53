"""The last asset of a build: swap the finished build database in as the published warehouse, then export.

It runs only when every upstream asset succeeded, every blocking contract check passed and `dbt build`
(models and tests) succeeded, so a failed build never touches `warehouse/partnership.duckdb`.
"""


import time

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from pipelines import exports, fingerprint, warehouse
from pipelines.dbt import warehouse_dbt_assets
from pipelines.resources import WarehouseResource

MART_KEYS = sorted((k for k in warehouse_dbt_assets.keys if k.path[0] == "marts"), key=lambda k: k.to_user_string())


@asset(
    key=AssetKey(["published", "partnership_warehouse"]),
    group_name="published",
    deps=MART_KEYS,
    kinds={"duckdb", "parquet"},
    description="warehouse/partnership.duckdb (read-only copy for analysts), warehouse/exports/*.parquet and datapackage.json.",
)
def published_warehouse(context: AssetExecutionContext, warehouse_db: WarehouseResource) -> MaterializeResult:
    started = time.perf_counter()
    with warehouse.connect(warehouse_db.build_database) as con:
        con.execute("create schema if not exists meta")
        con.execute(
            "create or replace table meta.build as select current_timestamp as published_at, ? as input_fingerprint",
            [fingerprint.current()],
        )
    warehouse.publish(warehouse_db.build_database, warehouse_db.published_database)
    # Parquet per mart and dimension (temporary name, then rename) and the Frictionless datapackage.json
    exported = exports.export(warehouse_db.published_database, warehouse_db.exports_dir)
    fingerprint.record(warehouse_db.root)
    context.log.info(f"published {warehouse_db.published_database.name}; exported {len(exported)} Parquet files and {exports.DATAPACKAGE}")
    return MaterializeResult(
        metadata={
            "published": str(warehouse_db.published_database.name),
            "exports": MetadataValue.int(len(exported)),
            "seconds": MetadataValue.float(round(time.perf_counter() - started, 3)),
        }
    )
