"""DuckDB side: landing raw tables with provenance, and the file-level steps of publishing a build.

Builds never write the analysts' file. Every write goes to `warehouse/.build/partnership.duckdb`, created in the
storage format of DuckDB 1.0 (`STORAGE_VERSION`) so every DuckDB >= 1.0 client and BI driver reads the published
file. Only after every contract, gate and dbt test passed does pipelines/publish.py make it self-contained
(`make_self_contained`), check it, and swap it in (`swap_in`). Readers holding the old file keep a consistent old
snapshot.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

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


# The oldest storage format DuckDB 2.0 writes; DuckDB >= 1.0 reads it (header version number 64). A file keeps
# the format it was created with, so the build database is created in it and dbt's writes keep it.
STORAGE_VERSION = "v1.0.0"
STORAGE_NUMBER = 64


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    """The value of a query that always yields exactly one row (count(*), max(...))."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"expected one row from: {sql}")
    return row[0]


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not read_only and not path.exists():
        create_database(path)
    return duckdb.connect(str(path), read_only=read_only)


# Build databases held open by this process (`hold_open`), by resolved path.
_HELD: dict[Path, duckdb.DuckDBPyConnection] = {}


def hold_open(path: Path, synced: bool = False) -> None:
    """Keep `path` open read-write in this process until `release(path)`.

    DuckDB shares one open database between the connections a process makes to the same file, and checkpoints and
    unlocks it only when the last one closes. Holding one open while the raw assets land spares each of them
    opening the file, replaying its catalog and checkpointing it on close: the raw phase writes the file once.
    Whatever needs the file closed (dbt's subprocess, publishing) calls `release` first.

    The build database is scratch until publishing checkpoints it and renames it into place; a crash before that
    discards it. So the raw phase's commits (two per raw asset) need not wait for the disk, as dbt's do not
    (models/profiles.yml); publishing holds it `synced`, so its checkpoint reaches the disk before the rename."""
    key = path.resolve()
    if key not in _HELD:
        held = connect(path)
        if not synced:  # a setting of the open database, shared by this process's connections to the file
            held.execute("set global fsync_mode = 'none'")
        _HELD[key] = held


def release(path: Path) -> None:
    """Close the connection `hold_open` kept on `path` (a checkpoint, then the file is unlocked once no other
    connection of this process is open on it). Nothing to do when none is held."""
    held = _HELD.pop(path.resolve(), None)
    if held is not None:
        held.execute("set global fsync_mode = 'standard'")  # whoever opens the file next in this process syncs
        held.close()


def create_database(path: Path) -> None:
    """An empty database file in the storage format every DuckDB >= 1.0 reads."""
    target = str(path).replace("'", "''")
    with duckdb.connect() as con:
        con.execute(f"attach '{target}' as new_database (storage_version '{STORAGE_VERSION}')")
        con.execute("detach new_database")


def storage_number(path: Path) -> int | None:
    """The storage version number in a DuckDB file's header (64 = DuckDB 1.0 format), None if not a DuckDB file."""
    try:
        with path.open("rb") as handle:
            head = handle.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[8:12] != b"DUCK":
        return None
    return struct.unpack("<Q", head[12:20])[0]


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
                views = [
                    r[0] or "" for r in con.execute("select sql from duckdb_views() where not internal").fetchall()
                ]
        except duckdb.Error:
            return []
        referenced |= {f.name for f in keep.parent.glob(f"{table}-*.parquet") if any(f.name in sql for sql in views)}
    removed = [f for f in keep.parent.glob(f"{table}-*.parquet") if f.name not in referenced]
    for stale in removed:
        stale.unlink(missing_ok=True)
    return removed


# Column types a polars frame lands with alike through Parquet (`ParquetFrame`) and through Arrow: checked on
# every bundled table's columns and values (tests/test_prefetch.py).
PARQUET_SAFE_TYPES = frozenset({"Boolean", "Date", "Float64", "Int64", "String"})
PROVENANCE_COLUMNS = ("_source_file", "_source_sha256", "_source_vintage", "_loaded_at")


@dataclass(frozen=True)
class ParquetFrame:
    """A parsed frame as a Parquet file (the parse worker's, pipelines/prefetch.py) with its rows by entity:
    `land_raw` lands it by DuckDB's own Parquet reader, no frame in Python."""

    path: Path
    counts: dict[str, int]  # pipelines.sources.base.entity_counts of the frame

    @property
    def height(self) -> int:
        return self.counts["rows_in"]


