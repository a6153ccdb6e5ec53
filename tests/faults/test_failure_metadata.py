"""A failed raw asset carries its failure as data, in any kind of run: the build job of the Definitions executed
the way the UI or a schedule runs it (not `hpw build`). The failed `contract` check and the step's `Failure` hold
source, file, column, rows, values, the diagnosis and the explained message `hpw build` prints; the file at fault
is kept under `.rejected/`. A failed download (a local HTTP server answering 404) travels the same way and blames
no file."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from dagster import AssetKey, DagsterEventType, DagsterInstance

from pipelines.definitions import defs
from pipelines.schedules import BUILD_JOB_NAME
from pipelines.sources import RAW_TABLES_BY_NAME
from tests.faults import corrupt as c
from tests.livehttp import LiveServer

AID = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
TROOPS = RAW_TABLES_BY_NAME["us_troops_dmdc"]


def _run(table, run_config: dict):
    return defs.resolve_job_def(BUILD_JOB_NAME).execute_in_process(
        run_config=run_config,
        instance=DagsterInstance.ephemeral(),
        asset_selection=[AssetKey(["raw", table.name])],
        raise_on_error=False,
    )


def _failure_metadata(result) -> dict:
    (failure,) = [e for e in result.all_events if e.is_step_failure]
    data = failure.event_specific_data.user_failure_data
    return {k: v.value for k, v in data.metadata.items()}


def test_a_contract_failure_is_metadata_on_the_check_and_the_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    bad = c.set_cell(c.FA_SUMMARY, tmp_path / "bad", 17, "current_amount", "1.2 million")
    result = _run(AID, {"ops": {f"raw__{AID.name}": {"config": {"path": str(bad)}}}})

    assert not result.success
    meta = _failure_metadata(result)
    assert meta["source"] == "us_foreign_aid" and meta["raw_table"] == AID.name
    assert meta["failure_kind"] == "contract" and meta["file_fault"] is True
    assert meta["file"] == bad.name and Path(meta["path"]) == bad
    assert meta["column"] == "current_amount_usd" and meta["values"] == ["1.2 million"] and meta["rows"] == [17]
    assert meta["problems"][0]["check"] == "type Int64"
    assert meta["explained"].startswith(f"[us_foreign_aid] {bad.name} breaks its contract")
    kept = Path(meta["rejected_copy"])
    assert kept.parent == tmp_path / "warehouse" / ".rejected" / "us_foreign_aid"
    assert kept.read_bytes() == bad.read_bytes()
    (check,) = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type == DagsterEventType.ASSET_CHECK_EVALUATION and e.event_specific_data.check_name == "contract"
    ]
    assert not check.passed
    assert check.metadata["explained"].value == meta["explained"]
    assert check.metadata["column"].value == "current_amount_usd"


def test_a_file_that_is_not_data_carries_its_diagnosis(tmp_path, monkeypatch):
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    page = c.write(tmp_path / "page", c.TROOPS.name, c.HTML_ERROR_PAGE)
    meta = _failure_metadata(_run(TROOPS, {"ops": {f"raw__{TROOPS.name}": {"config": {"path": str(page)}}}}))
    assert meta["file"] == c.TROOPS.name and meta["file_fault"] is True
    assert meta["diagnosis"].startswith("is an HTML page titled '503 Service Temporarily Unavailable'")
    assert meta["explained"].startswith(f"[us_troops_dmdc] {c.TROOPS.name}") and meta["diagnosis"] in meta["explained"]


def test_a_failed_download_is_metadata_and_blames_no_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HPW_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    with LiveServer() as server:
        path = urlsplit(TROOPS.live_url).path
        server.script[path] = [404]
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_FETCH_ATTEMPTS", "1")
        result = _run(TROOPS, {"ops": {f"raw__{TROOPS.name}": {"config": {"mode": "live"}}}})
    meta = _failure_metadata(result)
    assert meta["failure_kind"] == "download" and meta["file_fault"] is False
    assert "path" not in meta and "rejected_copy" not in meta
    assert meta["explained"].startswith(f"[us_troops_dmdc] {TROOPS.name}: {server.base_url}{path} answered HTTP 404")
    assert not (tmp_path / "warehouse" / ".rejected").exists()
