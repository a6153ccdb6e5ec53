"""The Census international trade API source: its synthetic offline fixture, and live months reaching raw."""

import json
from urllib.parse import urlsplit

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines import fetch
from pipelines.sources import RAW_TABLES_BY_NAME
from tests.livehttp import LiveServer

EXPORTS = RAW_TABLES_BY_NAME["census_exports"]
IMPORTS = RAW_TABLES_BY_NAME["census_imports"]


def fixture_matrix(table):
    return json.loads(table.bundled_path.read_text())


def test_fixture_is_labelled_synthetic_and_outside_the_real_snapshots():
    for table in (EXPORTS, IMPORTS):
        assert "data/fixtures/" in table.bundled_path.as_posix() and "snapshots" not in table.bundled_path.as_posix()
        assert "SYNTHETIC" in (table.bundled_path.parent / "SOURCE.md").read_text()
        assert "SYNTHETIC" in table.vintage
        frame = table.parse(table.bundled_path)
        assert frame["is_synthetic"].all()
        assert frame.height == len(fixture_matrix(table)) - 1


def test_parser_reads_the_api_matrix_with_its_quirks():
    matrix = fixture_matrix(EXPORTS)
    frame = EXPORTS.parse(EXPORTS.bundled_path)
    header = matrix[0]
    # every country code (4 digits 1000-7999) maps to an ISO3; groupings and the '-' total are aggregates
    codes = pl.DataFrame(matrix[1:], schema=header, orient="row")
    is_country = codes["CTY_CODE"].str.contains(r"^[1-7][0-9]{3}$")
    assert frame.filter(pl.col("entity_kind") == "country").height == is_country.sum()
    assert frame.filter(pl.col("entity_kind") == "aggregate")["iso3"].null_count() == (~is_country).sum()
    assert {"PRY", "COL", "BRA", "HND"} <= set(frame["iso3"].drop_nulls())
    # time YYYY-MM splits into year/month; 2026 months are there (after the Paraguay SOFA)
    assert frame.filter(pl.col("year") == 2026).height > 0
    assert (frame["period"] == frame["year"].cast(pl.String) + "-" + frame["month"].cast(pl.String).str.zfill(2)).all()
    # a null value stays NULL (unknown), never 0
    nulls = sum(1 for row in matrix[1:] if row[header.index("ALL_VAL_MO")] is None)
    assert nulls >= 1 and frame["value_usd"].null_count() == nulls
    # text numbers become integers equal to the file's
    first = matrix[1]
    assert frame.row(0, named=True)["value_usd"] == int(first[header.index("ALL_VAL_MO")])


def test_contract_rejects_a_bad_month_and_a_negative_value(tmp_path):
    matrix = fixture_matrix(IMPORTS)
    header = matrix[0]
    matrix[3][header.index("time")] = "2026-13"
    matrix[5][header.index("GEN_VAL_MO")] = "-5"
    bad = tmp_path / "imports.json"
    bad.write_text(json.dumps(matrix))
    with pytest.raises(ContractViolation) as failure:
        IMPORTS.parse(bad)
    message = str(failure.value)
    assert "census_intltrade" in message and "2026-13" in message and "-5" in message


def test_live_census_months_are_real_not_synthetic(tmp_path, monkeypatch):
    """A live answer that is not the fixture lands with is_synthetic = false and its own vintage."""
    matrix = fixture_matrix(EXPORTS)
    header = matrix[0]
    live_matrix = [header] + [row[:] for row in matrix[1:]]
    live_matrix[1][header.index("ALL_VAL_MO")] = str(int(live_matrix[1][header.index("ALL_VAL_MO")]) + 1)
    with LiveServer() as server:
        server.set_file(urlsplit(EXPORTS.live_url).path, json.dumps(live_matrix).encode())
        monkeypatch.setenv("HPW_MODE", "live")
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        acquired = fetch.acquire(EXPORTS, None, tmp_path)
        ((_, _, headers),) = [r for r in server.requests if r[0] == "GET"]
    assert acquired.ingestion.mode == "live" and acquired.ingestion.outcome == "new_vintage"
    assert acquired.ingestion.url_or_path.endswith(
        "/data/timeseries/intltrade/exports/hs?get=CTY_CODE,CTY_NAME,ALL_VAL_MO&time=from+2023-01"
    )
    frame = EXPORTS.parse(acquired.file.path)
    assert not frame["is_synthetic"].any()
    assert frame.height == len(live_matrix) - 1
