"""Raw assets: one per raw table, generated from the source registry.

Each asset reads its file (bundled snapshot, run config `path`, `HPW_<TABLE>_PATH`, or a live download in live
mode: see pipelines/fetch.py), records the ingestion in the persistent log (copied into meta.ingestions), parses it
with the source's real dialect, enforces the pandera contract, and lands `raw.<table>` in the build database.
A contract or crosswalk failure is reported as a failed `contract` asset check and stops the build. Every failure
is explained here, where source, file and exception are known (pipelines/diagnosis.py), and travels as structured
metadata on the failed check and the `Failure`; a file at fault is kept under `<warehouse>/.rejected/<source>/`.
What the contracts find without failing (quarantined values, plausibility flags, additive schema drift against the
published warehouse's columns) is returned by them and landed / emitted here as metadata and WARN checks.
"""

import os
import time
from pathlib import Path

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

from data_contracts._base import ContractViolation, contract_run
from pipelines import countries, drift, fetch, prefetch, quarantine, settings, warehouse
from pipelines.countries import UnmappedCountryError
from pipelines.diagnosis import RawFailure, explain, one_line
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
    # the tables a worker parses on the second core run last, so it has them ready (pipelines/prefetch.py)
    rank = prefetch.priority(table.name)

    @asset(
        key=key,
        group_name=table.group,
        description=table.description,
        kinds={"duckdb", "polars"},
        pool=DUCKDB_POOL,
        op_tags=None if rank is None else {"dagster/priority": str(rank)},
        freshness_policy=freshness_policy(table),
        check_specs=[
            AssetCheckSpec(
                "contract", asset=key, blocking=True, description="structural contract rules + country crosswalk"
            ),
            AssetCheckSpec(
                "schema_drift",
                asset=key,
                blocking=False,
                description="columns new since the previous published build (additive drift, kept in raw)",
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
        source_path: Path | None = None
        try:
            # The previous published build's columns: a new column in the file is additive drift, in every run kind.
            baseline = drift.load_baseline(warehouse_db.published_database)
            acquired = fetch.acquire(table, config.path, warehouse_db.root, logger=context.log, mode=config.mode)
            source_file = acquired.file
            source_path = source_file.path
            context.log.info(f"{table.name}: reading {source_file.path.name} ({source_file.bytes:,} bytes)")
            countries.take_outcomes(table.source)  # what an earlier, failed parse of this source left behind
        except Exception as err:
            raise _failure(context, table, warehouse_db, err, None, file_fault=False) from err
        try:
            with contract_run(baseline) as contracts:
                if table.land is not None:  # streaming path for multi-GB files: validates and writes raw.<name>
                    warehouse.hold_open(warehouse_db.build_database)
                    counts = table.land(warehouse_db.build_database, source_file)
                else:  # parsed on the second core when it was for exactly this input (pipelines/prefetch.py)
                    prefetched = prefetch.take(table, source_file, baseline)
                    frame = table.parse(source_file.path) if prefetched is None else prefetched
        except Exception as err:
            # A broken contract, an unknown country, or a file that is not data at all (empty, truncated, an error
            # page, wrong encoding, a bad xlsx): all are a failed `contract` check in the UI and stop the build.
            readable = isinstance(err, (ContractViolation, UnmappedCountryError))
            message = str(err) if readable else f"{type(err).__name__}: {err}"
            try:
                fetch.record(
                    acquired,
                    data_root,
                    rows=None,
                    outcome="contract_failed" if readable else "unreadable",
                    error=message.splitlines()[0] if message else type(err).__name__,
                )
            except Exception as log_err:  # the ingestion log itself failed (a full disk): not the file's fault
                raise _failure(context, table, warehouse_db, log_err, source_path, file_fault=False) from log_err
            failure = _explain(context, table, warehouse_db, err, source_path, file_fault=True)
            failure_meta = _failure_metadata(failure, contracts.findings.drift_warnings)
            yield AssetCheckResult(
                check_name="contract",
                passed=False,
                severity=AssetCheckSeverity.ERROR,
                metadata={
                    "error": MetadataValue.md(f"```\n{message}\n```"),
                    "file": source_file.path.name,
                    **failure_meta,
                },
            )
            raise Failure(description=failure_meta["explained"].value, metadata=failure_meta) from err
        findings = contracts.findings
        for warning in findings.drift_warnings:
            context.log.warning(warning)
        try:
            # Every raw asset of the run lands through the one database the run holds open: no open, catalog
            # replay and checkpoint per asset (released before dbt and at the end of the run).
            warehouse.hold_open(warehouse_db.build_database)
            with warehouse.connect(warehouse_db.build_database) as con:
                # the table and its meta rows in one transaction (one commit and sync), the ingestion log's copy in
                # another, after the log recorded the landing
                con.begin()
                if table.land is not None:
                    counts = dict(counts)
                    landed, rejected = counts.pop("rows_landed"), 0  # the streaming path rejects a file, never rows
                    rows = counts.get("rows_in", landed)
                else:
                    # a Parquet result of the parse worker comes with its rows counted
                    counts = dict(frame.counts) if isinstance(frame, warehouse.ParquetFrame) else entity_counts(frame)
                    rows = frame.height
                    landed, rejected = warehouse.land_raw(
                        con,
                        table,
                        frame,
                        source_file,
                        counts,
                        time.perf_counter() - started,
                        quarantined=findings.quarantined,
                    )
                unresolved = countries.unresolved_frame(countries.take_outcomes(table.source))
                found = quarantine.land_findings(con, table.name, source_file.path.name, unresolved, findings.flags)
                con.commit()
                fetch.record(acquired, data_root, rows=rows)
                con.begin()
                fetch.copy_log_into(con, data_root)
                con.commit()
        except Exception as err:  # the anomaly gate (the file's fault), or the disk, the log, the database
            raise _failure(context, table, warehouse_db, err, source_path, file_fault=False) from err
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
                **{k: MetadataValue.int(v) for k, v in found.items()},
                "drift_warnings": MetadataValue.json(findings.drift_warnings),
            },
            # Same bytes, same data version: Dagster marks downstream assets stale only when this changes.
            data_version=DataVersion(source_file.sha256),
            check_results=[
                AssetCheckResult(check_name="contract", passed=True, metadata={"rows": rows}),
                AssetCheckResult(
                    check_name="schema_drift",
                    passed=not findings.drift_warnings,
                    severity=AssetCheckSeverity.WARN,
                    metadata={
                        "warnings": MetadataValue.json(findings.drift_warnings),
                        "baseline": "published warehouse" if table.source in baseline else "none (first build)",
                    },
                ),
                AssetCheckResult(
                    check_name="out_of_region_unresolved",
                    passed=not found["unresolved_entities"],
                    severity=AssetCheckSeverity.WARN,
                    metadata={
                        "entities": found["unresolved_entities"],
                        "rows": found["rows_unresolved"],
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
                    passed=not found["plausibility_flags"],
                    severity=AssetCheckSeverity.WARN,
                    metadata={"rows_flagged": found["plausibility_flags"]},
                ),
            ],
        )

    _raw.__name__ = f"raw_{table.name}"  # type: ignore[attr-defined]  # the op's name in stack traces
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
    warehouse.hold_open(warehouse_db.build_database)
    rows = warehouse.land_frame(warehouse_db.build_database, "raw", "country_universe", frame)
    return MaterializeResult(metadata={"rows_landed": rows, "in_universe": len(universe)})


def _explain(context, table: RawTable, warehouse_db, err, path: Path | None, *, file_fault: bool) -> RawFailure:
    """Explain the failure and keep the file at fault (the exact bytes) beside its error for inspection."""
    failure = explain(table, path, err, file_fault=file_fault)
    if failure.file_fault and failure.path is not None:
        kept = quarantine.keep_rejected(warehouse_db.root, table.source, Path(failure.path), failure.explained)
        failure.rejected_copy = str(kept) if kept is not None else None
    context.log.error(one_line(failure.explained, 600))  # whole in the Failure's metadata; a cell may be 10 MB
    return failure


def _failure(context, table: RawTable, warehouse_db, err, path: Path | None, *, file_fault: bool) -> Failure:
    failure = _explain(context, table, warehouse_db, err, path, file_fault=file_fault)
    meta = _failure_metadata(failure, [])
    return Failure(description=meta["explained"].value, metadata=meta)


# The bound Dagster puts on an event's error text: a 10 MB cell is not stored whole in the event log (the rejected
# copy's .error.txt keeps the whole explanation).
EVENT_TEXT_LIMIT = int(os.environ.get("DAGSTER_EVENT_ERROR_FIELD_SIZE_LIMIT", "500000"))


def _bounded(text: str) -> str:
    return text if len(text) <= EVENT_TEXT_LIMIT else text[:EVENT_TEXT_LIMIT] + " (TRUNCATED)"


def _failure_metadata(failure: RawFailure, drift_warnings: list[str]) -> dict:
    """The failure as metadata a reader takes field by field (hpw build prints `explained`)."""
    meta = {
        "source": failure.source,
        "raw_table": failure.raw_table,
        "failure_kind": failure.kind,
        "file_fault": failure.file_fault,
        "explained": MetadataValue.text(_bounded(failure.explained)),
        "problems": MetadataValue.json(failure.problems),
        "rows": MetadataValue.json(failure.rows),
        "values": MetadataValue.json(failure.values),
        "drift_warnings": MetadataValue.json(drift_warnings),
    }
    optional = {
        "file": failure.file,
        "path": failure.path,
        "column": failure.column,
        "diagnosis": failure.diagnosis,
        "located": failure.located,
        "hint": failure.hint,
        "rejected_copy": failure.rejected_copy,
    }
    meta.update({k: MetadataValue.text(v) for k, v in optional.items() if v is not None})
    return meta


RAW_ASSETS = [raw_asset(table) for table in RAW_TABLES] + [raw_country_universe]
