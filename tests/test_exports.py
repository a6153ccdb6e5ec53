"""Exports for BI tools: Parquet per mart and dimension, datapackage.json, the generated data dictionary."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil

import duckdb
import polars
import pytest
import yaml
from frictionless import Package, validate

from pipelines import exports
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def _mart_tables(con) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
        ).fetchall()
    ]


def _mart_columns(con, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns where table_schema = 'marts' and table_name = ? "
        "order by ordinal_position",
        [table],
    ).fetchall()


def _yml_descriptions() -> dict[str, dict]:
    """Model and column descriptions read straight from models/marts/*.yml (not through the manifest)."""
    found = {}
    for path in sorted((PROJECT_ROOT / "models" / "marts").glob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            found[model["name"]] = {
                "description": " ".join((model.get("description") or "").split()),
                "columns": {
                    c["name"]: " ".join((c.get("description") or "").split()) for c in model.get("columns", [])
                },
            }
    return found


def test_every_mart_and_dimension_has_a_parquet_with_the_same_rows_and_types(built_warehouse, marts):
    tables = _mart_tables(marts)
    assert {"dim_country", "dim_us_sites", "fct_us_aid_country_year"} <= set(tables)
    exported = sorted(p.stem for p in (built_warehouse / "exports").glob("*.parquet"))
    assert exported == tables
    for table in tables:
        path = built_warehouse / "exports" / f"{table}.parquet"
        reader = duckdb.connect()
        parquet_columns = [
            (r[0], r[1]) for r in reader.execute(f"describe select * from read_parquet('{path}')").fetchall()
        ]
        assert parquet_columns == _mart_columns(marts, table), table
        parquet_rows = reader.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0]
        assert parquet_rows == marts.execute(f"select count(*) from marts.{table}").fetchone()[0], table
    # nothing half-written is left behind (every file went through a temporary name)
    assert not [p.name for p in (built_warehouse / "exports").iterdir() if p.name.endswith(".tmp")]


def test_datapackage_validates_and_lists_every_column_with_its_yml_description(built_warehouse, marts):
    descriptor = json.loads((built_warehouse / "exports" / "datapackage.json").read_text(encoding="utf-8"))
    report = Package.validate_descriptor(descriptor)
    assert report.valid, [error.message for error in report.errors]
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert sorted(resources) == _mart_tables(marts)
    yml = _yml_descriptions()
    for table, resource in resources.items():
        columns = _mart_columns(marts, table)
        assert [f["name"] for f in resource["schema"]["fields"]] == [c for c, _ in columns], table
        assert [f["duckdbType"] for f in resource["schema"]["fields"]] == [t for _, t in columns], table
        for field in resource["schema"]["fields"]:
            assert field.get("description") == yml[table]["columns"].get(field["name"]), (table, field["name"])
        assert resource.get("description") == yml[table]["description"]
        assert resource["path"] == f"{table}.csv" and resource["parquet"]["path"] == f"{table}.parquet"
        for entry in (resource, resource["parquet"]):
            path = built_warehouse / "exports" / entry["path"]
            assert entry["bytes"] == path.stat().st_size
            assert entry["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    aid = {f["name"]: f["type"] for f in resources["fct_us_aid_country_year"]["schema"]["fields"]}
    assert aid["iso3"] == "string" and aid["fiscal_year"] == "integer" and aid["amount_current_usd"] == "integer"
    assert {f["name"]: f["type"] for f in resources["fct_us_trade_country_year"]["schema"]["fields"]}[
        "us_exports_usd"
    ] == "number"
    assert resources["fct_us_trade_country_year"]["schema"]["primaryKey"] == ["iso3", "year"]
    loads = marts.execute("select count(*) from meta.loads").fetchone()[0]
    assert len(descriptor["sources"]) == loads


def test_frictionless_validate_reads_every_row_of_the_package_and_finds_it_valid(built_warehouse, marts):
    # what `frictionless validate warehouse/exports/datapackage.json` runs: descriptor, bytes, hashes, every cell
    # against its field type, primary keys
    report = validate(str(built_warehouse / "exports" / "datapackage.json"))
    assert report.valid, [error.message for task in report.tasks for error in task.errors][:5]
    rows = {task.name: task.stats["rows"] for task in report.tasks}
    assert rows == {t: marts.execute(f"select count(*) from marts.{t}").fetchone()[0] for t in _mart_tables(marts)}


def test_the_csv_resources_carry_the_parquet_values(built_warehouse):
    # the CSV the package describes and the Parquet BI tools read hold the same rows, list columns included
    exports_dir = built_warehouse / "exports"
    for table in ("fct_us_aid_country_year", "fct_arms_transfers", "fct_security_agreements"):
        parquet = polars.read_parquet(exports_dir / f"{table}.parquet")
        text = polars.read_csv(exports_dir / f"{table}.csv", infer_schema=False)
        assert text.height == parquet.height and text.columns == parquet.columns, table
        for column, dtype in parquet.schema.items():
            if isinstance(dtype, polars.List):
                decoded = text[column].map_elements(lambda v: None if v is None else json.loads(v), return_dtype=dtype)
                assert decoded.to_list() == parquet[column].to_list(), (table, column)
            elif dtype == polars.Boolean:
                assert (
                    text[column].replace_strict({"true": True, "false": False}, default=None).to_list()
                    == parquet[column].to_list()
                ), (table, column)
            elif dtype == polars.Date:
                assert text[column].str.to_date("%Y-%m-%d").to_list() == parquet[column].to_list(), (table, column)
            elif dtype in (polars.Int64, polars.Int32, polars.String):
                assert text[column].cast(dtype, strict=True).to_list() == parquet[column].to_list(), (table, column)


def test_frictionless_validate_catches_a_bad_cell_and_a_changed_file(built_warehouse, tmp_path):
    shutil.copytree(built_warehouse / "exports", tmp_path / "exports")
    aid = tmp_path / "exports" / "fct_us_aid_country_year.csv"
    lines = aid.read_text(encoding="utf-8").splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    cells = lines[1].rstrip("\n").split(",")
    cells[header.index("fiscal_year")] = "twenty"  # not an integer
    lines[1] = ",".join(cells) + "\n"
    aid.write_text("".join(lines), encoding="utf-8")
    report = validate(str(tmp_path / "exports" / "datapackage.json"))
    assert not report.valid
    types = {error.type for task in report.tasks if task.name == "fct_us_aid_country_year" for error in task.errors}
    assert "type-error" in types and ("hash-count" in types or "byte-count" in types)


def test_the_frictionless_check_catches_a_broken_descriptor(built_warehouse):
    descriptor = json.loads((built_warehouse / "exports" / "datapackage.json").read_text(encoding="utf-8"))
    broken = copy.deepcopy(descriptor)
    broken["resources"][0]["schema"]["fields"][0]["type"] = "varchar"  # not a Table Schema type
    assert not Package.validate_descriptor(broken).valid


def test_every_mart_column_is_documented_in_the_yml(marts):
    yml = _yml_descriptions()
    undocumented = [
        f"{table}.{column}"
        for table in _mart_tables(marts)
        for column, _ in _mart_columns(marts, table)
        if not yml.get(table, {}).get("columns", {}).get(column)
    ]
    assert undocumented == []


def test_committed_data_dictionary_equals_a_fresh_generation(built_warehouse):
    # built_warehouse guarantees a manifest parsed from the current models/ (run_build refreshes a stale one)
    committed = (PROJECT_ROOT / "docs" / "data_dictionary.md").read_text(encoding="utf-8")
    assert committed == exports.data_dictionary(), (
        "docs/data_dictionary.md is stale: run `.venv/bin/hpw export --dictionary-only`"
    )
    yml = _yml_descriptions()
    for table, doc in yml.items():
        assert f"## {table}\n" in committed
        for column, description in doc["columns"].items():
            assert f"| `{column}` |" in committed and description.replace("|", "\\|") in committed, (table, column)


def test_export_replaces_files_and_drops_exports_of_removed_marts(tmp_path, built_warehouse):
    shutil.copy(built_warehouse / "partnership.duckdb", tmp_path / "partnership.duckdb")
    out = tmp_path / "exports"
    out.mkdir()
    (out / "a_mart_that_was_dropped.parquet").write_bytes(b"old")
    (out / "a_mart_that_was_dropped.csv").write_bytes(b"old")
    (out / "dim_country.parquet").write_bytes(b"not parquet")
    written = exports.export(tmp_path / "partnership.duckdb", out)
    names = sorted(p.name for p in out.iterdir())
    assert "a_mart_that_was_dropped.parquet" not in names
    expected = [p.name for p in written] + [p.with_suffix(".csv").name for p in written] + ["datapackage.json"]
    assert sorted(expected) == names
    rows = duckdb.connect().execute(f"select count(*) from read_parquet('{out / 'dim_country.parquet'}')").fetchone()[0]
    with duckdb.connect(str(tmp_path / "partnership.duckdb"), read_only=True) as con:
        assert rows == con.execute("select count(*) from marts.dim_country").fetchone()[0]


def test_the_same_tables_give_byte_identical_exports_whatever_order_their_rows_are_stored_in(tmp_path, built_warehouse):
    # a table made by a parallel query stores its rows in no set order: two builds of the same data must still
    # publish the same files (their hashes in datapackage.json, analysts' diffs between vintages)
    stored, shuffled = tmp_path / "a" / "partnership.duckdb", tmp_path / "b" / "partnership.duckdb"
    for database in (stored, shuffled):
        database.parent.mkdir()
        shutil.copy(built_warehouse / "partnership.duckdb", database)
    with duckdb.connect(str(shuffled)) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema in ('marts') "
            "and table_type = 'BASE TABLE'"
        ).fetchall()
        for schema, table in tables:
            con.execute(
                f'create or replace table {schema}."{table}" as select * from {schema}."{table}" order by random()'
            )
    with duckdb.connect(str(stored), read_only=True) as a, duckdb.connect(str(shuffled), read_only=True) as b:
        first = "select * from marts.fct_country_indicators limit 20"
        assert a.execute(first).fetchall() != b.execute(first).fetchall()  # the stored order really differs
    exports.export(stored, tmp_path / "a" / "exports")
    exports.export(shuffled, tmp_path / "b" / "exports")
    files = sorted(p.name for p in (tmp_path / "a" / "exports").iterdir() if p.suffix in (".csv", ".parquet"))
    assert len(files) == 2 * len(tables)
    different = [
        name
        for name in files
        if (tmp_path / "a" / "exports" / name).read_bytes() != (tmp_path / "b" / "exports" / name).read_bytes()
    ]
    assert different == []


def test_export_without_a_published_warehouse_is_a_clear_error(tmp_path):
    with pytest.raises(exports.ExportError) as raised:
        exports.export(tmp_path / "partnership.duckdb", tmp_path / "exports")
    assert "no published warehouse" in str(raised.value) and "make run" in raised.value.hint


def test_dbt_docs_site_is_one_offline_page_and_leaves_the_published_file_alone(tmp_path, built_warehouse):
    import re

    shutil.copy(built_warehouse / "partnership.duckdb", tmp_path / "partnership.duckdb")
    before = hashlib.sha256((tmp_path / "partnership.duckdb").read_bytes()).hexdigest()
    page = exports.dbt_docs(tmp_path / "partnership.duckdb", tmp_path / "docs")
    html = page.read_text(encoding="utf-8")
    assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html)  # nothing fetched at view time
    tables = _mart_tables(duckdb.connect(str(tmp_path / "partnership.duckdb"), read_only=True))
    for table in tables:
        assert f"model.hemisphere_partnership.{table}" in html, table
    catalog = json.loads((tmp_path / "docs" / "catalog.json").read_text(encoding="utf-8"))
    # the catalog (models/macros/docs_catalog.sql) has every mart with its columns, and every source table
    assert all(catalog["nodes"][f"model.hemisphere_partnership.{t}"]["columns"] for t in tables)
    assert len(catalog["sources"]) == len(json.loads(page.with_name("manifest.json").read_text())["sources"])
    columns = catalog["nodes"]["model.hemisphere_partnership.fct_us_aid_country_year"]["columns"]
    assert columns["amount_current_usd"]["type"] == "BIGINT"  # column types come from the warehouse itself
    assert hashlib.sha256((tmp_path / "partnership.duckdb").read_bytes()).hexdigest() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".docs-")] == []
