"""Raw assets: one per raw table, generated from the source registry.

Each asset reads its file (bundled snapshot, run config `path`, `HPW_<TABLE>_PATH`, or a live download in live
mode: see pipelines/fetch.py), records the ingestion in the persistent log (copied into meta.ingestions), parses it with the
source's real dialect, enforces the pandera contract, and lands `raw.<table>` in the build database.
A contract or crosswalk failure is reported as a failed `contract` asset check and stops the build.
"""

import time

import polars as pl
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Config,
    DataVersion,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)

from data_contracts._base import ContractViolation
from pipelines import countries, fetch, quarantine, settings, warehouse
from pipelines.countries import UnmappedCountryError
from pipelines.resources import WarehouseResource
from pipelines.schedules import freshness_policy
from pipelines.sources import RAW_TABLES
from pipelines.sources.base import RawTable, entity_counts

DUCKDB_POOL = "duckdb_write"  # one writer at a time on the build database


class RawFileConfig(Config):
    path: str | None = None
    """A file to read instead of the bundled snapshot (same layout as the publisher's download)."""
    mode: str | None = None
    """`snapshot` or `live`; default: HPW_MODE (snapshot). Schedules and sensors request `live`."""


def raw_asset(table: RawTable):
    key = AssetKey(["raw", table.name])

    @asset(
        key=key,
        group_name=table.group,
        description=table.description,
        kinds={"duckdb", "polars"},
        pool=DUCKDB_POOL,
        freshness_policy=freshness_policy(table),
        check_specs=[
            AssetCheckSpec(
                "contract", asset=key, blocking=True, description="structural contract rules + country crosswalk"
            ),
            AssetCheckSpec(
                "out_of_region_unresolved",
                asset=key,
                blocking=False,
                description="entities no crosswalk step resolved, judged outside the universe "
                "(meta.unresolved_entities)",
            ),
            AssetCheckSpec(
                "plausibility",
                asset=key,
                blocking=False,
                description="plausibility rules of the contract; rows kept (meta.plausibility_flags)",
            ),
        ],
        metadata={
            "source": table.source,
            "snapshot": str(table.bundled_path.relative_to(settings.PROJECT_ROOT)),
            "live_url": table.live_url or "none (snapshot or HPW_<KEY>_URL)",
            "cadence": table.cadence,
        },
    )
    def _raw(context: AssetExecutionContext, config: RawFileConfig, warehouse_db: WarehouseResource):
        started = time.perf_counter()
        data_root = fetch.data_dir(warehouse_db.root)
        try:
            acquired = fetch.acquire(table, config.path, warehouse_db.root, logger=context.log, mode=config.mode)
        except fetch.FetchError as err:
            raise Failure(description=str(err), metadata={"source": table.source}) from err
        source_file = acquired.file
        context.log.info(f"{table.name}: reading {source_file.path.name} ({source_file.bytes:,} bytes)")
        countries.take_outcomes(table.source)  # what an earlier, failed parse of this source left behind
        try:
            if table.land is not None:  # streaming path for multi-GB files: validates and writes raw.<name> itself
                counts = table.land(warehouse_db.build_database, source_file)
            else:
                frame = table.parse(source_file.path)
        except Exception as err:
            # A broken contract, an unknown country, or a file that is not data at all (empty, truncated, an error
            # page, wrong encoding, a bad xlsx): all are a failed `contract` check in the UI, logged, and stop the build.
            readable = isinstance(err, (ContractViolation, UnmappedCountryError))
            message = str(err) if readable else f"{type(err).__name__}: {err}"
            fetch.record(
                acquired,
                data_root,
                rows=None,
                outcome="contract_failed" if readable else "unreadable",
                error=message.splitlines()[0] if message else type(err).__name__,
            )
            yield AssetCheckResult(
                check_name="contract",
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                metadata={"error": MetadataValue.md(f"```\n{message}\n```"), "file": source_file.path.name},
            )
            if readable:
                raise Failure(description=message, metadata={"file": source_file.path.name}) from err
            raise
        with warehouse.connect(warehouse_db.build_database) as con:  # one connection: each open + close costs ~15 ms
            if table.land is not None:
                counts = dict(counts)
                landed, rejected = counts.pop("rows_landed"), 0  # the streaming path rejects a file, never rows
                rows = counts.get("rows_in", landed)
            else:
                counts, rows = entity_counts(frame), frame.height
                landed, rejected = warehouse.land_raw(
                    con, table, frame, source_file, counts, time.perf_counter() - started
                )
            unresolved = countries.unresolved_frame(countries.take_outcomes(table.source))
            findings = quarantine.land_findings(con, table.name, table.source, source_file.path.name, unresolved)
            fetch.record(acquired, data_root, rows=rows)
            fetch.copy_log_into(con, data_root)
        ingestion = acquired.ingestion
        yield MaterializeResult(
            metadata={
                **{k: MetadataValue.int(v) for k, v in counts.items()},
                "rows_landed": MetadataValue.int(landed),
                "rows_rejected": MetadataValue.int(rejected),
                "sha256": source_file.sha256,
                "file": source_file.path.name,
                "vintage": source_file.vintage,
                "mode": ingestion.mode,
                "url_or_path": ingestion.url_or_path,
                "ingestion_outcome": ingestion.outcome,
                "seconds": MetadataValue.float(round(time.perf_counter() - started, 3)),
                **{k: MetadataValue.int(v) for k, v in findings.items()},
            },
            # Same bytes, same data version: Dagster marks downstream assets stale only when this changes.
            data_version=DataVersion(source_file.sha256),
            check_results=[
                AssetCheckResult(check_name="contract", passed=True, metadata={"rows": rows}),
                AssetCheckResult(
                    check_name="out_of_region_unresolved",
                    passed=not findings["unresolved_entities"],
                    severity=AssetCheckSeverity.WARN,
                    metadata={
                        "entities": findings["unresolved_entities"],
                        "rows": findings["rows_unresolved"],
                        "listed": MetadataValue.md(
                            "\n".join(
                                f"- {r['code'] or ''} / {r['name'] or ''}: {r['rows']} row(s), {r['why']}"
                                for r in unresolved.head(50).iter_rows(named=True)
                            )
                            or "none"
                        ),
                    },
                ),
                AssetCheckResult(
                    check_name="plausibility",
                    passed=not findings["plausibility_flags"],
                    severity=AssetCheckSeverity.WARN,
                    metadata={"rows_flagged": findings["plausibility_flags"]},
                ),
            ],
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
