"""DESTA US trade agreements: the real subset and the real full dyadic file, the contract, the cited CAFTA-DR
corrections, live mode, and every mart value against an independent read of the raw files (csv module)."""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import urlsplit

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines import fetch
from pipelines.sources import trade_agreements_desta as desta
from tests.conftest import PROJECT_ROOT, SNAPSHOTS
from tests.livehttp import LiveServer

SUBSET = SNAPSHOTS / "trade_agreements_desta" / "desta_dyads_us_lac_subset.csv"
FULL = PROJECT_ROOT / "data" / "fixtures" / "trade_agreements_desta_full" / "desta_list_of_treaties_02_01_dyads.csv"
CORRECTIONS = PROJECT_ROOT / "data" / "reference" / "trade_agreement_in_force_corrections.csv"
NUMERIC = {
    "188": "CRI",
    "222": "SLV",
    "320": "GTM",
    "340": "HND",
    "558": "NIC",
    "214": "DOM",
    "152": "CHL",
    "170": "COL",
    "484": "MEX",
    "591": "PAN",
    "604": "PER",
}


def rows(path=SUBSET) -> list[dict]:
    with path.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


def write_rows(path, records) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    writer.writeheader()
    writer.writerows(records)
    path.write_bytes(buffer.getvalue().encode("latin-1"))


def corrections() -> dict[tuple[str, str], dict]:
    with CORRECTIONS.open(encoding="utf-8", newline="") as handle:
        return {(r["iso3"], r["agreement"]): r for r in csv.DictReader(handle)}


@pytest.fixture(scope="module")
def parsed():
    return desta.parse(SUBSET)


def test_files_have_the_documented_quirks():
    raw = SUBSET.read_bytes()
    assert raw.count(b"\r\n") == 16 and raw.count(b"\n") == 16  # CRLF only
    full = FULL.read_bytes()
    assert b"\x92" in full and b"\xe9" in full  # Latin-1 / Windows bytes that are not UTF-8
    with pytest.raises(UnicodeDecodeError):
        full.decode("utf-8")
    assert len(rows()) == 15 and len(rows(FULL)) == 18329
    assert sum(1 for r in rows() if r["entryforceyear"] == "") == 3  # TPP: signed 2016, never in force


def test_parses_every_row_with_codes_first(parsed):
    assert parsed.height == 15
    assert dict(zip(parsed["partner_numeric"], parsed["iso3"])) == NUMERIC
    assert parsed["in_universe"].all() and set(parsed["us_name"]) == {"United States"}
    tpp = parsed.filter(pl.col("agreement") == "Transpacific Partnership (TPP)")
    assert tpp["entry_force_year"].to_list() == [None] * 3
    # the publisher's CAFTA year stays as published in raw
    assert set(parsed.filter(pl.col("desta_id") == 187)["entry_force_year"]) == {2004}
    assert "PRY" not in set(parsed["iso3"]) and "BRA" not in set(parsed["iso3"])


def test_full_dyadic_file_keeps_us_dyads_and_drops_the_rest(parsed):
    full = desta.parse(FULL)
    independent = [r for r in rows(FULL) if "840" in (r["iso1"], r["iso2"])]
    assert full.height == len(independent) == 37  # 18,292 pairs of other countries dropped, not fatal
    assert full.filter(pl.col("in_universe")).height == 15 and full.filter(~pl.col("in_universe")).height == 22
    # the US is country1 with Vietnam: the partner is the other side
    assert set(full.filter(pl.col("partner_numeric") == "704")["iso3"]) == {"VNM"}
    keys = ["iso3", "treaty_number", "agreement", "signed_year", "entry_force_year"]
    assert full.filter(pl.col("in_universe")).select(keys).sort(keys).equals(parsed.select(keys).sort(keys))


def test_encoding_utf8_release_and_windows_apostrophe(tmp_path):
    # the full list is Windows-1252: its 0x92 apostrophe decodes to U+2019, not a control character
    text = FULL.read_bytes().decode("cp1252")
    assert "C\u00f4te d\u2019Ivoire" in text
    # an accented name reads the same from the Latin-1 file and from a UTF-8 re-release of it
    accented = SUBSET.read_bytes().decode("latin-1").replace('"Peru"', '"Perú"')
    latin1, utf8 = tmp_path / "latin1.csv", tmp_path / "utf8.csv"
    latin1.write_bytes(accented.encode("latin-1"))
    utf8.write_bytes(accented.encode("utf-8"))
    from_latin1, from_utf8 = desta.parse(latin1), desta.parse(utf8)
    assert set(from_latin1.filter(pl.col("iso3") == "PER")["partner_name"]) == {"Perú"}
    assert from_utf8.equals(from_latin1)


