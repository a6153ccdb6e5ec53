"""`hpw`: read-only queries, one-line errors with hints, --help everywhere, per-asset build progress."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from pipelines import cli

SUBCOMMANDS = ["build", "query", "sources", "brief", "export", "docs"]


@pytest.fixture()
def published(tmp_path, built_warehouse, monkeypatch) -> Path:
    """A private copy of the session build as the published warehouse of HPW_WAREHOUSE_DIR."""
    root = tmp_path / "warehouse"
    root.mkdir()
    shutil.copy(built_warehouse / "partnership.duckdb", root / "partnership.duckdb")
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(root))
    return root / "partnership.duckdb"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "sql, refused",
    [
        ("insert into marts.dim_country select * from marts.dim_country", "INSERT"),
        ("create table marts.x as select 1 as a", "CREATE"),
        ("attach '{tmp}/other.duckdb' as other", "ATTACH"),
        ("copy marts.dim_country to '{tmp}/stolen.csv'", "COPY"),
        ("export database '{tmp}/dump'", "EXPORT"),
        ("set enable_external_access = true", "SET"),
        ("select 1; drop table marts.dim_country", "exactly one statement"),
    ],
)
def test_query_refuses_writes_with_one_clear_line(sql, refused, published, tmp_path, capsys):
    before = _sha(published)
    code = cli.main(["query", sql.format(tmp=tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 2 and err[0].startswith("error: ") and refused in err[0] and err[1].startswith("hint: ")
    assert _sha(published) == before
    assert (
        not (tmp_path / "stolen.csv").exists()
        and not (tmp_path / "other.duckdb").exists()
        and not (tmp_path / "dump").exists()
    )


def test_query_connection_cannot_touch_files_even_inside_a_select(published, tmp_path, capsys):
    target = tmp_path / "secret.csv"
    target.write_text("a\n1\n")
    code = cli.main(["query", f"select * from read_csv('{target}')"])
    assert code == 1
    assert "read-only" in capsys.readouterr().err


def test_query_runs_the_text_as_given_and_formats_csv_and_json(published, capsys):
    sql = (
        "select iso3, country_name, 'it''s' as quoted from marts.dim_country where iso3 in ('PRY', 'COL') order by iso3"
    )
    with duckdb.connect(str(published), read_only=True) as con:
        expected = con.execute(sql).fetchall()
    assert cli.main(["query", sql, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "iso3,country_name,quoted"
    assert [tuple(line.split(",", 2)) for line in lines[1:]] == [tuple(r) for r in expected]
    assert cli.main(["query", sql, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["iso3"], r["country_name"], r["quoted"]) for r in rows] == expected


def test_query_error_and_missing_warehouse_are_one_line_with_hint(published, tmp_path, monkeypatch, capsys):
    assert cli.main(["query", "select * from marts.no_such_table"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and err[0].startswith("error: ") and "no_such_table" in err[0] and err[1].startswith("hint: ")
    assert cli.main(["query", "selec 1"]) == 1
    assert capsys.readouterr().err.startswith("error: Parser Error")
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(tmp_path / "empty"))
    for argv in (["query", "select 1"], ["sources"], ["brief", "PRY"], ["export"], ["docs"]):
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err.splitlines()
        assert err == [
            f"error: no published warehouse at {tmp_path / 'empty' / 'partnership.duckdb'}",
            "hint: run `make run` (or `hpw build`) first",
        ], argv


def test_sources_lists_every_landed_file(published, capsys):
    assert cli.main(["sources", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    with duckdb.connect(str(published), read_only=True) as con:
        loads = dict(con.execute("select raw_table, sha256 from meta.loads").fetchall())
    assert {r["raw_table"]: r["sha256_12"] for r in rows} == {k: v[:12] for k, v in loads.items()}
    assert all(r["vintage"] and r["loaded_at"] and r["rows_landed"] is not None for r in rows)


@pytest.mark.parametrize("argv", [[], *[[c] for c in SUBCOMMANDS]])
def test_help_everywhere(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: hpw {' '.join(argv)}".rstrip())


def test_usage_errors_are_one_line_and_non_zero(capsys):
    for argv in (["nonsense"], ["query"], ["query", "select 1", "--format", "xml"], ["build", "--file", "nope=x.csv"]):
        try:
            code = cli.main(argv)
        except SystemExit as exited:
            code = exited.code
        assert code == 1, argv
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 2 and err[0].startswith("error: ") and err[1].startswith("hint: "), (argv, err)


def test_brief_of_an_unknown_country_is_a_clear_error(published, capsys):
    assert cli.main(["brief", "XYZ"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "error: unknown country 'XYZ'" and err[1].startswith("hint: ")


def test_export_command_writes_parquet_and_datapackage(published, capsys):
    assert cli.main(["export"]) == 0
    exports_dir = published.parent / "exports"
    package = json.loads((exports_dir / "datapackage.json").read_text(encoding="utf-8"))
    with duckdb.connect(str(published), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema='marts'"
            ).fetchall()
        }
    assert {r["name"] for r in package["resources"]} == tables == {p.stem for p in exports_dir.glob("*.parquet")}
    assert tables == {p.stem for p in exports_dir.glob("*.csv")}
    assert f"exported {len(tables)} tables as Parquet and CSV" in capsys.readouterr().out


def test_console_script_is_installed():
    hpw = Path(sys.executable).parent / "hpw"
    completed = subprocess.run([str(hpw), "--help"], capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0
    assert all(command in completed.stdout for command in SUBCOMMANDS)


def test_progress_lines_come_from_real_dagster_events():
    from dagster import AssetCheckResult, AssetCheckSpec, DagsterInstance, MaterializeResult, asset, materialize

    @asset
    def landed():
        return MaterializeResult(metadata={"rows_landed": 4649, "seconds": 0.25})

    @asset(check_specs=[AssetCheckSpec("contract", asset="checked")])
    def checked():
        yield MaterializeResult()
        yield AssetCheckResult(check_name="contract", passed=False)

    result = materialize([landed, checked], instance=DagsterInstance.ephemeral(), raise_on_error=False)
    lines = [line for line in map(cli.progress_line, result.all_events) if line]
    assert any(line.split() == ["done", "landed", "4,649", "rows", "0.25", "s"] for line in lines), lines
    assert any(line.split()[:2] == ["done", "checked"] for line in lines), lines
    assert "  FAILED  check contract on checked" in lines


def test_readme_example_queries_run_on_the_build(published):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## For analysts") :]
    block = section[section.index("**Three example queries**") :]
    sql_block = block[block.index("```sql") + len("```sql") : block.index("```", block.index("```sql") + 6)]
    queries = [q.strip() for q in sql_block.split(";") if q.strip()]
    assert len(queries) == 3
    for query in queries:
        frame = cli.run_query(query)
        assert frame.height > 0, query


def test_query_reads_the_landed_parquet_of_raw_views_and_no_other_file(built_warehouse, monkeypatch, tmp_path, capsys):
    import csv

    from tests.conftest import SNAPSHOTS

    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(built_warehouse))
    activity = SNAPSHOTS / "us_foreign_aid_country" / "El_Salvador_2022-2002_Econ_Other.csv"
    with activity.open(encoding="utf-8", newline="") as handle:
        records = sum(1 for _ in csv.reader(handle)) - 1
    assert (
        cli.main(["query", "select count(*) as landed_rows from raw.us_foreign_aid_activity", "--format", "csv"]) == 0
    )
    assert capsys.readouterr().out.split() == ["landed_rows", str(records)]

    elsewhere = tmp_path / "elsewhere.parquet"
    with duckdb.connect() as scratch:
        scratch.execute(f"copy (select 42 as x) to '{elsewhere}'")
    assert cli.main(["query", f"select * from read_parquet('{elsewhere}')"]) == 1
    assert "disabled" in capsys.readouterr().err


def _table_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line]


def test_query_prints_whole_dollars_with_separators_and_no_scientific_notation(published, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    sql = "select iso3, us_exports_usd from marts.fct_us_trade_country_year where year = 2022 order by 2 desc limit 3"
    with duckdb.connect(str(published), read_only=True) as con:
        expected = con.execute(sql).fetchall()
    assert cli.main(["query", sql]) == 0
    lines = _table_lines(capsys.readouterr().out)
    assert lines[0].split() == ["iso3", "us_exports_usd"] and lines[-1] == "(3 rows)"
    assert [line.split() for line in lines[2:5]] == [[iso3, f"{round(value):,}"] for iso3, value in expected]
    assert expected[0][1] > 1e9 and not any("e+" in line or "e9" in line for line in lines)


def test_query_table_fits_the_terminal_and_never_cuts_a_number(published, capsys, monkeypatch):
    sql = (
        "select * from marts.fct_us_aid_country_year where iso3 = 'PRY' and fiscal_year = 2019 "
        "order by transaction_type"
    )
    with duckdb.connect(str(published), read_only=True) as con:
        amounts = [r[0] for r in con.execute(f"select amount_current_usd from ({sql})").fetchall()]
    for width in (200, 120, 80, 50):
        monkeypatch.setenv("COLUMNS", str(width))
        assert cli.main(["query", sql]) == 0
        out = capsys.readouterr().out
        assert max(len(line) for line in out.splitlines()) <= width, width
        assert all(f"{amount:,}" in out for amount in amounts), width  # every number whole, even when text is cut
        assert "2019" in out and "2,019" not in out  # years are labels, not quantities
    assert "-[ row 1 ]" in out  # too narrow for columns: one block per row


def test_show_tables_lists_the_public_tables(published, capsys):
    with duckdb.connect(str(published), read_only=True) as con:
        public = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
    assert len(public) > 5
    assert cli.main(["query", "show tables", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["name", *public]


def test_sources_fits_120_columns_and_wide_shows_every_detail(published, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    assert cli.main(["sources"]) == 0
    out = capsys.readouterr().out
    with duckdb.connect(str(published), read_only=True) as con:
        loads = con.execute("select raw_table, sha256, rows_in from meta.loads order by 1").fetchall()
    assert max(len(line) for line in out.splitlines()) <= 120
    assert all(raw_table in out and sha[:12] in out for raw_table, sha, _ in loads)
    assert cli.main(["sources", "--wide"]) == 0
    wide = capsys.readouterr().out
    assert all(sha in wide for _, sha, _ in loads) and "rows_outside_universe" in wide and "file_name" in wide


def test_float_columns_share_their_decimals_and_unknown_is_null():
    import polars as pl

    frame = pl.DataFrame({"share": [0.5, 0.000123, None], "usd": [4.6282e9, 1234.5, 7.0]})
    lines = cli.format_table(frame, 120, 50).splitlines()
    assert [line.split() for line in lines[2:5]] == [
        ["0.5000", "4,628,200,000.00"],
        ["0.0001", "1,234.50"],
        ["NULL", "7.00"],
    ]
