"""Raw assets: one per raw table, generated from the source registry.

Each asset reads its file (bundled snapshot, run config `path`, or `HPW_<TABLE>_PATH`), parses it with the
source's real dialect, enforces the pandera contract, and lands `raw.<table>` in the build database.
A contract or crosswalk failure is reported as a failed `contract` asset check and stops the build.
"""


import time
from typing import Optional

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from data_contracts._base import ContractViolation
from pipelines import countries, settings, warehouse
from pipelines.countries import UnmappedCountryError
from pipelines.resources import WarehouseResource
from pipelines.sources import RAW_TABLES
from pipelines.sources.base import RawTable, entity_counts

DUCKDB_POOL = "duckdb_write"  # one writer at a time on the build database


class RawFileConfig(Config):
    path: Optional[str] = None
    """A file to read instead of the bundled snapshot (same layout as the publisher's download)."""


def raw_asset(table: RawTable):
    key = AssetKey(["raw", table.name])

    @asset(
        key=key,
        group_name=table.group,
        description=table.description,
        kinds={"duckdb", "polars"},
        pool=DUCKDB_POOL,
        check_specs=[AssetCheckSpec("contract", asset=key, blocking=True, description="pandera contract + country crosswalk")],
        metadata={"source": table.source, "snapshot": f"data/snapshots/{table.snapshot}/{table.default_file}"},
    )
    def _raw(context: AssetExecutionContext, config: RawFileConfig, warehouse_db: WarehouseResource):
        started = time.perf_counter()
        source_file = table.locate(config.path)
        context.log.info(f"{table.name}: reading {source_file.path.name} ({source_file.bytes:,} bytes)")
        try:
            frame = table.parse(source_file.path)
        except (ContractViolation, UnmappedCountryError) as err:
            yield AssetCheckResult(
                check_name="contract", passed=False, severity=AssetCheckSeverity.ERROR,
                metadata={"error": MetadataValue.md(f"```\n{err}\n```"), "file": source_file.path.name},
            )
            raise Failure(description=str(err), metadata={"file": source_file.path.name}) from err
        counts = entity_counts(frame)
        landed = warehouse.land_raw(
            warehouse_db.build_database, table, frame, source_file, counts, time.perf_counter() - started
        )
        yield MaterializeResult(
            metadata={
                **{k: MetadataValue.int(v) for k, v in counts.items()},
                "rows_landed": MetadataValue.int(landed),
                "rows_rejected": MetadataValue.int(0),
                "sha256": source_file.sha256,
                "file": source_file.path.name,
                "vintage": source_file.vintage,
                "seconds": MetadataValue.float(round(time.perf_counter() - started, 3)),
            },
            check_results=[AssetCheckResult(check_name="contract", passed=True, metadata={"rows": frame.height})],
        )

    _raw.__name__ = f"raw_{table.name}"
    return _raw


@asset(
    key=AssetKey(["raw", "country_universe"]),
    group_name="raw",
    kinds={"duckdb"},
    pool=DUCKDB_POOL,
    description="The configured country universe (LAC + extras from HPW_EXTRA_COUNTRIES), focus flags, and "
    "withdrawn ISO entities the sources still use (data/reference/historical_countries.csv).",
)
def raw_country_universe(warehouse_db: WarehouseResource) -> MaterializeResult:
    reference = countries.reference_countries()
    universe = countries.universe_iso3()
    frame = reference.with_columns(
        in_universe=pl.col("iso3").is_in(list(universe)),
        is_focus=pl.col("iso3").is_in(list(settings.FOCUS_COUNTRIES)),
    )
    rows = warehouse.land_frame(warehouse_db.build_database, "raw", "country_universe", frame)
    return MaterializeResult(metadata={"rows_landed": rows, "in_universe": len(universe)})


RAW_ASSETS = [raw_asset(table) for table in RAW_TABLES] + [raw_country_universe]
