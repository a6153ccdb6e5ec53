"""The published file under a reader: a read-only connection held open through a build keeps its snapshot.

A failed build (a year 2999 in the IMF file) leaves the database byte-identical and the exports unchanged while a
reader holds the file open, and says which file, column, value and row failed.
"""

from __future__ import annotations

import hashlib
import shutil
import threading

import duckdb
import pytest

from pipelines.build import run_build
from tests.conftest import SNAPSHOTS
from tests.synthetic import rewrite_csv_cell
from tests.warehouse_copy import copy_warehouse

pytestmark = pytest.mark.e2e

SNAPSHOT_QUERIES = {
    "published_at": "select published_at::varchar from meta.build",
    "aid": "select count(*), sum(amount_current_usd) from marts.fct_us_aid_country_year",
    "trade": "select count(*), sum(total_trade_usd) from marts.fct_us_trade_country_year",
    "countries": "select list(iso3 order by iso3) from marts.dim_country",
}


def _snapshot(con) -> dict:
    return {name: con.execute(sql).fetchall() for name, sql in SNAPSHOT_QUERIES.items()}


def _digest(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.builds  # a refresh
def test_reader_holds_the_published_file_open_through_a_build(tmp_path, built_warehouse, reused_root):
    root = reused_root
    copy_warehouse(built_warehouse, root)
    # `hpw build --file` with a byte copy of a bundled file: a refresh that re-lands it and publishes again
    same_bases = tmp_path / "bases" / "basedata_lac.csv"
    same_bases.parent.mkdir()
    shutil.copyfile(SNAPSHOTS / "us_bases" / "basedata_lac.csv", same_bases)
    reader = duckdb.connect(str(root / "partnership.duckdb"), read_only=True)
    before = _snapshot(reader)
    seen, errors, stop = [], [], threading.Event()

    def keep_reading():  # the analyst's session: query the same connection again and again while the build runs
        try:
            while not stop.is_set():
                seen.append(_snapshot(reader))
                stop.wait(0.2)
        except Exception as err:  # noqa: BLE001 - any error (a lock error above all) fails the test below
            errors.append(err)

    thread = threading.Thread(target=keep_reading)
    thread.start()
    try:
        result = run_build(
            warehouse_dir=root,
            log_level="CRITICAL",
            echo=lambda *_: None,
            file_overrides={"us_bases": str(same_bases)},
        )
    finally:
        stop.set()
        thread.join(timeout=30)
    assert result.success, result.error
    assert result.published_changed and any(a.asset == "raw/us_bases" for a in result.assets)
    assert errors == []
    assert len(seen) >= 2 and all(snapshot == before for snapshot in seen)
    assert _snapshot(reader) == before  # the old connection still sees its snapshot after the swap
    reader.close()

    fresh = duckdb.connect(str(root / "partnership.duckdb"), read_only=True)
    after = _snapshot(fresh)
    fresh.close()
    assert after["published_at"] != before["published_at"]  # a new connection sees the new build
    assert {k: v for k, v in after.items() if k != "published_at"} == {
        k: v for k, v in before.items() if k != "published_at"
    }


def test_failed_build_with_a_reader_open_leaves_file_and_exports_unchanged(tmp_path, built_warehouse):
    root = tmp_path / "warehouse"
    copy_warehouse(built_warehouse, root)
    published_before = hashlib.sha256((root / "partnership.duckdb").read_bytes()).hexdigest()
    exports_before = _digest(root / "exports")
    reader = duckdb.connect(str(root / "partnership.duckdb"), read_only=True)
    snapshot = _snapshot(reader)
    bad = tmp_path / "dots_us.csv"
    rewrite_csv_cell(
        SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv", bad, data_row=3, column="Time Period", value="2999"
    )
    result = run_build(  # a refresh of the IMF table (the published build's other inputs are unchanged)
        warehouse_dir=root,
        log_level="CRITICAL",
        echo=lambda *_: None,
        file_overrides={"imf_dots_us_trade": str(bad)},
    )
    assert not result.success
    assert all(fragment in result.error for fragment in ("imf_dots_us_trade", "'year'", "2999", "row(s) 3"))
    # the failure shows as a failed Dagster asset check on the raw asset
    assert {a.asset: a.checks_failed for a in result.assets}["raw/imf_dots_us_trade"] == 1
    assert _snapshot(reader) == snapshot
    reader.close()
    assert hashlib.sha256((root / "partnership.duckdb").read_bytes()).hexdigest() == published_before
    assert _digest(root / "exports") == exports_before
    assert not (root / ".build" / "partnership.duckdb").exists()
