"""The clients analysts use, run against the published file and the Parquet exports.

- Superset's route: SQLAlchemy + `duckdb-engine`, installed in an isolated environment (the project's own SQLAlchemy
  comes with Dagster), reflecting every mart's columns and counting its rows the way Superset's dataset editor
  does. The SQLAlchemy series that works and the one that does not are both run, and README.md names them.
- polars and pyarrow reading every Parquet export (the Power BI / Tableau / notebook route).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e

DUCKDB_ENGINE = "0.17.0"
SQLALCHEMY_WORKS = "2.0.59"
SQLALCHEMY_FAILS = "2.1.9"  # column reflection asks for pg_catalog.pg_collation, which DuckDB does not have

# What Superset does when an analyst adds the database and a dataset: list schemas and tables, reflect each table's
# columns, run a query. Prints one JSON line.
SUPERSET_PROBE = """
import json, sys
import sqlalchemy as sa
engine = sa.create_engine("duckdb:///" + sys.argv[1] + "?access_mode=read_only")
inspector = sa.inspect(engine)
found = {"schemas": inspector.get_schema_names(), "tables": {}, "error": None}
try:
    for table in inspector.get_table_names(schema="marts"):
        columns = [c["name"] for c in inspector.get_columns(table, schema="marts")]
        with engine.connect() as con:
            rows = con.execute(sa.text(f"select count(*) from marts.{table}")).scalar()
        found["tables"][table] = {"columns": columns, "rows": rows}
except Exception as err:
    found["error"] = f"{type(err).__name__}: {err}"
print(json.dumps(found))
"""


def _uv() -> str:
    uv = PROJECT_ROOT / ".tools" / "bin" / "uv"
    return str(uv) if uv.is_file() else (shutil.which("uv") or pytest.fail("uv not found: run `make install`"))


def _isolated_python(folder: Path, *requirements: str) -> Path:
    """A fresh virtual environment with exactly these requirements (from the package index), nothing else."""
    subprocess.run([_uv(), "venv", "-q", "--python", sys.executable, str(folder)], check=True, capture_output=True)
    python = folder / "bin" / "python"
    installed = subprocess.run(
        [_uv(), "pip", "install", "-q", "--python", str(python), *requirements], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    return python


def _mart_shape(con) -> dict[str, dict]:
    shape = {}
    tables = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
    ).fetchall()
    for (table,) in tables:
        columns = [
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ? "
                "order by ordinal_position",
                [table],
            ).fetchall()
        ]
        shape[table] = {"columns": columns, "rows": con.execute(f"select count(*) from marts.{table}").fetchone()[0]}
    return shape


def _superset(python: Path, database: Path) -> dict:
    probe = subprocess.run(
        [str(python), "-c", SUPERSET_PROBE, str(database)], capture_output=True, text=True, timeout=300
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    return json.loads(probe.stdout.strip().splitlines()[-1])


def test_superset_route_reads_every_mart_with_the_pinned_sqlalchemy(built_warehouse, marts, tmp_path):
    python = _isolated_python(
        tmp_path / "venv",
        f"sqlalchemy=={SQLALCHEMY_WORKS}",
        f"duckdb-engine=={DUCKDB_ENGINE}",
        f"duckdb=={duckdb.__version__}",
    )
    found = _superset(python, built_warehouse / "partnership.duckdb")
    assert found["error"] is None
    assert "partnership.marts" in found["schemas"]  # duckdb-engine names schemas <catalog>.<schema>
    assert found["tables"] == _mart_shape(marts)


def test_superset_route_with_sqlalchemy_2_1_fails_as_the_readme_warns(built_warehouse, tmp_path):
    # Documents the limitation: when a later duckdb-engine fixes it this test fails, and README.md's pin can go.
    python = _isolated_python(
        tmp_path / "venv",
        f"sqlalchemy=={SQLALCHEMY_FAILS}",
        f"duckdb-engine=={DUCKDB_ENGINE}",
        f"duckdb=={duckdb.__version__}",
    )
    found = _superset(python, built_warehouse / "partnership.duckdb")
    assert found["error"] and "pg_collation" in found["error"]


def test_readme_names_the_versions_the_superset_tests_run():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for pin in (f"duckdb-engine=={DUCKDB_ENGINE}", f"sqlalchemy=={SQLALCHEMY_WORKS}", f"SQLAlchemy {SQLALCHEMY_FAILS}"):
        assert pin in readme, pin


def test_polars_and_pyarrow_read_every_parquet_export(built_warehouse, marts):
    shape = _mart_shape(marts)
    exports = built_warehouse / "exports"
    assert sorted(p.stem for p in exports.glob("*.parquet")) == sorted(shape)
    for table, expected in shape.items():
        arrow = pq.read_table(exports / f"{table}.parquet")
        assert (arrow.column_names, arrow.num_rows) == (expected["columns"], expected["rows"]), table
        frame = pl.read_parquet(exports / f"{table}.parquet")
        assert (frame.columns, frame.height) == (expected["columns"], expected["rows"]), table
    # a lazy scan with a filter (what a notebook does) agrees with the warehouse
    lazy = (
        pl.scan_parquet(exports / "fct_us_trade_country_year.parquet")
        .filter(pl.col("iso3") == "PRY")
        .select(pl.col("us_exports_usd").sum())
        .collect()
        .item()
    )
    assert lazy == pytest.approx(
        marts.execute("select sum(us_exports_usd) from marts.fct_us_trade_country_year where iso3 = 'PRY'").fetchone()[
            0
        ]
    )
