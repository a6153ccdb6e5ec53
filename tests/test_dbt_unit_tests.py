"""dbt's unit tests (the SQL of the model they name, on fixed fixtures) without a warehouse build, for
`make test-fast`. A build runs them once per code version (docs/architecture.md); here their input models are
created empty from their declared, enforced columns (dbt reads an input's column types from the database), and
`dbt test --select test_type:unit` runs in this process."""

from __future__ import annotations

import json
import re

import duckdb

from pipelines import settings
from tests.conftest import as_a_builds_dbt

REF = re.compile(r"""ref\(\s*['"](\w+)['"]\s*\)""")


def _manifest() -> dict:
    return json.loads((settings.DBT_PROJECT_DIR / "target" / "manifest.json").read_text(encoding="utf-8"))


def _inputs(manifest: dict) -> dict[str, dict]:
    """Model name -> manifest node of every model a unit test takes as an input."""
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    inputs = {}
    for test in manifest["unit_tests"].values():
        for given in test["given"]:
            found = REF.fullmatch(given["input"].strip())
            assert found, f"unit test {test['name']}: input {given['input']!r} is not a ref() this test can create"
            inputs[found.group(1)] = models[found.group(1)]
    return inputs


def _create_empty(database, inputs: dict[str, dict]) -> None:
    with duckdb.connect(str(database)) as con:
        for name, node in inputs.items():
            columns = list(node["columns"].values())
            untyped = [c["name"] for c in columns if not c.get("data_type")]
            assert columns and not untyped and node["config"]["contract"]["enforced"], (
                f"{name} is an input of a dbt unit test: declare every column with its data_type in its yml and "
                f"enforce its contract, so the test runs without a build (columns without a type: {untyped})"
            )
            definition = ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in columns)
            con.execute(f'create schema if not exists "{node["schema"]}"')
            con.execute(f'create table "{node["schema"]}"."{node["alias"]}" ({definition})')


def test_every_dbt_unit_test_passes_without_a_build(tmp_path, monkeypatch):
    from dbt.cli.main import dbtRunner

    manifest = _manifest()
    unit_tests = {t["name"] for t in manifest["unit_tests"].values()}
    assert len(unit_tests) >= 7
    # the file's name is the catalog the models' relations name (models/profiles.yml)
    database = tmp_path / "partnership.duckdb"
    _create_empty(database, _inputs(manifest))
    as_a_builds_dbt(monkeypatch, database, tmp_path / "target")
    project = str(settings.DBT_PROJECT_DIR)
    result = dbtRunner().invoke(
        ["test", "--select", "test_type:unit", "--project-dir", project, "--profiles-dir", project]
        + ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path), "--quiet"]
    )
    assert result.exception is None, result.exception
    outcomes = {r.node.name: str(r.status) for r in result.result.results}
    failures = {r.node.name: r.message for r in result.result.results if r.status != "pass"}
    assert outcomes == dict.fromkeys(unit_tests, "pass"), failures
