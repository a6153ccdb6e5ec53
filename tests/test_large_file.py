"""The large-file path for ForeignAssistance.gov activity-level files (the live "complete" file is ~3 GB).

The files here are SYNTHETIC (bench/generate.py): the real 51-column layout of the bundled activity file, with
quotes and commas in the text, at 1 M rows. They check that the streaming path (polars streaming the CSV into
landed Parquet, a raw view over it, the contract as SQL, the crosswalk on distinct pairs) lands every row exactly,
catches a bad row in the middle of the file by column, value and row number, leaves the database unchanged when it does,
and keeps peak memory flat as the file grows. Timings are never asserted (see bench/ and docs/benchmarks.md).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pytest

from bench.generate import generate
from data_contracts._base import ContractViolation
from pipelines.sources import us_foreign_aid
from pipelines.sources.base import SourceFile
from tests.conftest import SNAPSHOTS

pytestmark = pytest.mark.slow  # writes and ingests a 1 M-row synthetic file

ROWS = 1_000_000
SMALL_ROWS = 200_000
BAD_ROW = 654_321  # a data record in the middle of the file
ACTIVITY_FILE = SNAPSHOTS / "us_foreign_aid_country" / "El_Salvador_2022-2002_Econ_Other.csv"
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def ingest_in_subprocess(path: Path, db: Path) -> int:
    """Run the project's ingest of `path` in a fresh process; return its peak RSS in KB (wait4)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.ingest", "project", str(path), str(db)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, proc.stderr.read().decode()[-2000:]
    return usage.ru_maxrss


def records_and_sha256(path: Path) -> tuple[int, str]:
    """Records in the file, counted from its bytes (no field of the generator holds a newline), and its sha256: one
    pass over the file in blocks, not the whole file as one bytes object."""
    digest, newlines = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            newlines += block.count(b"\n")
            digest.update(block)
    return newlines - 1, digest.hexdigest()


def _lines(path: Path, *numbers: int) -> list[bytes]:
    """The lines at those 0-based positions (0: the header), found by counting newlines (no field holds one)."""
    with path.open("rb") as handle:
        return [line for n, line in enumerate(itertools.islice(handle, max(numbers) + 1)) if n in numbers]


def _with_bad_cell(src: Path, dst: Path, data_row: int, column: str, value: str) -> Path:
    """A copy of `src` with `value` in `column` of data record `data_row` (1-based), quoted as a CSV writer would."""
    with src.open("rb") as handle, dst.open("wb") as out:
        header = handle.readline()
        out.write(header)
        out.writelines(itertools.islice(handle, data_row - 1))
        cells = next(csv.reader([handle.readline().decode("utf-8")]))
        cells[next(csv.reader([header.decode("utf-8")])).index(column)] = value
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(cells)
        out.write(line.getvalue().encode("utf-8"))
        shutil.copyfileobj(handle, out, 1 << 24)
    return dst


def _flat(rss: dict[str, int]) -> bool:
    """5x the rows within 1.5x the memory, and under the issue's 1 GB ceiling (KB)."""
    return rss["large"] <= 1.5 * rss["small"] and rss["large"] < 1_000_000


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large_file")
    path = generate(ROWS, folder / "fa_activity_SYNTHETIC_1000000.csv")
    small = folder / "fa_activity_SYNTHETIC_200000.csv"
    with path.open("rb") as src, small.open("wb") as dst:
        dst.writelines(itertools.islice(src, SMALL_ROWS + 1))
    db, small_db = folder / "large.duckdb", folder / "small.duckdb"
    rss = {"large": ingest_in_subprocess(path, db), "small": ingest_in_subprocess(small, small_db)}
    # On a busy machine (the suite runs on every core) a slow consumer lets more batches queue in flight in one
    # run: a peak above the bound is measured once more and the smaller kept (an eager frame would still be ~5x
    # the small file's in both runs).
    if not _flat(rss):
        rss = {
            "large": min(rss["large"], ingest_in_subprocess(path, folder / "large_again.duckdb")),
            "small": min(rss["small"], ingest_in_subprocess(small, folder / "small_again.duckdb")),
        }
    return {"path": path, "db": db, "rss": rss, "folder": folder}


