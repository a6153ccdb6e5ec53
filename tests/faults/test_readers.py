"""The published file is for every DuckDB client: written in the DuckDB 1.0 storage format (version 64), read by an
older `duckdb` wheel in an isolated environment, and self-contained: copied elsewhere under another name, with no
file access at all, every table and view reads."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines import warehouse
from tests.conftest import PROJECT_ROOT

OLD_DUCKDB = "1.1.3"  # the oldest 1.x wheel on the package index for Python 3.11; reads storage version 64 only


def _objects(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        objects = con.execute("select table_schema, table_name from information_schema.tables order by 1, 2").fetchall()
        return {f"{s}.{n}": con.execute(f'select count(*) from "{s}"."{n}"').fetchone()[0] for s, n in objects}


def test_published_file_is_in_the_duckdb_1_0_storage_format(built_warehouse):
    assert warehouse.storage_number(built_warehouse / "partnership.duckdb") == warehouse.STORAGE_NUMBER == 64


def test_copied_elsewhere_under_another_name_every_table_and_view_reads(built_warehouse, tmp_path):
    expected = _objects(built_warehouse / "partnership.duckdb")
    assert any(name.startswith("staging.") for name in expected) and any(name.startswith("raw.") for name in expected)
    elsewhere = tmp_path / "somewhere" / "else" / "analyst_copy.duckdb"
    elsewhere.parent.mkdir(parents=True)
    shutil.copyfile(built_warehouse / "partnership.duckdb", elsewhere)
    with duckdb.connect(str(elsewhere), read_only=True, config={"enable_external_access": False}) as con:
        views = con.execute("select sql from duckdb_views() where not internal").fetchall()
        assert not any(warehouse.READS_FILES.search(sql or "") for (sql,) in views)  # nothing reads files any more
        seen = {}
        for name in expected:
            schema, table = name.split(".", 1)
            seen[name] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    assert seen == expected


@pytest.fixture(scope="module")
def old_duckdb(tmp_path_factory) -> Path:
    """A separate virtual environment holding only duckdb==1.1.3, installed from the package index."""
    uv = PROJECT_ROOT / ".tools" / "bin" / "uv"
    if not uv.is_file():
        pytest.skip("no uv in .tools/ (run `make install`): cannot build the isolated environment")
    venv = tmp_path_factory.mktemp("duckdb_old") / "venv"
    made = subprocess.run(
        [str(uv), "venv", "--quiet", "--python", sys.executable, str(venv)], capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(python), f"duckdb=={OLD_DUCKDB}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if installed.returncode != 0:
        if any(word in installed.stderr.lower() for word in ("connect", "network", "dns", "timed out", "resolve host")):
            pytest.skip(
                f"the package index is unreachable, duckdb=={OLD_DUCKDB} cannot be installed: "
                f"{installed.stderr.strip().splitlines()[-1][:200]}"
            )
        pytest.fail(installed.stderr)
    return python


READ_EVERYTHING = textwrap.dedent("""
    import json, sys, duckdb
    # no progress bar: on a busy machine a long scan would print it into the JSON on stdout
    con = duckdb.connect(sys.argv[1], read_only=True)
    con.execute("set enable_progress_bar = false")
    counts = {}
    for schema, name in con.execute("select table_schema, table_name from information_schema.tables").fetchall():
        # every row of every mart, cast to text inside DuckDB (no Python type conversions needed)
        counts[f"{schema}.{name}"] = con.execute(
            f'select count(*), count(distinct md5(cast(t as varchar))) from "{schema}"."{name}" as t').fetchone()[0]
    print(json.dumps({"version": duckdb.__version__, "counts": counts}))
""")


def test_an_older_duckdb_reads_every_mart_of_the_published_file(old_duckdb, built_warehouse, tmp_path):
    import json

    copy = tmp_path / "partnership.duckdb"
    shutil.copyfile(built_warehouse / "partnership.duckdb", copy)
    out = subprocess.run(
        [str(old_duckdb), "-c", READ_EVERYTHING, str(copy)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    read = json.loads(out.stdout)
    assert read["version"] == OLD_DUCKDB
    expected = _objects(built_warehouse / "partnership.duckdb")
    marts = {k: v for k, v in expected.items() if k.startswith("marts.")}
    assert len(marts) >= 10 and all(marts.values())
    assert {k: read["counts"].get(k) for k in marts} == marts