def parquet_safe(frame: pl.DataFrame) -> bool:
    """Whether `frame`, written as Parquet, lands in DuckDB with the same column types and values as through Arrow."""
    return all(str(dtype) in PARQUET_SAFE_TYPES for dtype in frame.dtypes) and not set(frame.columns) & set(
        PROVENANCE_COLUMNS
    )


def land_raw(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    frame: pl.DataFrame | ParquetFrame,
    source_file: SourceFile,
    counts: dict[str, int],
    seconds: float,
    quarantined: pl.DataFrame | None = None,
) -> tuple[int, int]:
    """Replace `raw.<table>` with the validated frame, stamped with its provenance; record the load in meta.loads.
    `quarantined`: the rows its contracts quarantined (data_contracts._base.ContractFindings), written to
    meta.quarantine. Returns (rows landed, rows quarantined)."""
    loaded_at = datetime.now(UTC)
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(f"create schema if not exists {META_SCHEMA}")
    con.execute(LOADS_DDL)
    stamps = [source_file.path.name, source_file.sha256, source_file.vintage, loaded_at]
    if isinstance(frame, ParquetFrame):  # the same columns as `with_columns` below adds, in the same order
        con.execute(
            f"create or replace table {RAW_SCHEMA}.{table.name} as select *, $1::varchar as _source_file, "
            "$2::varchar as _source_sha256, $3::varchar as _source_vintage, $4::timestamptz as _loaded_at "
            "from read_parquet($5)",
            [*stamps, str(frame.path)],
        )
    else:
        stamped = frame.with_columns(
            **{name: pl.lit(value) for name, value in zip(PROVENANCE_COLUMNS, stamps, strict=True)}
        )
        arrow = stamped.to_arrow()  # noqa: F841 - scanned by name below
        con.execute(f"create or replace table {RAW_SCHEMA}.{table.name} as select * from arrow")
    landed = scalar(con, f"select count(*) from {RAW_SCHEMA}.{table.name}")
    rejected = _land_quarantine(con, table, quarantined, loaded_at)
    record_load(
        con,
        table.name,
        table.source,
        source_file,
        {"rows_in": frame.height, **counts},
        landed=landed,
        rejected=rejected,
        loaded_at=loaded_at,
        seconds=seconds,
    )
    return landed, rejected


def record_load(
    con: duckdb.DuckDBPyConnection,
    raw_table: str,
    source: str,
    source_file: SourceFile,
    counts: dict[str, int],
    *,
    landed: int,
    rejected: int,
    loaded_at: datetime,
    seconds: float,
) -> None:
    """The one meta.loads row of `raw_table`'s latest load (replacing the previous one), once the new vintage passed
    the anomaly gate against the published one (pipelines/anomaly.py)."""
    from pipelines import anomaly

    anomaly.check(con, raw_table, source, source_file.path.name, source_file.sha256)
    con.execute(f"delete from {META_SCHEMA}.loads where raw_table = ?", [raw_table])
    con.execute(
        f"insert into {META_SCHEMA}.loads values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            raw_table,
            source,
            source_file.path.name,
            source_file.bundled,
            source_file.sha256,
            source_file.bytes,
            source_file.vintage,
            counts["rows_in"],
            landed,
            rejected,
            counts.get("rows_aggregate", 0),
            counts.get("rows_outside_universe", 0),
            counts.get("rows_non_state", 0),
            loaded_at,
            seconds,
            counts.get("rows_unresolved", 0),
        ],
    )


def _land_quarantine(con, table: RawTable, held: pl.DataFrame | None, loaded_at: datetime) -> int:
    """Rows the contract quarantined for this file go to meta.quarantine; returns how many."""
    from pipelines import quarantine

    held = held if held is not None else pl.DataFrame(schema=quarantine.QUARANTINE_SCHEMA)
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
        return scalar(con, f"select count(*) from {schema}.{name}")


# A view that reads files (the streamed raw tables' Parquet) would tie the published file to a folder beside it.
READS_FILES = re.compile(
    r"\b(read_parquet|parquet_scan|read_csv\w*|read_json\w*|read_text|read_blob|read_xlsx)\s*\(", re.I
)