def test_million_row_file_lands_every_row_exactly(big):
    records, sha256 = records_and_sha256(big["path"])
    assert records == ROWS
    with duckdb.connect(str(big["db"]), read_only=True) as con:
        n, distinct_rows, first, last = con.execute(
            "select count(*), count(distinct source_row), min(source_row), max(source_row) from "
            "raw.us_foreign_aid_activity"
        ).fetchall()[0]
        loads = con.execute(
            "select rows_in, rows_landed, sha256 from meta.loads where raw_table = 'us_foreign_aid_activity'"
        ).fetchall()
        amounts = con.execute(
            "select sum(current_amount_usd), count(current_amount_usd), count(distinct iso3) from "
            "raw.us_foreign_aid_activity"
        ).fetchall()[0]
        staged = con.execute("select count(*) from staging.stg_us_foreign_aid_activity").fetchall()[0][0]
        row = con.execute(
            "select activity_description, fiscal_year, current_amount_usd from raw.us_foreign_aid_activity where "
            "source_row = ?",
            [BAD_ROW],
        ).fetchall()[0]
    assert (n, distinct_rows, first, last) == (ROWS, ROWS, 1, ROWS)
    assert loads == [(ROWS, ROWS, sha256)]
    assert staged == ROWS
    # the same totals from an independent reader (polars, streaming) of the same file
    expected = (
        pl.scan_csv(big["path"], infer_schema_length=0)
        .select(
            pl.col("Current Dollar Amount").cast(pl.Int64).sum().alias("sum"),
            pl.col("Current Dollar Amount").cast(pl.Int64).count().alias("count"),
            pl.col("Country Code").n_unique().alias("countries"),
        )
        .collect()
        .row(0)
    )
    assert amounts == expected
    # a row in the middle of the file is the record at that position, quotes and commas intact
    header, record = (next(csv.reader([line.decode("utf-8")])) for line in _lines(big["path"], 0, BAD_ROW))
    assert '"' in record[header.index("Activity Description")] and "," in record[header.index("Activity Description")]
    assert row == (
        record[header.index("Activity Description")],
        int(record[header.index("Fiscal Year")]),
        int(record[header.index("Current Dollar Amount")]) if record[header.index("Current Dollar Amount")] else None,
    )


def test_landed_columns_are_the_ones_the_small_path_produces(big):
    small = us_foreign_aid.parse_activity(ACTIVITY_FILE)
    with duckdb.connect(str(big["db"]), read_only=True) as con:
        landed = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'us_foreign_aid_activity' order by ordinal_position"
        ).fetchall()
    provenance = ["_source_file", "_source_sha256", "_source_vintage", "_loaded_at"]
    assert [c for c, _ in landed] == small.columns + provenance
    dtypes = dict(landed)
    assert dtypes["fiscal_year"] == dtypes["current_amount_usd"] == dtypes["source_row"] == "BIGINT"
    assert dtypes["in_universe"] == "BOOLEAN" and dtypes["country_id"] == "VARCHAR"


def test_peak_memory_stays_flat_as_the_file_grows(big):
    # 5x the rows must not mean 5x the memory (an eager frame of the 0.74 GB file would be several GB): within 1.5x
    # of the 200 k-row ingest. Alone the two peaks are within 1.05x (docs/benchmarks.md); while a build runs on the
    # other core the 1 M-row peak reaches ~1.4x (more batches in flight), still far from what an eager read needs.
    assert big["rss"]["large"] <= 1.5 * big["rss"]["small"], big["rss"]
    assert big["rss"]["large"] < 1_000_000, big["rss"]  # KB: the 1 GB ceiling holds under load too


def test_contract_catches_an_injected_bad_row_and_leaves_the_database_unchanged(big, tmp_path):
    bad = _with_bad_cell(
        big["path"], tmp_path / "fa_activity_SYNTHETIC_bad.csv", BAD_ROW, "Constant Dollar Amount", "12,5O0"
    )
    db = big["folder"] / "large.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        before = con.execute("select count(*), max(_loaded_at) from raw.us_foreign_aid_activity").fetchall()
    with pytest.raises(ContractViolation) as err:
        us_foreign_aid.ACTIVITY.land(db, SourceFile.inspect(bad, "synthetic", bundled=False))
    message = str(err.value)
    assert message.startswith("[us_foreign_aid] fa_activity_SYNTHETIC_bad.csv breaks its contract (1 problem(s))")
    assert f"column 'constant_amount_usd' failed type Int64: value(s) '12,5O0' at row(s) {BAD_ROW}" in message
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*), max(_loaded_at) from raw.us_foreign_aid_activity").fetchall() == before


def test_rule_failures_name_value_and_row_on_the_streaming_path(tmp_path):
    from tests.synthetic import rewrite_csv_cell

    bad = tmp_path / "activity.csv"
    rewrite_csv_cell(ACTIVITY_FILE, bad, data_row=4, column="Foreign Assistance Objective Name", value="Humanitarian")
    rewrite_csv_cell(bad, bad, data_row=9, column="Fiscal Year", value="1800")
    with pytest.raises(ContractViolation) as err:
        us_foreign_aid.ACTIVITY.land(tmp_path / "build.duckdb", SourceFile.inspect(bad, "synthetic", bundled=False))
    message = str(err.value)
    assert (
        "column 'foreign_assistance_objective_name' failed isin(['Economic', 'Military']): value(s) 'Humanitarian' at "
        "row(s) 4" in message
    )
    assert "column 'fiscal_year' failed greater_than_or_equal_to(1946): value(s) '1800' at row(s) 9" in message
    with duckdb.connect(str(tmp_path / "build.duckdb"), read_only=True) as con:
        assert con.execute(
            "select count(*) from information_schema.tables where table_name = 'us_foreign_aid_activity'"
        ).fetchall() == [(0,)]
