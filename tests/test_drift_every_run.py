"""The schema-drift gate in a run started the way the UI, a schedule or a sensor starts one: the build job of the
code location's Definitions, executed by Dagster with its default resources (HPW_WAREHOUSE_DIR read when the run
starts), not `hpw build`. The raw asset reads the baseline (the published warehouse's columns) itself, so an additive
column is reported as a WARN `schema_drift` check with the column named, and an unchanged file is not."""

from __future__ import annotations

import duckdb
import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance

from pipelines.definitions import defs
from pipelines.schedules import BUILD_JOB_NAME
from tests.faults import corrupt as c
from tests.faults.conftest import publish_copy

pytestmark = pytest.mark.e2e

DOTS_KEY = AssetKey(["raw", "imf_dots_us_trade"])
BASES_KEY = AssetKey(["raw", "us_bases"])


def _checks(result, name: str) -> dict[AssetKey, object]:
    return {
        e.event_specific_data.asset_key: e.event_specific_data
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION and e.event_specific_data.check_name == name
    }


def test_a_ui_style_run_of_the_build_job_warns_on_an_additive_column(built_warehouse, tmp_path, monkeypatch):
    published = publish_copy(built_warehouse, tmp_path / "warehouse")
    with duckdb.connect(str(published.database), read_only=True) as con:
        columns = {r[0] for r in con.execute("describe raw.imf_dots_us_trade").fetchall()}
    assert "Unit" not in columns  # the column is new against the published build, not only the contract
    dots = c.add_column(c.DOTS, tmp_path / "dots", "Unit", "US Dollars")
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(published.root))

    job = defs.resolve_job_def(BUILD_JOB_NAME)
    result = job.execute_in_process(
        run_config={"ops": {"raw__imf_dots_us_trade": {"config": {"path": str(dots)}}}},
        instance=DagsterInstance.ephemeral(),
        asset_selection=[DOTS_KEY, BASES_KEY],
        raise_on_error=False,
    )

    assert result.success
    drift = _checks(result, "schema_drift")
    assert set(drift) == {DOTS_KEY, BASES_KEY}
    dots_check = drift[DOTS_KEY]
    assert not dots_check.passed and dots_check.severity.value == "WARN"
    warnings = dots_check.metadata["warnings"].value
    assert len(warnings) == 1 and "['Unit']" in warnings[0] and dots.name in warnings[0], warnings
    assert drift[BASES_KEY].passed  # the bundled file has the published columns: nothing to say
    materialized = {
        e.event_specific_data.materialization.asset_key: e.event_specific_data.materialization.metadata
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_MATERIALIZATION
    }
    assert materialized[DOTS_KEY]["drift_warnings"].value == warnings
    assert materialized[BASES_KEY]["drift_warnings"].value == []
    assert published.unchanged()  # a raw-only run lands in the build database; nothing is published


def test_without_a_published_warehouse_there_is_no_baseline_and_no_warning(tmp_path, monkeypatch):
    dots = c.add_column(c.DOTS, tmp_path / "dots", "Unit", "US Dollars")
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(tmp_path / "empty_warehouse"))
    result = defs.resolve_job_def(BUILD_JOB_NAME).execute_in_process(
        run_config={"ops": {"raw__imf_dots_us_trade": {"config": {"path": str(dots)}}}},
        instance=DagsterInstance.ephemeral(),
        asset_selection=[DOTS_KEY],
        raise_on_error=False,
    )
    assert result.success
    check = _checks(result, "schema_drift")[DOTS_KEY]
    assert check.passed and check.metadata["baseline"].value == "none (first build)"