def make_self_contained(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Turn every view that reads files into a table with the same rows, so the database depends on nothing beside
    it (it can be copied, mounted or mailed). Views over tables stay views. Returns the views materialised."""
    views = con.execute(
        "select schema_name, view_name, sql from duckdb_views() "
        "where not internal and database_name = current_database()"
    ).fetchall()
    done = []
    for schema, name, sql in views:
        if not READS_FILES.search(sql or ""):
            continue
        qualified = f'"{schema}"."{name}"'
        scratch = f'"{schema}"."{name}__materialised"'
        con.execute(f"create or replace table {scratch} as select * from {qualified}")
        con.execute(f"drop view {qualified}")
        con.execute(f'alter table {scratch} rename to "{name}"')
        done.append(f"{schema}.{name}")
    return done


def check_published_file(path: Path, expected_marts: set[str]) -> dict[str, int]:
    """Open `path` read-only with no file access at all and read every table and view: proves the file opens, is in
    the DuckDB 1.0 format, holds every expected mart and depends on nothing beside it. Returns rows per mart."""
    number = storage_number(path)
    if number != STORAGE_NUMBER:
        raise ValueError(f"{path.name} has storage version {number}, expected {STORAGE_NUMBER} (DuckDB 1.0 format)")
    with duckdb.connect(str(path), read_only=True, config={"enable_external_access": False}) as con:
        objects = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database() order by 1, 2"
        ).fetchall()
        # one statement: DuckDB reads the objects side by side instead of one query (and round trip) each
        counts = " union all ".join(
            f'select {i} as object, count(*) as n from "{schema}"."{name}"' for i, (schema, name) in enumerate(objects)
        )
        rows = {}
        for i, count in con.execute(counts).fetchall() if objects else []:
            schema, name = objects[i]
            if schema == "marts":
                rows[name] = count
    missing = sorted(expected_marts - rows.keys())
    if missing:
        raise ValueError(f"{path.name} lacks {len(missing)} of {len(expected_marts)} marts: {', '.join(missing[:8])}")
    return rows


# ------------------------------------------------------------------------------------------------- the swap


def writer_pid(path: Path) -> int | None:
    """The process holding a DuckDB read-write connection on `path` (a write lock on the file), if any.

    Asked with F_GETLK, which tests for a conflicting lock without taking one (closing a descriptor that took a
    POSIX lock would drop this process's own DuckDB locks on the file)."""
    if not path.is_file():
        return None
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        kind, _, _, _, pid = struct.unpack("hhqqi4x", fcntl.fcntl(descriptor, fcntl.F_GETLK, query))
    except OSError:
        return None
    finally:
        os.close(descriptor)
    return pid if kind == fcntl.F_WRLCK else None


def _exchange(first: Path, second: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    done = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second), rename_exchange)
    return done == 0


def swap_folder(new: Path, current: Path, aside: Path) -> None:
    """Put folder `new` at `current` in one step; the previous content ends at `aside` (removed by the caller)."""
    if not current.exists():
        os.rename(new, current)
        return
    if not current.is_dir() or current.is_symlink():
        raise NotADirectoryError(f"{current} is not a folder")
    if _exchange(new, current):
        os.rename(new, aside)
        return
    os.rename(current, aside)  # file systems without an exchange: two renames, a moment without the folder
    os.rename(new, current)


def swap_in(staged_db: Path, staged_exports: Path, published_db: Path, exports_dir: Path) -> None:
    """The last act of a build: the staged exports folder and database replace the published ones.

    The exports folder is exchanged first (undone if the database cannot follow); then the database is renamed
    over the published one. A WAL beside the old file belongs to the old file: it is removed first, so it can
    never be replayed onto the new one. The caller has checked that no process holds the old file read-write."""
    aside = staged_exports.with_name(staged_exports.name + ".previous")
    shutil.rmtree(aside, ignore_errors=True)
    swap_folder(staged_exports, exports_dir, aside)
    try:
        wal = published_db.with_name(published_db.name + ".wal")
        if wal.exists():
            wal.unlink()
        os.replace(staged_db, published_db)
    except BaseException:
        if aside.exists():  # put the previous exports back: nothing changed
            swap_folder(aside, exports_dir, staged_exports)
        raise
    shutil.rmtree(aside, ignore_errors=True)


def export_parquet(published_db: Path, exports_dir: Path, skip: frozenset[str] | set[str] = frozenset()) -> list[Path]:
    """One Parquet file per mart table, each written to a temporary name then renamed into place; tables in `skip`
    are left out."""
    exports_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with connect(published_db, read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in EXPORT_SCHEMAS)}) order by 1, 2",
            list(EXPORT_SCHEMAS),
        ).fetchall()
        for schema, name in tables:
            if name in skip:
                continue
            final = exports_dir / f"{name}.parquet"
            temporary = exports_dir / f".{name}.parquet.tmp"
            target = str(temporary).replace("'", "''")  # a folder name may hold a quote: it is data, not SQL
            # rows in a set order: a table built by a parallel query has none, and the same build must give the
            # same file (published hashes, analysts' diffs between vintages)
            con.execute(
                f"copy (select * from {schema}.{name} order by all) to '{target}' (format parquet, compression zstd)"
            )
            os.replace(temporary, final)
            written.append(final)
    return written