def test_rejects_a_bad_year_naming_column_value_and_row(tmp_path):
    records = rows()
    records[6]["entryforceyear"] = "2O04"
    bad = tmp_path / SUBSET.name
    write_rows(bad, records)
    with pytest.raises(ContractViolation) as failure:
        desta.parse(bad)
    message = str(failure.value)
    assert "[trade_agreements_desta]" in message
    assert "'entry_force_year'" in message and "'2O04'" in message and "row(s) 7" in message
    records = rows()
    records[9]["year"] = "1066"
    write_rows(bad, records)
    with pytest.raises(ContractViolation) as failure:
        desta.parse(bad)
    message = str(failure.value)
    assert "'signed_year'" in message and "1066" in message and "row(s) 10" in message


def test_rejects_in_force_before_signature_and_a_duplicated_dyad(tmp_path):
    records = rows()
    records[7]["entryforceyear"] = "2001"  # Colombia US, signed 2006
    records.append(dict(records[0]))
    bad = tmp_path / SUBSET.name
    write_rows(bad, records)
    with pytest.raises(ContractViolation) as failure:
        desta.parse(bad)
    message = str(failure.value)
    assert "'entryforceyear'" in message and "Colombia US: signed 2006, in force 2001" in message
    assert "row(s) 8" in message
    assert "'treaty_number'" in message and "CRI 187" in message and "row(s) 1, 16" in message


def test_a_file_without_us_dyads_fails_and_a_missing_column_is_named(tmp_path):
    bad = tmp_path / SUBSET.name
    records = [r for r in rows(FULL)[:50]]
    write_rows(bad, records)
    with pytest.raises(ContractViolation, match="at least one dyad with the United States"):
        desta.parse(bad)
    records = [{k: v for k, v in r.items() if k != "entryforceyear"} for r in rows()]
    write_rows(bad, records)
    with pytest.raises(ContractViolation, match="'entryforceyear' failed required column present"):
        desta.parse(bad)


def test_corrections_reference_is_cited_and_checked(tmp_path):
    frame = desta.parse_corrections(CORRECTIONS)
    assert frame.height == 6 and frame["citation"].str.contains("ustr.gov").all()
    text = CORRECTIONS.read_text(encoding="utf-8").replace("2009-01-01", "2009-02-30")
    bad = tmp_path / CORRECTIONS.name
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ContractViolation) as failure:
        desta.parse_corrections(bad)
    message = str(failure.value)
    assert "'in_force_date'" in message and "2009-02-30" in message and "row(s) 6" in message


def test_live_mode_reads_the_full_publisher_file(tmp_path, monkeypatch):
    table = desta.DESTA
    assert table.live_url.endswith("/desta_list_of_treaties_02_01_dyads.csv") and table.cadence == "yearly"
    with LiveServer() as server:
        server.set_file(urlsplit(table.live_url).path, FULL.read_bytes())
        monkeypatch.setenv("HPW_MODE", "live")
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        acquired = fetch.acquire(table, None, tmp_path)
    assert acquired.ingestion.mode == "live" and acquired.ingestion.outcome == "new_vintage"
    frame = table.parse(acquired.file.path)
    assert frame.height == 37 and frame.filter(pl.col("in_universe")).height == 15


@pytest.mark.e2e
def test_mart_equals_the_files_with_cited_corrections(marts):
    fixes = corrections()
    expected = {}
    for r in rows():
        iso3 = NUMERIC[r["iso1"]]
        fix = fixes.get((iso3, r["name"]))
        year = int(r["entryforceyear"]) if r["entryforceyear"] else None
        if fix:
            assert int(fix["desta_entry_force_year"]) == year  # the correction replaces exactly DESTA's value
            in_force, source = date.fromisoformat(fix["in_force_date"]), "USTR correction"
        elif year:
            in_force, source = date(year, 1, 1), "DESTA year"
        else:
            in_force, source = None, "DESTA: never in force"
        expected[(iso3, int(r["base_treaty"]))] = (r["name"], int(r["year"]), in_force, source, year)
    got = {
        (iso3, desta_id): rest
        for iso3, desta_id, *rest in marts.execute(
            "select iso3, desta_id, agreement, signed_year, in_force_date, in_force_date_source, "
            "desta_entry_force_year from marts.fct_trade_agreements"
        ).fetchall()
    }
    assert {k: tuple(v) for k, v in got.items()} == expected
    assert len(got) == 15 and len(fixes) == 6
    # every correction is used, and CAFTA's real dates are per country
    used = marts.execute(
        "select iso3, in_force_date from marts.fct_trade_agreements where in_force_date_source = 'USTR correction'"
    )
    assert dict(used.fetchall()) == {
        "SLV": date(2006, 3, 1),
        "HND": date(2006, 4, 1),
        "NIC": date(2006, 4, 1),
        "GTM": date(2006, 7, 1),
        "DOM": date(2007, 3, 1),
        "CRI": date(2009, 1, 1),
    }
    assert marts.execute("select count(*) from marts.fct_trade_agreements where iso3 = 'PRY'").fetchone()[0] == 0
    vintages = {
        r[0]
        for r in marts.execute(
            "select distinct source || ' / ' || source_vintage from marts.fct_trade_agreements"
        ).fetchall()
    }
    assert vintages == {f"DESTA / {desta.DESTA.vintage}"}
