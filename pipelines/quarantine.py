"""Nothing is lost: tolerable bad rows go to `meta.quarantine`, rejected files are kept for inspection.

- Row quarantine. A contract may mark an optional column *tolerable*
  (`pa.Field(nullable=True, metadata={"tolerable": "<why>"})`). A value there that does not parse as the column's
  type does not stop the build: the contract sets it to NULL (unknown, never zero) and returns the row with
  source, file, row number, column, value and reason (data_contracts._base.ContractFindings). The raw asset
  hands them to `land_raw()`, which writes them to `meta.quarantine` in the same build database and counts them
  in `meta.loads.rows_rejected`; `hpw build` shows the count in its summary.
- Rejected files. When a raw asset fails because of its file, the asset copies the file it read to
  `<warehouse>/.rejected/<source>/<UTC time>_<sha256[:12]>_<name>` with a `.error.txt` beside it (error, sha256,
  original path), so the exact bytes that broke the build can be inspected after the download is gone.
- Diagnosis. `diagnose()` recognises files that are not data at all (empty, an HTML/JSON error page, a cut
  transfer, the wrong encoding, a broken xlsx zip) and says so in one line naming the line and bytes.
"""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from data_contracts._base import FINDING_SCHEMA
from pipelines.sources.base import file_sha256

QUARANTINE_SCHEMA = FINDING_SCHEMA
QUARANTINE_DDL = """
create table if not exists meta.quarantine (
    raw_table varchar, source varchar, file varchar, source_row bigint, column_name varchar, value varchar,
    reason varchar, quarantined_at timestamptz
)"""

SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

FLAGS_DDL = """
create table if not exists meta.plausibility_flags (
    raw_table varchar, source varchar, file varchar, source_row bigint, column_name varchar, value varchar,
    rule varchar, flagged_at timestamptz
)"""
UNRESOLVED_DDL = """
create table if not exists meta.unresolved_entities (
    raw_table varchar, source varchar, file varchar, code varchar, name varchar, rows bigint, why varchar,
    recorded_at timestamptz
)"""


def land_findings(con, raw_table: str, file_name: str, unresolved: pl.DataFrame, flags: pl.DataFrame) -> dict[str, int]:
    """Write this load's out-of-region unresolved entities (meta.unresolved_entities) and the plausibility flags
    its contracts returned (meta.plausibility_flags), and count the unresolved rows in meta.loads. Returns the
    counts."""
    now = datetime.now(UTC)
    con.execute("create schema if not exists meta")
    con.execute(FLAGS_DDL)
    con.execute(UNRESOLVED_DDL)
    con.execute("delete from meta.plausibility_flags where raw_table = ?", [raw_table])
    con.execute("delete from meta.unresolved_entities where raw_table = ?", [raw_table])
    if flags.height:
        rows = flags.with_columns(raw_table=pl.lit(raw_table), flagged_at=pl.lit(now)).to_arrow()  # noqa: F841
        con.execute(
            "insert into meta.plausibility_flags select raw_table, source, file, source_row, column_name, "
            "value, reason, flagged_at from rows"
        )
    if unresolved.height:
        rows = unresolved.with_columns(  # noqa: F841 - scanned by name below
            raw_table=pl.lit(raw_table), file=pl.lit(file_name), recorded_at=pl.lit(now)
        ).to_arrow()
        con.execute(
            "insert into meta.unresolved_entities select raw_table, source, file, code, name, rows, why, "
            "recorded_at from rows"
        )
    unresolved_rows = int(unresolved["rows"].sum()) if unresolved.height else 0
    con.execute("update meta.loads set rows_unresolved = ? where raw_table = ?", [unresolved_rows, raw_table])
    return {
        "unresolved_entities": unresolved.height,
        "rows_unresolved": unresolved_rows,
        "plausibility_flags": flags.height,
    }


def keep_rejected(warehouse_dir: Path, source: str, path: Path, error: str) -> Path | None:
    """Copy a file that failed its checks to `<warehouse>/.rejected/<source>/` with the error beside it."""
    if not SOURCE_NAME.match(source):  # a source name is an identifier, never a path (`../` cannot escape)
        raise ValueError(f"not a source name: {source!r}")
    if not path.is_file():
        return None
    digest = file_sha256(path)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = warehouse_dir / ".rejected" / source
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stamp}_{digest[:12]}_{path.name}"
    shutil.copyfile(path, target)
    target.with_name(target.name + ".error.txt").write_text(
        f"file: {path}\nsha256: {digest}\nbytes: {path.stat().st_size}\nrejected_at: {stamp}\nerror: {error}\n",
        encoding="utf-8",
    )
    return target


def _first_invalid_utf8(data: bytes) -> tuple[int, int, bytes] | None:
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        return line, err.start, data[err.start : err.start + 4]


def diagnose(path: Path, latin1_ok: bool = False) -> str | None:
    """One line saying why a file is not readable as data, or None if nothing obvious is wrong with it."""
    try:
        size = path.stat().st_size
    except OSError as err:
        return f"cannot be opened ({err.strerror})"
    if size == 0:
        return "is empty (0 bytes); expected a header and data rows"
    with path.open("rb") as handle:
        head = handle.read(4096)
    text_head = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    expected = "an xlsx workbook" if path.suffix.lower() in {".xlsx", ".xlsm"} else "CSV data"
    if text_head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head")):
        title = ""
        if b"<title>" in text_head:
            title = " titled " + repr(
                head[head.lower().index(b"<title>") + 7 :].split(b"<")[0].decode("utf-8", "replace").strip()
            )
        return f"is an HTML page{title}, not {expected} (an error page was saved in place of the download)"
    if text_head.startswith((b"{", b"[")) and path.suffix.lower() != ".json":
        body = head[:80].decode("utf-8", "replace")
        return f"is a JSON body {body!r}, not {expected} (an API error was saved in place of the download)"
    if expected.startswith("an xlsx"):
        if not zipfile.is_zipfile(path):
            return (
                "is not a valid xlsx workbook: the zip archive is damaged or incomplete "
                f"({size:,} bytes, starts with {head[:8]!r})"
            )
        return None
    data = path.read_bytes()
    if not latin1_ok and (bad := _first_invalid_utf8(data)):
        line, offset, sample = bad
        return (
            f"is not valid UTF-8: byte(s) {sample!r} at line {line} (byte offset {offset}); expected UTF-8 — "
            "was it re-saved as Latin-1/Windows-1252?"
        )
    if not data.endswith((b"\n", b"\r")):
        last_line = data.count(b"\n") + 1
        *_, previous, tail = [b""] + data.rsplit(b"\n", 2)
        fields = lambda line: len(next(csv.reader([line.decode("utf-8", "replace")]), []))  # noqa: E731
        if tail.count(b'"') % 2 == 1 or (previous.strip() and fields(tail) < fields(previous)):
            cut = tail[-60:].decode("utf-8", "replace")
            return f"looks truncated: line {last_line} is cut mid-row ({cut!r}) with no line end"
    return None
