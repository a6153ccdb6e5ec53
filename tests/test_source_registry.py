"""Every raw table is complete: a cadence, a pandera contract, a staging model, a test file and, when it names
countries, its rows in marts.country_crosswalk. The registries are derived, so a new source that skips a piece
fails here with the piece named (docs/adding_a_source.md lists the files)."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from collections import defaultdict

import pandera.polars as pa
import pytest

from pipelines import settings
from pipelines.build import ensure_manifest
from pipelines.schedules import CADENCE
from pipelines.sources import RAW_TABLES
from pipelines.sources.base import CADENCES
from tests.conftest import PROJECT_ROOT

SOURCES = sorted({t.source for t in RAW_TABLES})


def _module(table) -> str:
    """The source module that declares the raw table (one module may declare a helper table of its own)."""
    module = getattr(table.parse, "__module__", None) or table.land.__module__
    return module.removeprefix("pipelines.sources.")


MODULES = sorted({_module(t) for t in RAW_TABLES})


@pytest.fixture(scope="module")
def manifest() -> dict:
    ensure_manifest()
    return json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text())


def _staging_by_raw_table(manifest: dict) -> dict[str, list[dict]]:
    """raw table name -> the staging models reading its dbt source (matched by the Dagster asset key meta)."""
    raw_of_source = {}
    for source in manifest["sources"].values():
        key = (source.get("meta") or {}).get("dagster", {}).get("asset_key") or ["raw", source["name"]]
        if key[0] == "raw":
            raw_of_source[source["unique_id"]] = key[1]
    staging: dict[str, list[dict]] = defaultdict(list)
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["original_file_path"].startswith("staging/"):
            for parent in node["depends_on"]["nodes"]:
                if parent in raw_of_source:
                    staging[raw_of_source[parent]].append(node)
    return staging


def test_every_source_declares_one_known_cadence():
    by_source = defaultdict(set)
    for table in RAW_TABLES:
        by_source[table.source].add(table.cadence)
    for source, cadences in by_source.items():
        assert len(cadences) == 1 and cadences <= set(CADENCES), (source, cadences)
    assert set(CADENCES) - set(CADENCE) == {"never", "retired"}  # every other cadence has a schedule


@pytest.mark.parametrize("source", MODULES)
def test_source_has_a_contract_module_used_by_its_parser(source):
    assert (PROJECT_ROOT / "data_contracts" / f"{source}.py").is_file(), f"data_contracts/{source}.py is missing"
    module = importlib.import_module(f"pipelines.sources.{source}")
    contracts = [
        name
        for name, value in vars(module).items()
        if inspect.isclass(value)
        and issubclass(value, pa.DataFrameModel)
        and value.__module__ == f"data_contracts.{source}"
    ]
    assert contracts, f"pipelines/sources/{source}.py uses no pandera model from data_contracts/{source}.py"


@pytest.mark.parametrize("source", MODULES)
def test_source_has_a_test_file(source):
    tables = [t.name for t in RAW_TABLES if _module(t) == source]
    pattern = re.compile(
        rf"pipelines\.sources(\.{source}\b| import [^\n]*\b{source}\b)"
        + "".join(rf"|RAW_TABLES_BY_NAME\[\"{name}\"\]" for name in tables)
    )
    files = [
        path.name
        for path in sorted((PROJECT_ROOT / "tests").glob("test_*.py"))
        if path.name not in {"test_source_registry.py", "test_orchestration.py"} and pattern.search(path.read_text())
    ]
    assert files, f"no test file imports pipelines.sources.{source} or reads one of {tables} by name"


def test_every_raw_table_has_a_staging_model_and_its_crosswalk_rows(manifest):
    staging = _staging_by_raw_table(manifest)
    missing_staging = [t.name for t in RAW_TABLES if not staging.get(t.name)]
    assert not missing_staging, f"raw tables without a staging model: {missing_staging}"
    missing_crosswalk = []
    for table in RAW_TABLES:
        models = staging[table.name]
        names_countries = any(re.search(r"\bentity_kind\b", m["raw_code"]) for m in models)
        declared = [
            entry
            for m in models
            for entry in (m["config"].get("meta") or {}).get("crosswalk", [])
            if entry.get("source") == table.source
        ]
        if names_countries and not declared:
            missing_crosswalk.append(f"{table.name} ({', '.join(m['name'] for m in models)})")
    assert not missing_crosswalk, f"staging models with countries but no meta.crosswalk: {missing_crosswalk}"


def test_crosswalk_mart_reads_exactly_the_declaring_models(manifest):
    declaring = {
        node["unique_id"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and (node["config"].get("meta") or {}).get("crosswalk")
    }
    crosswalk = next(n for n in manifest["nodes"].values() if n["name"] == "country_crosswalk")
    assert set(crosswalk["depends_on"]["nodes"]) == declaring
    assert {
        "model.hemisphere_partnership.stg_census_intltrade",
        "model.hemisphere_partnership.stg_imf_imts_us_trade",
    } <= declaring
    for node_id in declaring:
        for entry in manifest["nodes"][node_id]["config"]["meta"]["crosswalk"]:
            assert entry.get("source") in SOURCES, (node_id, entry)
            assert set(entry) <= {"source", "code", "name", "kind", "universe", "iso3"}, (node_id, entry)


def test_data_contracts_is_a_leaf_package():
    """Contracts import pandera, polars and each other, never the pipeline (no import cycle, usable alone)."""
    import ast

    imported = set()
    for path in sorted((PROJECT_ROOT / "data_contracts").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            imported |= {(path.name, n) for n in names if n.split(".")[0] == "pipelines"}
    assert not imported, sorted(imported)
