"""Per-country partitions of the Census international trade API: one country's backfill lands only its rows."""

import csv
import json
from urllib.parse import urlsplit

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from pipelines import countries, fetch
from pipelines.partitions import (
    CENSUS_CODES_FILE,
    CENSUS_PARTITIONS,
    CENSUS_TABLES,
    census_country_url,
    census_cty_codes,
    census_intltrade_country,
)
from pipelines.resources import WarehouseResource
from tests.livehttp import LiveServer

pytestmark = pytest.mark.slow  # Dagster runs of partitioned assets


def reference_rows() -> list[dict]:
    with CENSUS_CODES_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def fixture_slice(table, code: str) -> bytes:
    """What the API answers to `...&CTY_CODE=<code>`: that code's rows, cut from the fixture, with the predicate
    variable repeated as a last column (the API appends predicate variables, even one already in `get`)."""
    header, *records = json.loads(table.bundled_path.read_text())
    mine = [[*r, code] for r in records if r[header.index("CTY_CODE")] == code]
    return json.dumps([[*header, "CTY_CODE"], *mine]).encode()


def served_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


@pytest.fixture()
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HPW_FETCH_BACKOFF", "0.01")
    with LiveServer() as server:
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        for iso3 in ("PRY", "COL"):
            for table in CENSUS_TABLES:
                server.set_file(
                    served_path(census_country_url(table, iso3)), fixture_slice(table, census_cty_codes()[iso3])
                )
        yield server


def backfill(root, iso3, **kwargs):
    return materialize(
        [census_intltrade_country],
        partition_key=iso3,
        instance=DagsterInstance.ephemeral(),
        resources={"warehouse_db": WarehouseResource(warehouse_dir=str(root))},
        **kwargs,
    )


def test_reference_codes_cover_the_universe_partners_and_cite_schedule_c():
    rows = reference_rows()
    assert all("census.gov/foreign-trade/schedules/c/country.txt" in r["note"] for r in rows)
    assert len({r["iso3"] for r in rows}) == len(rows) and len({r["cty_code"] for r in rows}) == len(rows)
    partners = {r["iso3"] for r in rows if r["is_partner"] == "true"}
    assert set(CENSUS_PARTITIONS.get_partition_keys()) == partners & countries.universe_iso3()
    assert {"PRY", "COL", "BRA", "HND", "MEX"} <= set(CENSUS_PARTITIONS.get_partition_keys())
    assert "USA" not in CENSUS_PARTITIONS.get_partition_keys()  # the reporter is no partner
    # the fixture's country codes agree with the reference (its names map to the same ISO3 through the crosswalk)
    for table in CENSUS_TABLES:
        frame = table.parse(table.bundled_path).filter(pl.col("entity_kind") == "country")
        codes = census_cty_codes()
        assert frame.height > 0 and all(codes[i] == c for i, c in frame.select("iso3", "cty_code").unique().rows())


def test_backfilling_one_country_lands_only_its_rows(served, tmp_path):
    expected = {}
    for table in CENSUS_TABLES:
        whole = table.parse(table.bundled_path)
        expected[table.name] = whole.filter(pl.col("iso3") == "PRY").height
        assert 0 < expected[table.name] < whole.height

    assert backfill(tmp_path / "warehouse", "PRY").success
    gets = {p for m, p, _ in served.requests if m == "GET"}
    assert gets == {served_path(census_country_url(t, "PRY")) for t in CENSUS_TABLES}
    assert all(p.endswith("&CTY_CODE=3530") for p in gets)
    log = fetch.read_log(tmp_path / "data")
    assert sorted(log.select("raw_table", "partition", "outcome", "rows").rows()) == sorted(
        (name, "PRY", "new_vintage", rows) for name, rows in expected.items()
    )
    for table in CENSUS_TABLES:
        landed = [table.parse(p) for p in (tmp_path / "data" / "landing" / table.fetch_key / "PRY").rglob("*.json")]
        assert len(landed) == 1
        assert set(landed[0]["iso3"]) == {"PRY"} and set(landed[0]["cty_code"]) == {"3530"}
        assert landed[0].height == expected[table.name]
        assert not landed[0]["is_synthetic"].any()  # a slice is not the fixture file: live rows are never flagged

    assert backfill(tmp_path / "warehouse", "COL").success  # another country lands beside it
    for table in CENSUS_TABLES:
        assert sorted(p.name for p in (tmp_path / "data" / "landing" / table.fetch_key).iterdir()) == ["COL", "PRY"]
    log = fetch.read_log(tmp_path / "data")
    assert log.filter(pl.col("partition") == "COL")["outcome"].to_list() == ["new_vintage", "new_vintage"]


def test_a_slice_holding_another_country_is_refused(served, tmp_path):
    for table in CENSUS_TABLES:
        served.set_file(served_path(census_country_url(table, "PRY")), fixture_slice(table, census_cty_codes()["COL"]))
    result = backfill(tmp_path / "warehouse", "PRY", raise_on_error=False)
    assert not result.success
    log = fetch.read_log(tmp_path / "data")
    assert log["outcome"].to_list() == ["contract_failed"] and "COL" in log["error"][0]
