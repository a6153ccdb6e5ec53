"""Per-country partitions of the World Bank API source: one country's backfill lands only that country's rows."""

import json
import os
import subprocess
import sys

import polars as pl
import pytest
from dagster import DagsterInstance, materialize

from pipelines import countries, fetch
from pipelines.partitions import COUNTRY_PARTITIONS, WORLDBANK_JSON, worldbank_wdi_json_country
from pipelines.resources import WarehouseResource
from tests.conftest import PROJECT_ROOT
from tests.livehttp import LiveServer

pytestmark = pytest.mark.slow  # Dagster runs of partitioned assets

INDICATOR_PATH = "/v2/country/{}/indicator/NY.GDP.MKTP.KD"


def country_slice(iso3: str) -> bytes:
    """The API's own response shape for one country, cut from the bundled real response."""
    header, records = json.loads(WORLDBANK_JSON.bundled_path.read_text(encoding="utf-8-sig"))
    mine = [r for r in records if r["countryiso3code"] == iso3]
    return json.dumps([{**header, "total": len(mine), "pages": 1}, mine]).encode()


@pytest.fixture()
def served(tmp_path, monkeypatch):
    with LiveServer() as server:
        for iso3 in ("ARG", "BRA"):
            server.set_file(INDICATOR_PATH.format(iso3), country_slice(iso3))
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        monkeypatch.setenv("HPW_FETCH_BACKOFF", "0.01")
        yield server


def backfill(root, iso3):
    result = materialize(
        [worldbank_wdi_json_country],
        partition_key=iso3,
        instance=DagsterInstance.ephemeral(),
        resources={"warehouse_db": WarehouseResource(warehouse_dir=str(root))},
    )
    assert result.success
    return result


@pytest.mark.slow  # a second interpreter importing Dagster
def test_partitions_are_the_configured_country_universe():
    assert set(COUNTRY_PARTITIONS.get_partition_keys()) == set(countries.universe_iso3())
    assert {"PRY", "COL", "BRA", "USA"} <= set(COUNTRY_PARTITIONS.get_partition_keys())
    # adding a country is one setting
    env = {**os.environ, "HPW_EXTRA_COUNTRIES": "USA,CAN"}
    out = (
        subprocess.run(
            [
                sys.executable,
                "-c",
                "from pipelines.partitions import COUNTRY_PARTITIONS as P; print(','.join(P.get_partition_keys()))",
            ],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .split(",")
    )
    assert set(out) == set(COUNTRY_PARTITIONS.get_partition_keys()) | {"CAN"}


def test_backfilling_one_country_lands_only_its_rows(served, tmp_path):
    root = tmp_path / "warehouse"
    bundled = WORLDBANK_JSON.parse(WORLDBANK_JSON.bundled_path)
    expected_arg = bundled.filter(pl.col("iso3") == "ARG").height
    assert 0 < expected_arg < bundled.height

    backfill(root, "ARG")
    assert {p for m, p, _ in served.requests if m == "GET"} == {INDICATOR_PATH.format("ARG")}
    log = fetch.read_log(tmp_path / "data")
    assert log.height == 1
    row = log.row(0, named=True)
    assert (row["partition"], row["raw_table"], row["outcome"], row["rows"]) == (
        "ARG",
        "worldbank_wdi_json",
        "new_vintage",
        expected_arg,
    )
    landed = pl.concat([WORLDBANK_JSON.parse(p) for p in (tmp_path / "data" / "landing").rglob("*.json")])
    assert set(landed["iso3"]) == {"ARG"} and landed.height == expected_arg
    landed_rows = landed.drop("file", "file_sha256", "source_row", "file_vintage", "vintage_date").sort(pl.all())
    bundled_rows = (
        bundled.filter(pl.col("iso3") == "ARG")
        .drop("file", "file_sha256", "source_row", "file_vintage", "vintage_date")
        .sort(pl.all())
    )
    assert landed_rows.equals(bundled_rows)

    backfill(root, "BRA")  # another country lands beside it; ARG's vintage is untouched
    backfill(root, "ARG")  # refreshing ARG alone: a conditional request, 304, no new vintage
    log = fetch.read_log(tmp_path / "data")
    assert log.select("partition", "outcome").rows() == [
        ("ARG", "new_vintage"),
        ("BRA", "new_vintage"),
        ("ARG", "not_modified"),
    ]
    assert sorted(p.name for p in (tmp_path / "data" / "landing" / "worldbank_wdi_json").iterdir()) == ["ARG", "BRA"]
    assert served.gets(INDICATOR_PATH.format("ARG"))[-1].get("If-None-Match")


def test_a_slice_holding_other_countries_is_refused(served, tmp_path):
    served.set_file(INDICATOR_PATH.format("ARG"), country_slice("BRA"))
    result = materialize(
        [worldbank_wdi_json_country],
        partition_key="ARG",
        instance=DagsterInstance.ephemeral(),
        resources={"warehouse_db": WarehouseResource(warehouse_dir=str(tmp_path / "warehouse"))},
        raise_on_error=False,
    )
    assert not result.success
    log = fetch.read_log(tmp_path / "data")
    assert log["outcome"].to_list() == ["contract_failed"] and "BRA" in log["error"][0]
