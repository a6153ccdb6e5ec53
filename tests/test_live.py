"""Live mode against a real HTTP server on 127.0.0.1 that serves the bundled files at paths shaped like the real URLs.

The production code path runs unchanged: HPW_MODE=live, and HPW_LIVE_BASE_URL only swaps scheme and host.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import polars as pl
import pytest

from pipelines import fetch
from pipelines.sources import RAW_TABLES, RAW_TABLES_BY_NAME
from tests.livehttp import LiveServer

AID = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
AID_PATH = urlsplit(AID.live_url).path
LIVE_TABLES = [t for t in RAW_TABLES if t.live_url]
PROVENANCE = ("_source_file", "_source_sha256", "_source_vintage", "_loaded_at")


@pytest.fixture()
def server():
    with LiveServer() as live:
        yield live


@pytest.fixture()
def live_env(server, tmp_path, monkeypatch):
    monkeypatch.setenv("HPW_MODE", "live")
    monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
    monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HPW_FETCH_BACKOFF", "0.01")
    monkeypatch.setenv("HPW_FETCH_TIMEOUT", "10")
    return tmp_path / "data"


def materialize_raw(root: Path):
    from dagster import DagsterInstance, materialize

    from pipelines.assets import RAW_ASSETS
    from pipelines.resources import WarehouseResource

    result = materialize(
        RAW_ASSETS,
        resources={"warehouse_db": WarehouseResource(warehouse_dir=str(root))},
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert result.success
    return root / ".build" / "partnership.duckdb"


def raw_rows(database: Path, table: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        frame = con.sql(f"select * from raw.{table}").pl()
    return frame.drop(PROVENANCE).sort(pl.all())


def test_every_built_in_live_address_is_https_and_named_in_its_source_md():
    assert len({t.fetch_key for t in LIVE_TABLES}) >= 6
    for table in LIVE_TABLES:
        assert table.live_url.startswith("https://")
        # A snapshot's SOURCE.md sits in its top folder; files may live in sub-folders of it (fmtr_training/html/).
        folder = next(p for p in table.bundled_path.parents if (p / "SOURCE.md").exists())
        more = folder / "SOURCE_more.md"
        text = (folder / "SOURCE.md").read_text() + (more.read_text() if more.exists() else "")
        # An address found after vendoring (the snapshot folder stays byte-identical) is documented in the README.
        readme = (folder.parents[2] / "README.md").read_text()
        file_name = urlsplit(table.live_url).path.rsplit("/", 1)[-1]
        assert file_name in text or table.live_url in readme, (
            f"{table.name}: {table.live_url} not in SOURCE.md or README"
        )


def test_snapshot_mode_never_opens_a_connection(tmp_path, monkeypatch):
    monkeypatch.delenv("HPW_MODE", raising=False)
    monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))

    def no_network(*args, **kwargs):
        raise AssertionError("snapshot mode opened an HTTP client")

    monkeypatch.setattr(fetch, "_client", no_network)
    for table in RAW_TABLES:
        acquired = fetch.acquire(table, None, tmp_path)
        assert acquired.file.bundled and acquired.ingestion.mode == "snapshot"


@pytest.mark.e2e
@pytest.mark.builds  # a run of every raw asset: scheduled early in its part
def test_live_build_lands_the_same_raw_rows_as_a_snapshot_build(server, live_env, tmp_path, built_warehouse):
    live_db = materialize_raw(tmp_path / "live")
    live_gets = {p for m, p, _ in server.requests if m == "GET"}
    assert live_gets == {urlsplit(t.live_url).path for t in LIVE_TABLES}
    for _, _, headers in server.requests:
        assert headers["User-Agent"].startswith("hemisphere-partnership-warehouse/")

    # the session build is a snapshot-mode build of the bundled files; its published file keeps the raw schema
    snapshot_db = built_warehouse / "partnership.duckdb"
    with duckdb.connect(str(snapshot_db), read_only=True) as con:
        assert set(con.execute("select distinct mode from meta.ingestions").fetchall()) == {("snapshot",)}
    for table in RAW_TABLES:
        live, snap = raw_rows(live_db, table.name), raw_rows(snapshot_db, table.name)
        assert live.height == snap.height > 0, table.name
        assert live.equals(snap), f"raw.{table.name} differs between live and snapshot mode"

    with duckdb.connect(str(live_db), read_only=True) as con:
        ingestions = con.sql("select * from meta.ingestions").pl()
        loads = con.sql("select raw_table, sha256, rows_landed from meta.loads").pl()
    live_rows = ingestions.filter(pl.col("mode") == "live")
    assert set(live_rows["raw_table"]) == {t.name for t in LIVE_TABLES}
    assert set(live_rows["http_status"]) == {200}
    assert set(ingestions.filter(pl.col("mode") == "snapshot")["raw_table"]) == {t.name for t in RAW_TABLES} - {
        t.name for t in LIVE_TABLES
    }
    # rows recorded per ingestion = rows landed; sha256 = the landed bytes, stored read-only under
    # <data>/landing/<key>/<sha256>/
    joined = live_rows.join(loads, on="raw_table")
    assert (joined["rows"] == joined["rows_landed"]).all()
    for row in live_rows.iter_rows(named=True):
        landed = Path(row["landed_path"])
        assert landed.is_relative_to(live_env / "landing") and landed.parent.name == row["sha256"]
        assert hashlib.sha256(landed.read_bytes()).hexdigest() == row["sha256"]
        assert not landed.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert row["bytes"] == landed.stat().st_size and row["etag"] and row["last_modified"]


def test_503_twice_then_200_succeeds_and_logs_each_retry(server, live_env, tmp_path, caplog):
    server.script[AID_PATH] = [503, 503]
    with caplog.at_level(logging.WARNING, logger="hpw.fetch"):
        acquired = fetch.acquire(AID, None, tmp_path)
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 2 and all("HTTP 503" in m and AID.live_url.split("/")[-1] in m for m in retries)
    assert len(server.gets(AID_PATH)) == 3
    assert acquired.ingestion.http_status == 200 and acquired.ingestion.attempts == 3
    assert acquired.ingestion.outcome == "new_vintage"
    assert acquired.file.sha256 == hashlib.sha256(AID.bundled_path.read_bytes()).hexdigest()


def test_timeout_is_retried_then_fails_naming_source_and_url(server, live_env, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HPW_FETCH_TIMEOUT", "0.2")
    monkeypatch.setenv("HPW_FETCH_ATTEMPTS", "3")
    server.delay[AID_PATH] = 1.0
    with caplog.at_level(logging.WARNING, logger="hpw.fetch"), pytest.raises(fetch.FetchError) as failure:
        fetch.acquire(AID, None, tmp_path)
    message = str(failure.value)
    assert "us_foreign_aid" in message and f"{server.base_url}{AID_PATH}" in message
    assert "timed out" in message and "3 attempts" in message and "hint:" in message
    assert "\n" not in message
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == 2
    assert len(server.gets(AID_PATH)) == 3
    log = fetch.read_log(live_env)
    assert log["outcome"].to_list() == ["failed"] and log["sha256"].to_list() == [None]


def _fetch_and_record(table, root):
    acquired = fetch.acquire(table, None, root)
    fetch.record(acquired, fetch.data_dir(root), rows=table.parse(acquired.file.path).height)
    return acquired


def test_304_and_same_sha256_do_not_make_a_new_vintage(server, live_env, tmp_path):
    first = _fetch_and_record(AID, tmp_path)
    assert first.ingestion.outcome == "new_vintage"
    second = _fetch_and_record(AID, tmp_path)
    # the second request was conditional, and the server's 304 reused the landed file
    assert server.gets(AID_PATH)[-1].get("If-None-Match") == first.ingestion.etag
    assert second.ingestion.http_status == 304 and second.ingestion.outcome == "not_modified"
    assert second.file.path == first.file.path and second.ingestion.vintage == first.ingestion.vintage
    # asking again changes nothing: one vintage, one landed file, one more log line
    landed = sorted((live_env / "landing" / AID.fetch_key).iterdir())
    third = _fetch_and_record(AID, tmp_path)
    assert third.ingestion.outcome == "not_modified"
    assert sorted((live_env / "landing" / AID.fetch_key).iterdir()) == landed == [first.file.path.parent]
    log = fetch.read_log(live_env)
    assert log.height == 3 and log.filter(pl.col("outcome") == "new_vintage").height == 1
    assert log["vintage"].n_unique() == 1


def test_same_bytes_without_validators_are_unchanged(server, live_env, tmp_path, monkeypatch):
    first = _fetch_and_record(AID, tmp_path)
    # forget the validators: the download happens, and the sha256 shows it is the vintage already landed
    monkeypatch.setattr(
        fetch,
        "_previous",
        lambda root, table, real=fetch._previous: real(root, table).with_columns(
            etag=pl.lit(None, pl.String), last_modified=pl.lit(None, pl.String)
        ),
    )
    second = _fetch_and_record(AID, tmp_path)
    assert second.ingestion.http_status == 200 and second.ingestion.outcome == "unchanged"
    assert second.file.path == first.file.path and second.ingestion.vintage == first.ingestion.vintage
    assert sorted((live_env / "landing" / AID.fetch_key).iterdir()) == [first.file.path.parent]


@pytest.mark.builds  # a cold build (a live address)
def test_changed_upstream_lands_a_new_vintage_and_the_marts_reflect_it(server, reused_root, monkeypatch, marts):
    """Per-source URL override in snapshot mode: only FA.gov goes live; a changed file reaches the mart."""
    from pipelines.build import run_build

    monkeypatch.delenv("HPW_MODE", raising=False)
    monkeypatch.setenv("HPW_US_FOREIGN_AID_SUMMARY_URL", f"{server.base_url}{AID_PATH}")
    monkeypatch.setenv("HPW_FETCH_BACKOFF", "0.01")
    root = reused_root
    _fetch_and_record(AID, root)  # the first live vintage: identical to the bundled file

    original = AID.bundled_path.read_bytes()
    old_line = b"PRY,Paraguay,6,Western Hemisphere,UMIC,Upper Middle Income Country,2,Obligations,2019,39271508,"
    assert original.count(old_line) == 1
    changed = original.replace(old_line, old_line.replace(b",39271508,", b",39271608,"))
    server.set_file(AID_PATH, changed, last_modified="Mon, 05 Jan 2026 09:00:00 GMT")

    result = run_build(force=True, warehouse_dir=root, log_level="WARNING", echo=lambda *_: None)
    assert result.success, result.error
    with duckdb.connect(str(root / "partnership.duckdb"), read_only=True) as con:
        vintages = con.execute(
            "select sha256, vintage, outcome from meta.ingestions where raw_table = 'us_foreign_aid_summary' "
            "and outcome = 'new_vintage' order by retrieved_at"
        ).fetchall()
        listed = con.execute(
            "select count(*) from meta.vintages where raw_table = 'us_foreign_aid_summary'"
        ).fetchone()[0]
        query = (
            "select fiscal_year, transaction_type, amount_current_usd, source_vintage from "
            "marts.fct_us_aid_country_year where iso3 = 'PRY' and fiscal_year = 2019 and source = 'us_foreign_aid' "
            "order by transaction_type"
        )
        live = con.execute(query).fetchall()
    snapshot = marts.execute(query).fetchall()
    assert len(vintages) == 2 and vintages[1][0] == hashlib.sha256(changed).hexdigest() and listed == 2
    assert vintages[1][1].startswith("live 2026-01-05")
    differences = [(snap, got) for snap, got in zip(snapshot, live) if snap[2] != got[2]]
    assert len(live) == len(snapshot) and len(differences) == 1
    ((snap_row, live_row),) = differences
    assert live_row[1] == snap_row[1] and live_row[2] - snap_row[2] == 100
    assert all(row[3] == vintages[1][1] for row in live)
