"""Issue 7, security: user-supplied strings never become SQL or paths outside their folders.

Where user input meets the build: `--file RAW_TABLE=PATH` (validated against the known raw tables), the warehouse
folder (`HPW_WAREHOUSE_DIR`, a path that ends up in DuckDB `COPY ... TO '<path>'`), and the source name of a
rejected file (an identifier, never a path).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
import pytest

from pipelines import quarantine, warehouse
from tests.conftest import PROJECT_ROOT

HPW = [sys.executable, "-m", "pipelines.cli"]
INJECTIONS = ["PRY'; DROP TABLE x; --", "imf_dots_us_trade; drop schema marts cascade", "../../etc/passwd", "..\\..\\x"]


@pytest.mark.parametrize("name", INJECTIONS, ids=["sql_quote", "sql_semicolon", "dotdot_slash", "dotdot_backslash"])
def test_file_option_accepts_only_known_raw_tables(tmp_path, name):
    env = {**os.environ, "HPW_WAREHOUSE_DIR": str(tmp_path / "warehouse")}
    out = subprocess.run(
        [*HPW, "build", "--file", f"{name}={tmp_path / 'x.csv'}"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0 and "--file expects RAW_TABLE=PATH" in out.stderr and "Traceback" not in out.stderr, (
        out.stderr
    )
    assert (
        not (tmp_path / "warehouse" / "partnership.duckdb").exists()
        and not (tmp_path / "warehouse" / ".build").exists()
    )


@pytest.mark.parametrize("source", ["../../outside", "us_bases/../../outside", "/tmp/outside", "x'; drop table y; --"])
def test_rejected_file_source_name_cannot_escape_its_folder(tmp_path, source):
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n")
    with pytest.raises(ValueError, match="not a source name"):
        quarantine.keep_rejected(tmp_path / "warehouse", source, bad, "error")
    assert not (tmp_path / "warehouse").exists() and not (tmp_path / "outside").exists()


@pytest.mark.e2e
def test_warehouse_folder_with_a_quote_is_data_not_sql(built_warehouse, tmp_path):
    folder = tmp_path / "o'brien's warehouse; drop table marts.dim_country; --"
    folder.mkdir()
    shutil.copyfile(built_warehouse / "partnership.duckdb", folder / "partnership.duckdb")
    written = warehouse.export_parquet(folder / "partnership.duckdb", folder / "exports")
    assert written and all(p.parent == folder / "exports" for p in written)
    with duckdb.connect() as scratch:  # never the module-level default connection shared across tests
        rows = scratch.execute(
            "select count(*) from read_parquet(?)", [str(folder / "exports" / "dim_country.parquet")]
        ).fetchall()[0][0]
    with duckdb.connect(str(folder / "partnership.duckdb"), read_only=True) as con:
        assert rows == con.execute("select count(*) from marts.dim_country").fetchone()[0] > 30
