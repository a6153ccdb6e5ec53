"""IMF IMTS (successor of DOTS) source: its synthetic SDMX-CSV fixture, its contract, a live fetch from 127.0.0.1."""

import csv
import io
from urllib.parse import urlsplit

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines import fetch
from pipelines.countries import UnmappedCountryError
from pipelines.sources import RAW_TABLES_BY_NAME
from tests.livehttp import LiveServer

IMTS = RAW_TABLES_BY_NAME["imf_imts_us_trade"]


def fixture_rows() -> tuple[list[str], list[list[str]]]:
    header, *rows = list(csv.reader(io.StringIO(IMTS.bundled_path.read_text())))
    return header, rows


def write_rows(path, header, rows) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    path.write_text(buffer.getvalue())


def test_fixture_is_labelled_synthetic_and_outside_the_real_snapshots():
    assert "data/fixtures/" in IMTS.bundled_path.as_posix() and "snapshots" not in IMTS.bundled_path.as_posix()
    assert "SYNTHETIC" in (IMTS.bundled_path.parent / "SOURCE.md").read_text() and "SYNTHETIC" in IMTS.vintage
    assert IMTS.parse(IMTS.bundled_path)["is_synthetic"].all()


def test_parser_reads_every_observation_maps_iso3_and_keeps_blanks_null():
    header, rows = fixture_rows()
    frame = IMTS.parse(IMTS.bundled_path)
    assert frame.height == len(rows)  # one row per observation, none dropped
    counterpart = [r[header.index("COUNTERPART_COUNTRY")] for r in rows]
    groups = [c for c in counterpart if c.startswith("G")]
    # ISO3 counterparts resolve through the crosswalk to themselves; IMF groups (G001 world) are aggregates
    countries = frame.filter(pl.col("entity_kind") == "country")
    assert countries.height == len(counterpart) - len(groups) > 0
    assert (countries["iso3"] == countries["counterpart_code"]).all() and countries["in_universe"].all()
    aggregates = frame.filter(pl.col("entity_kind") == "aggregate")
    assert aggregates.height == len(groups) > 0 and aggregates["iso3"].null_count() == len(groups)
    # blank OBS_VALUE is NULL, never zero; the others are the file's numbers in US dollars
    blanks = [i for i, r in enumerate(rows) if r[header.index("OBS_VALUE")] == ""]
    assert len(blanks) >= 1 and frame["value_usd"].null_count() == len(blanks)
    assert frame["value_usd"][0] == float(rows[0][header.index("OBS_VALUE")])
    assert set(frame["flow"]) == {"exports", "imports"} and set(frame["valuation"]) == {"FOB", "CIF"}
    assert frame["year"].to_list() == [int(r[header.index("TIME_PERIOD")]) for r in rows]


def test_nan_is_null_and_an_unknown_counterpart_is_named(tmp_path):
    header, rows = fixture_rows()
    rows[0][header.index("OBS_VALUE")] = "NaN"
    path = tmp_path / "imts.csv"
    write_rows(path, header, rows)
    assert IMTS.parse(path)["value_usd"][0] is None
    rows[1][header.index("COUNTERPART_COUNTRY")] = "QQQ"
    write_rows(path, header, rows)
    with pytest.raises(UnmappedCountryError, match="QQQ"):
        IMTS.parse(path)


def test_contract_rejection_names_column_value_and_row(tmp_path):
    header, rows = fixture_rows()
    rows[3][header.index("OBS_VALUE")] = "-5"  # data row 4
    rows[6][header.index("INDICATOR")] = "TBG_USD"  # data row 7: the balance is not a flow
    bad = tmp_path / "imts.csv"
    write_rows(bad, header, rows)
    with pytest.raises(ContractViolation) as failure:
        IMTS.parse(bad)
    message = str(failure.value)
    assert "imf_imts_us_trade" in message
    assert "column 'value_usd'" in message and "-5" in message and "row(s) 4" in message
    assert "column 'indicator'" in message and "TBG_USD" in message and "row(s) 7" in message


def test_missing_sdmx_columns_say_which_and_how_to_ask(tmp_path):
    bad = tmp_path / "imts.xml"
    bad.write_text("<message:StructureSpecificData>\n</message:StructureSpecificData>\n")
    with pytest.raises(ContractViolation, match="OBS_VALUE.*Accept"):
        IMTS.parse(bad)


def test_live_fetch_asks_for_sdmx_csv_and_lands_real_rows(tmp_path, monkeypatch):
    header, rows = fixture_rows()
    rows[0][header.index("OBS_VALUE")] = str(int(rows[0][header.index("OBS_VALUE")]) + 1)  # not the fixture
    body = io.StringIO()
    csv.writer(body, lineterminator="\n").writerows([header, *rows])
    with LiveServer() as server:
        path = urlsplit(IMTS.live_url).path
        server.set_file(path, body.getvalue().encode())
        monkeypatch.setenv("HPW_MODE", "live")
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        acquired = fetch.acquire(IMTS, None, tmp_path)
        (request_headers,) = server.gets(path)
    assert path == "/external/sdmx/2.1/data/IMF.STA,IMTS/USA.XG_FOB_USD+MG_CIF_USD..A"
    assert request_headers["Accept"] == "application/vnd.sdmx.data+csv;version=1.0.0"
    assert acquired.ingestion.mode == "live" and acquired.ingestion.outcome == "new_vintage"
    assert acquired.ingestion.url_or_path.endswith("..A?startPeriod=2020")
    landed = IMTS.parse(acquired.file.path)
    assert landed.height == len(rows) and not landed["is_synthetic"].any()
    fixture = IMTS.parse(IMTS.bundled_path)
    assert landed.drop("value_usd", "is_synthetic").equals(fixture.drop("value_usd", "is_synthetic"))
    assert landed["value_usd"][0] == fixture["value_usd"][0] + 1
