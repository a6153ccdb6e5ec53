"""The asset graph, as `dagster dev` loads it from workspace.yaml: raw -> staging -> marts -> published, connected."""

from __future__ import annotations

import importlib

import pytest
import yaml
from dagster import AssetKey

from pipelines.sources import RAW_TABLES
from tests.conftest import PROJECT_ROOT


def load_definitions():
    workspace = yaml.safe_load((PROJECT_ROOT / "workspace.yaml").read_text())
    module = importlib.import_module(workspace["load_from"][0]["python_module"]["module_name"])
    return module.defs


def test_code_location_loads_and_graph_is_connected():
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for table in RAW_TABLES:
        assert f"raw/{table.name}" in keys
        children = {c.to_user_string() for c in graph.get(AssetKey(["raw", table.name])).child_keys}
        assert any(c.startswith("staging/") for c in children), f"raw/{table.name} feeds no staging model"
    marts = {k for k in keys if k.startswith("marts/")}
    assert {"marts/fct_us_aid_country_year", "marts/fct_us_trade_country_year", "marts/dim_country"} <= marts
    published = {p.to_user_string() for p in graph.get(AssetKey(["published", "partnership_warehouse"])).parent_keys}
    assert published == marts
    for mart in marts:  # every mart is reachable from a raw asset
        ancestors: set[str] = set()
        frontier = [AssetKey.from_user_string(mart)]
        while frontier:
            key = frontier.pop()
            for parent in graph.get(key).parent_keys:
                ancestors.add(parent.to_user_string())
                frontier.append(parent)
        assert any(a.startswith("raw/") for a in ancestors), mart


def test_every_raw_asset_has_a_blocking_contract_check():
    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    check_keys = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    for table in RAW_TABLES:
        assert (f"raw/{table.name}", "contract") in check_keys
    dbt_checks = [k for k in check_keys if k[0].startswith("marts/")]
    assert len(dbt_checks) >= 10  # dbt data_tests surface as asset checks


def test_build_job_runs_in_process():
    defs = load_definitions()
    job = defs.resolve_job_def("build_warehouse")
    assert job.executor_def.name == "in_process"


@pytest.mark.slow  # a `dagster` process loading the code location
def test_dagster_cli_validates_the_workspace(tmp_path):
    """What `dagster dev -w workspace.yaml` does first: load the code location with no errors."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    dagster = Path(sys.executable).parent / "dagster"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DAGSTER_DISABLE_TELEMETRY": "1"}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    completed = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "All code locations passed validation" in completed.stdout + completed.stderr
