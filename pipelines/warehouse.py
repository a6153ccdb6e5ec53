"""DuckDB side: landing raw tables with provenance, and publishing the build by atomic swap.

Builds never write the analysts' file. Every write goes to `warehouse/.build/partnership.duckdb`; only after
all contracts and dbt tests pass does `publish()` checkpoint it and `os.replace` it over
`warehouse/partnership.duckdb`. Readers holding the old file keep a consistent old snapshot.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from pipelines import settings
from pipelines.sources.base import RawTable, SourceFile

RAW_SCHEMA = "raw"
META_SCHEMA = "meta"
EXPORT_SCHEMAS = ("marts",)

LOADS_DDL = f"""
create table if not exists {META_SCHEMA}.loads (
    raw_table varchar, source varchar, file_name varchar, bundled boolean, sha256 varchar, bytes bigint,
    vintage varchar, rows_in bigint, rows_landed bigint, rows_rejected bigint, rows_aggregate bigint,
    rows_outside_universe bigint, rows_non_state bigint, loaded_at timestamptz, seconds double,
    rows_unresolved bigint
)"""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


# Streamed raw tables (multi-GB files) land as Parquet that a raw view reads, here under the warehouse folder.
RAW_PARQUET_DIR = "raw_parquet"
PUBLISHED_NAME = "partnership.duckdb"


def raw_parquet_dir(database: Path) -> Path:
    """Where `database`'s streamed raw tables keep their Parquet. For a warehouse's build database
    (`<root>/.build/partnership.duckdb`) that is `<root>/raw_parquet`: outside the build area, which every build
    wipes, because the published database's views keep reading it. For any other file `x.duckdb`, its own
    `x.raw_parquet/` beside it."""
    database = database.resolve()
    if database.parent.name == ".build":
        return database.parent.parent / RAW_PARQUET_DIR
    return database.with_name(f"{database.stem}.{RAW_PARQUET_DIR}")


def prune_raw_parquet(database: Path, keep: Path) -> list[Path]:
    """Delete the Parquet of `keep`'s raw table that neither this load nor the published database reads.

    Files are named `<raw table>-<content hash>.parquet`; a reader holding the published file keeps its snapshot
    readable until the next build replaces it. When the published database cannot be read, nothing is deleted.
    """
    table = keep.name.rsplit("-", 1)[0]
    published = keep.parent.parent / PUBLISHED_NAME
    referenced = {keep.name}
    if published.is_file() and published.resolve() != database.resolve():
        try:
            with duckdb.connect(str(published), read_only=True) as con:
                views = [r[0] or "" for r in con.execute("select sql from duckdb_views() where not internal").fetchall()]
        except duckdb.Error:
            return []
        referenced |= {f.name for f in keep.parent.glob(f"{table}-*.parquet") if any(f.name in sql for sql in views)}
    removed = [f for f in keep.parent.glob(f"{table}-*.parquet") if f.name not in referenced]
    for stale in removed:
        stale.unlink(missing_ok=True)
    return removed


def land_raw(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    frame: pl.DataFrame,
    source_file: SourceFile,
    counts: dict[str, int],
    seconds: float,
) -> tuple[int, int]:
    """Replace `raw.<table>` with the validated frame, stamped with its provenance; record the load in meta.loads.
    Returns (rows landed, rows quarantined to meta.quarantine)."""
    loaded_at = datetime.now(timezone.utc)
    stamped = frame.with_columns(
        _source_file=pl.lit(source_file.path.name),
        _source_sha256=pl.lit(source_file.sha256),
        _source_vintage=pl.lit(source_file.vintage),
        _loaded_at=pl.lit(loaded_at),
    )
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(LOADS_DDL)
    arrow = stamped.to_arrow()  # noqa: F841 - scanned by name below
    con.execute(f"create or replace table {RAW_SCHEMA}.{table.name} as select * from arrow")
    landed = con.execute(f"select count(*) from {RAW_SCHEMA}.{table.name}").fetchone()[0]
    rejected = _land_quarantine(con, table, source_file, loaded_at)
    record_load(con, table.name, table.source, source_file, {"rows_in": frame.height, **counts},
                landed=landed, rejected=rejected, loaded_at=loaded_at, seconds=seconds)
    return landed, rejected


def record_load(
    con: duckdb.DuckDBPyConnection, raw_table: str, source: str, source_file: SourceFile, counts: dict[str, int],
    *, landed: int, rejected: int, loaded_at: datetime, seconds: float,
) -> None:
    """The one meta.loads row of `raw_table`'s latest load (replacing the previous one)."""
    con.execute(f"delete from {META_SCHEMA}.loads where raw_table = ?", [raw_table])
    con.execute(
        f"insert into {META_SCHEMA}.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            raw_table, source, source_file.path.name, source_file.bundled, source_file.sha256, source_file.bytes,
            source_file.vintage, counts["rows_in"], landed, rejected, counts.get("rows_aggregate", 0),
            counts.get("rows_outside_universe", 0), counts.get("rows_non_state", 0), loaded_at, seconds,
            counts.get("rows_unresolved", 0),
        ],
    )


def _land_quarantine(con, table: RawTable, source_file: SourceFile, loaded_at: datetime) -> int:
    """Rows the contract quarantined for this file (pipelines/quarantine.py) go to meta.quarantine; returns how many."""
    from pipelines import quarantine

    held = quarantine.take(table.source, source_file.path.name)
    con.execute(quarantine.QUARANTINE_DDL)
    con.execute(f"delete from {META_SCHEMA}.quarantine where raw_table = ?", [table.name])
    if held.height:
        rows = held.with_columns(raw_table=pl.lit(table.name), quarantined_at=pl.lit(loaded_at)).to_arrow()  # noqa: F841
        con.execute(
            f"insert into {META_SCHEMA}.quarantine select raw_table, source, file, source_row, column_name, value, "
            "reason, quarantined_at from rows"
        )
    return held.height


def land_frame(database: Path, schema: str, name: str, frame: pl.DataFrame) -> int:
    with connect(database) as con:
        con.execute(f"create schema if not exists {schema}")
        arrow = frame.to_arrow()  # noqa: F841
        con.execute(f"create or replace table {schema}.{name} as select * from arrow")
        return con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]


def publish(build_db: Path, published_db: Path) -> None:
    """Checkpoint the finished build and swap it in atomically over the published file."""
    with connect(build_db) as con:
        con.execute("checkpoint")
    wal = build_db.with_suffix(build_db.suffix + ".wal")
    if wal.exists():  # a checkpointed database has nothing left in its WAL
        wal.unlink()
    published_db.parent.mkdir(parents=True, exist_ok=True)
    os.replace(build_db, published_db)


def export_parquet(published_db: Path, exports_dir: Path) -> list[Path]:
    """One Parquet file per mart table, each written to a temporary name then renamed into place."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with connect(published_db, read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in EXPORT_SCHEMAS)}) order by 1, 2",
            list(EXPORT_SCHEMAS),
        ).fetchall()
        for schema, name in tables:
            final = exports_dir / f"{name}.parquet"
            temporary = exports_dir / f".{name}.parquet.tmp"
            target = str(temporary).replace("'", "''")  # a folder name may hold a quote: it is data, not SQL
            con.execute(f"copy {schema}.{name} to '{target}' (format parquet, compression zstd)")
            os.replace(temporary, final)
            written.append(final)
    return written
