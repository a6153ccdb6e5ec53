"""Refresh only what changed (pipelines/refresh.py): after a published build, one source file with one value changed
re-lands that raw table and rebuilds only the dbt models downstream of it, from a copy of the published database;
the marts equal a cold build's with the same file, row for row. A subset run that leaves out part of what is
downstream of the raw table it re-lands publishes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from pipelines.build import run_build
from tests.conftest import PROJECT_ROOT
from tests.revisions import changed_troops_file
from tests.warehouse_copy import copy_warehouse, mart_differences, mart_names

pytestmark = pytest.mark.e2e


def _run_id(root: Path) -> str:
    with duckdb.connect(str(root / "partnership.duckdb"), read_only=True) as con:
        return con.execute("select run_id from meta.build").fetchone()[0]


def _dbt_descendants_of_source(table: str) -> set[AssetKey]:
    """From the dbt manifest itself: every model downstream of the raw table's dbt source, keyed layer/name."""
    manifest = json.loads((PROJECT_ROOT / "models" / "target" / "manifest.json").read_text(encoding="utf-8"))
    start = [uid for uid, s in manifest["sources"].items() if s["name"] == table]
    assert start, table
    found, todo = set(), list(start)
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child.startswith("model.") and child not in found:
                found.add(child)
                todo.append(child)
    nodes = manifest["nodes"]
    return {AssetKey([nodes[u]["original_file_path"].split("/")[0], nodes[u]["name"]]) for u in found}


@pytest.mark.builds  # three refreshes and a cold build
def test_one_changed_file_refreshes_only_its_downstream_and_equals_a_cold_build(built_warehouse, tmp_path):
    changed = changed_troops_file(tmp_path / "input")
    root = copy_warehouse(built_warehouse, tmp_path / "refreshed", with_fingerprint=True)
    lines, seen = [], []
    refreshed = run_build(
        file_overrides={"us_troops_dmdc": str(changed)},
        warehouse_dir=root,
        log_level="WARNING",
        echo=lines.append,
        on_event=seen.append,
    )
    assert refreshed.success, refreshed.error
    assert "  refresh: 1 raw table(s) changed (us_troops_dmdc)" in lines

    run_id = _run_id(root)
    assert run_id != _run_id(built_warehouse)
    with DagsterInstance.get() as instance:
        assert instance.get_run_by_id(run_id).tags["hpw/build"] == "refresh"
        built = {
            e.dagster_event.event_specific_data.materialization.asset_key
            for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        }
    downstream = _dbt_descendants_of_source("us_troops_dmdc")
    assert AssetKey(["marts", "fct_us_troops_country_year"]) in downstream
    assert built == {AssetKey(["raw", "us_troops_dmdc"]), AssetKey(["published", "partnership_warehouse"])} | downstream
    assert AssetKey(["raw", "sipri_milex"]) not in built and AssetKey(["staging", "stg_sipri_milex"]) not in built
    # the progress hook saw this run's events as they happened, and says what the refresh did
    assert {e.job_name for e in seen} == {"build_warehouse"}
    assert sum(e.event_type == DagsterEventType.ASSET_MATERIALIZATION for e in seen) == len(built)
    assert any(line.startswith("  sources    1/1 raw tables landed") for line in refreshed.stages)
    assert refreshed.stages[-1].startswith("  publish    done")

    # a cold build over a warehouse published by the same code (`--force`): every asset again
    cold_root = copy_warehouse(built_warehouse, tmp_path / "cold")
    cold_lines: list[str] = []
    cold = run_build(
        force=True,
        file_overrides={"us_troops_dmdc": str(changed)},
        warehouse_dir=cold_root,
        log_level="WARNING",
        echo=cold_lines.append,
    )
    assert cold.success, cold.error
    # dbt's unit tests (SQL on fixtures) ran in the session build, the first of this code (a new folder); the
    # refresh and the forced cold build, with the same code as the published build, leave them out and say so
    (session_log,) = (built_warehouse / "logs").glob("build-*.log")
    assert "START unit_test partnership_index::" in session_log.read_text(encoding="utf-8")
    assert "START unit_test" not in refreshed.log_file.read_text(encoding="utf-8")
    assert "START unit_test" not in cold.log_file.read_text(encoding="utf-8")
    assert "  cold build: --force; dbt unit tests passed with this code (published build): not repeated" in cold_lines
    assert mart_names(root / "partnership.duckdb") == mart_names(cold_root / "partnership.duckdb")
    assert mart_differences(root / "partnership.duckdb", cold_root / "partnership.duckdb") == {}
    # the change reached the marts (so the comparison above compares something)
    assert "fct_us_troops_country_year" in mart_differences(
        root / "partnership.duckdb", built_warehouse / "partnership.duckdb"
    )

    # the same file again: nothing to redo; the bundled file again: a refresh back to the published original
    again = run_build(file_overrides={"us_troops_dmdc": str(changed)}, warehouse_dir=root, echo=lambda *_: None)
    assert again.up_to_date
    back = run_build(warehouse_dir=root, log_level="WARNING", echo=lines.append)
    assert back.success and not back.up_to_date, back.error
    assert lines.count("  refresh: 1 raw table(s) changed (us_troops_dmdc)") == 2
    assert mart_differences(root / "partnership.duckdb", built_warehouse / "partnership.duckdb") == {}


def test_a_subset_run_missing_part_of_the_downstream_publishes_nothing(built_warehouse, tmp_path):
    """Publish accepts a subset only when it re-ran everything downstream of what it re-landed."""
    from pipelines import refresh
    from pipelines.definitions import defs

    root = copy_warehouse(built_warehouse, tmp_path / "warehouse", with_fingerprint=True)
    (root / ".build").mkdir()
    refresh.seed(root / "partnership.duckdb", root / ".build" / "partnership.duckdb", ["us_troops_dmdc"])
    before = (root / "partnership.duckdb").read_bytes()
    job = defs.resolve_job_def("build_warehouse")
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config={"resources": {"warehouse_db": {"config": {"warehouse_dir": str(root)}}}},
            instance=instance,
            asset_selection=[AssetKey(["raw", "us_troops_dmdc"]), AssetKey(["published", "partnership_warehouse"])],
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "must rebuild everything downstream" in message and "nothing was published or deleted" in message
    assert (root / "partnership.duckdb").read_bytes() == before


def test_unit_tests_are_left_out_only_for_the_code_the_published_build_was_made_with(built_warehouse, tmp_path):
    from pipelines import refresh

    root = copy_warehouse(built_warehouse, tmp_path / "warehouse")
    assert refresh.plan(root, force=True).code_tested
    assert refresh.plan(root).code_tested
    # a published build of other code (models edited, packages upgraded) vouches for nothing: they run again
    with duckdb.connect(str(root / "partnership.duckdb")) as con:
        con.execute("update meta.build set code_fingerprint = 'other code'")
    forced, plain = refresh.plan(root, force=True), refresh.plan(root)
    assert not forced.code_tested and not plain.code_tested
    assert plain.cold and "code, models" in plain.reason
    assert not refresh.plan(tmp_path / "empty", force=True).code_tested  # no published build at all
