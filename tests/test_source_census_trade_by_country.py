"""US Census Bureau trade by partner and month: the bundled JSON-lines file, the publisher's country workbook
(a real copy in data/fixtures/), the contract, live mode, and every mart value against an independent read."""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from datetime import date
from functools import lru_cache
from urllib.parse import urlsplit

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from data_contracts._base import ContractViolation
from pipelines import fetch
from pipelines.countries import UnmappedCountryError
from pipelines.sources import census_trade_by_country as census
from tests.conftest import PROJECT_ROOT, SNAPSHOTS
from tests.livehttp import LiveServer

FILE = SNAPSHOTS / "census_trade_by_country" / "census_trade_by_country_lac_2022_2026.jsonl"
WORLD = SNAPSHOTS / "census_trade_by_country" / "world_totals_census_basis_2022_2025.jsonl"
WORKBOOK = PROJECT_ROOT / "data" / "fixtures" / "census_trade_by_country_workbook" / "country.xlsx"
AGGREGATES = {"AGG_0009", "AGG_0017"}
OUTSIDE = {"BMU"}  # Bermuda: Northern America, not Latin America & the Caribbean
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def json_lines(path=FILE) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_lines(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def file_months() -> dict[tuple[str, date], tuple[float | None, float | None]]:
    """(ISO3, first of month) -> (exports, imports) in US dollars, countries only, read with the json module."""
    months = {}
    for record in json_lines():
        if record["country_code"] in AGGREGATES | OUTSIDE:
            continue
        for index, (exports, imports) in enumerate(zip(record["exports"], record["imports"]), start=1):
            if exports is None and imports is None:
                continue
            usd = lambda v: None if v is None else round(v * 1_000_000)  # noqa: E731
            months[(record["country_code"], date(record["year"], index, 1))] = (usd(exports), usd(imports))
    return months


@lru_cache(maxsize=1)
def workbook_rows(path=WORKBOOK) -> list[list[str]]:
    """The workbook's sheet as rows of text, read with zipfile + ElementTree (not the parser's Excel reader)."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as book:
        strings = [
            "".join(t.text or "" for t in si.iter(f"{{{ns['m']}}}t"))
            for si in ET.fromstring(book.read("xl/sharedStrings.xml")).findall("m:si", ns)
        ]
        sheet = ET.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.find("m:sheetData", ns).findall("m:row", ns):
        cells = {}
        for cell in row.findall("m:c", ns):
            column = "".join(ch for ch in cell.get("r") if ch.isalpha())
            value = cell.find("m:v", ns)
            text = None if value is None else value.text
            cells[column] = strings[int(text)] if cell.get("t") == "s" and text is not None else text
        letters = [chr(ord("A") + i) for i in range(26)] + ["AA", "AB", "AC"]
        rows.append([cells.get(c) for c in letters])
    return rows


@pytest.fixture(scope="module")
def parsed():
    return census.parse(FILE)


@pytest.fixture(scope="module")
def workbook():
    return census.parse(WORKBOOK)


# ---------- the bundled file: layout, quirks, values


def test_file_has_the_documented_layout():
    records = json_lines()
    assert len(records) == 240 and FILE.read_bytes().count(b"\n") == 240
    assert {r["year"] for r in records} == {2022, 2023, 2024, 2025, 2026}
    assert all(sum(1 for r in records if r["year"] == y) == 48 for y in range(2022, 2027))
    # 2026 is year-to-date: September-December are null (not published) on every line, and only there
    nulls = {(r["year"], i) for r in records for i, v in enumerate(r["exports"] + r["imports"]) if v is None}
    assert {(y, i % 12 + 1) for y, i in nulls} == {(2026, m) for m in (9, 10, 11, 12)}


def test_parses_every_line_into_twelve_months(parsed):
    assert parsed.height == 240 * 12 == 2880
    counts = {(kind, inside): n for kind, inside, n in parsed.group_by("entity_kind", "in_universe").len().iter_rows()}
    assert counts == {("country", True): 45 * 5 * 12, ("aggregate", False): 2 * 5 * 12, ("country", False): 60}
    assert set(parsed.filter(pl.col("entity_kind") == "aggregate")["partner_code"]) == AGGREGATES
    assert parsed.filter(pl.col("entity_kind") == "aggregate")["iso3"].null_count() == 120
    outside = parsed.filter(~pl.col("in_universe") & (pl.col("entity_kind") == "country"))
    assert outside["iso3"].unique().to_list() == ["BMU"]


def test_codes_come_from_the_schedule_c_reference(parsed):
    codes = dict(parsed.select("iso3", "cty_code").unique().drop_nulls().iter_rows())
    assert codes["PRY"] == "3530" and codes["MEX"] == "2010" and codes["BMU"] == "2320" and codes["FLK"] == "3720"
    aggregates = dict(parsed.filter(pl.col("iso3").is_null()).select("partner_code", "cty_code").unique().iter_rows())
    assert aggregates == {"AGG_0009": "0009", "AGG_0017": "0017"}


def test_values_equal_the_file_and_null_stays_null(parsed):
    expected = pl.DataFrame(
        [
            {
                "partner_code": r["country_code"],
                "year": r["year"],
                "month": i + 1,
                "exp": r["exports"][i],
                "imp": r["imports"][i],
                "exp_year": r["exports_year"],
            }
            for r in json_lines()
            for i in range(12)
        ],
        schema={
            "partner_code": pl.String,
            "year": pl.Int64,
            "month": pl.Int64,
            "exp": pl.Float64,
            "imp": pl.Float64,
            "exp_year": pl.Float64,
        },
        strict=False,
    )
    joined = expected.join(parsed, on=["partner_code", "year", "month"], how="left", validate="1:1")
    assert joined["exports_musd"].equals(joined["exp"], check_names=False)
    assert joined["imports_musd"].equals(joined["imp"], check_names=False)
    assert joined["exports_year_musd"].equals(joined["exp_year"], check_names=False)
    assert parsed["exports_musd"].null_count() == parsed["imports_musd"].null_count() == 48 * 4
    pry = parsed.filter((pl.col("iso3") == "PRY") & (pl.col("year") == 2026)).sort("month")
    assert pry["exports_musd"].to_list()[:8] == [399.5, 430.6, 514.8, 544.1, 711.0, 495.8, 494.7, 523.1]
    assert pry["exports_musd"].to_list()[8:] == [None] * 4


def test_world_totals():
    frame = census.parse_world_totals(WORLD)
    records = json_lines(WORLD)
    assert frame.height == len(records) == 4
    by_period = sorted(records, key=lambda r: r["period"])
    assert frame.sort("period")["exports_musd"].to_list() == [r["exports"] for r in by_period]
    assert frame.filter(pl.col("period") == "2025")["imports_musd"].item() == 3414510.6


# ---------- the contract on hostile variants of the real file


def test_rejects_a_negative_month_naming_column_value_and_line(tmp_path):
    records = json_lines()
    line = next(i for i, r in enumerate(records, start=1) if r["country_code"] == "PRY" and r["year"] == 2024)
    records[line - 1]["imports"][2] = -5
    bad = tmp_path / FILE.name
    write_lines(bad, records)
    with pytest.raises(ContractViolation) as failure:
        census.parse(bad)
    message = str(failure.value)
    assert "[census_trade_by_country]" in message and "'imports_musd'" in message and "-5" in message
    assert f"row(s) {line}" in message


def test_rejects_a_gap_in_a_published_month(tmp_path):
    records = json_lines()
    line = next(i for i, r in enumerate(records, start=1) if r["country_code"] == "COL" and r["year"] == 2023)
    records[line - 1]["exports"][5] = None
    bad = tmp_path / FILE.name
    write_lines(bad, records)
    with pytest.raises(ContractViolation) as failure:
        census.parse(bad)
    message = str(failure.value)
    assert "'exports'" in message and "COL 2023-6 null" in message and f"row(s) {line}" in message


def test_rejects_months_that_do_not_sum_to_the_annual_figure(tmp_path):
    records = json_lines()
    line = next(i for i, r in enumerate(records, start=1) if r["country_code"] == "BRA" and r["year"] == 2025)
    records[line - 1]["exports"][0] += 25  # a slip larger than the shards' rounding
    bad = tmp_path / FILE.name
    write_lines(bad, records)
    with pytest.raises(ContractViolation) as failure:
        census.parse(bad)
    message = str(failure.value)
    assert "'exports_year'" in message and "BRA 2025" in message and f"row(s) {line}" in message


def test_rejects_a_short_month_array_and_text_in_a_value(tmp_path):
    records = json_lines()
    records[3]["exports"] = records[3]["exports"][:11]
    bad = tmp_path / FILE.name
    write_lines(bad, records)
    with pytest.raises(ContractViolation, match=r"'exports' failed an array of 12 monthly values.*row\(s\) 4"):
        census.parse(bad)
    records = json_lines()
    records[9]["imports"][0] = "n/a"
    write_lines(bad, records)
    with pytest.raises(ContractViolation) as failure:
        census.parse(bad)
    message = str(failure.value)
    assert "'imports_musd'" in message and "'n/a'" in message and "row(s) 10" in message


def test_unknown_partner_code_fails_naming_it(tmp_path):
    records = json_lines()
    records[0]["country_code"] = "XYZ"
    bad = tmp_path / FILE.name
    write_lines(bad, records)
    with pytest.raises(UnmappedCountryError, match=r"\[census_trade_by_country\].*XYZ"):
        census.parse(bad)


# ---------- the publisher's workbook layout (real country.xlsx), read by content


def test_workbook_layout_parses_every_row(workbook):
    rows = workbook_rows()
    header, data = rows[0], [r for r in rows[1:] if any(r)]
    assert header[:3] == ["year", "CTY_CODE", "CTYNAME"] and header[-1] == "EYR"
    assert workbook.height == len(data) * 12 == 8725 * 12
    assert set(workbook["layout"]) == {"census workbook"}
    by_code = dict(workbook.select("partner_code", "iso3").unique().iter_rows())
    assert by_code["3530"] == "PRY" and by_code["2010"] == "MEX" and by_code["0003"] is None
    assert by_code["2771"] == "ANT"  # Netherlands Antilles: a hemisphere code not in the reference, resolved by name
    # codes outside the Western Hemisphere are kept, outside the universe, never fatal
    china = workbook.filter(pl.col("partner_code") == "5700")
    assert china.height > 0 and not china["in_universe"].any() and china["iso3"].null_count() == china.height


def test_workbook_zero_filled_months_become_null_but_real_zeros_stay(workbook):
    rows = [r for r in workbook_rows()[1:] if any(r)]
    latest = max(int(r[0]) for r in rows)
    # the file itself: every partner is 0 in the last months of its latest year (not yet published)
    published = {m for m in range(12) for r in rows if r[0] == str(latest) and (float(r[3 + m]) or float(r[16 + m]))}
    assert latest == 2024 and published == set(range(6))
    last = workbook.filter(pl.col("year") == latest)
    assert last.filter(pl.col("month") > 6)["exports_musd"].null_count() == last.filter(pl.col("month") > 6).height
    assert last.filter(pl.col("month") <= 6)["exports_musd"].null_count() == 0
    zeros_in_file = sum(1 for r in rows if int(r[0]) < latest for m in range(12) if float(r[3 + m]) == 0)
    zeros_parsed = workbook.filter((pl.col("year") < latest) & (pl.col("imports_musd") == 0)).height
    assert zeros_in_file > 0 and zeros_parsed == zeros_in_file


def test_workbook_values_equal_an_independent_read(workbook):
    rows = [r for r in workbook_rows()[1:] if any(r)]
    header = workbook_rows()[0]
    for code, year in (("3530", "2023"), ("3010", "2022"), ("2470", "2024")):
        row = next(r for r in rows if r[1] == code and r[0] == year)
        got = workbook.filter((pl.col("partner_code") == code) & (pl.col("year") == int(year))).sort("month")
        for m, name in enumerate(MONTH_NAMES):
            if got["exports_musd"][m] is None:
                continue
            assert got["exports_musd"][m] == pytest.approx(float(row[header.index(f"E{name}")]), abs=1e-9)
            assert got["imports_musd"][m] == pytest.approx(float(row[header.index(f"I{name}")]), abs=1e-9)
        assert got["exports_year_musd"][0] == pytest.approx(float(row[header.index("EYR")]), abs=1e-9)


def test_csv_export_of_the_workbook_with_padding_rows(tmp_path, workbook):
    rows = [r for r in workbook_rows() if any(r)]
    exported = tmp_path / "country.csv"
    with exported.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["U.S. Trade in Goods by Country"])  # a title line above the header
        writer.writerows(rows)
        writer.writerow(["", "1220", "Canada"] + ["0"] * 26)  # padding: blank year, no trade
    frame = census.parse(exported)
    assert frame.height == workbook.height
    keys = ["partner_code", "year", "month"]
    a = frame.sort(keys).select(keys + ["exports_musd", "imports_musd", "iso3"])
    b = workbook.sort(keys).select(keys + ["exports_musd", "imports_musd", "iso3"])
    # the same cells: text of the XML values vs the Excel reader's rendering of the same doubles
    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def test_live_mode_reads_the_publisher_workbook(tmp_path, monkeypatch):
    table = census.CENSUS_BY_COUNTRY
    assert table.live_url == "https://www.census.gov/foreign-trade/balance/country.xlsx" and table.cadence == "monthly"
    with LiveServer() as server:
        server.set_file(urlsplit(table.live_url).path, WORKBOOK.read_bytes())
        monkeypatch.setenv("HPW_MODE", "live")
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        acquired = fetch.acquire(table, None, tmp_path)
        assert [p for m, p, _ in server.requests if m == "GET"] == ["/foreign-trade/balance/country.xlsx"]
    assert acquired.ingestion.mode == "live" and acquired.ingestion.outcome == "new_vintage"
    frame = table.parse(acquired.file.path)
    assert set(frame["layout"]) == {"census workbook"} and frame.height == 8725 * 12
    june = frame.filter((pl.col("iso3") == "PRY") & (pl.col("period") == "2024-06"))
    assert june["exports_musd"].item() == pytest.approx(257.824852, abs=1e-6)


# ---------- marts against an independent read of the bundled file


@pytest.mark.e2e
def test_monthly_mart_equals_the_file(marts):
    expected = file_months()
    got = {
        (iso3, month): (exports, imports)
        for iso3, month, exports, imports in marts.execute(
            "select iso3, month, us_exports_usd, us_imports_usd from marts.fct_us_trade_country_month"
        ).fetchall()
    }
    assert got == expected
    assert len(got) == 45 * (12 * 4 + 8) == 2520
    sources = marts.execute("select distinct source, source_vintage from marts.fct_us_trade_country_month").fetchall()
    assert sources == [("US Census Bureau", census.CENSUS_BY_COUNTRY.vintage)]
    first, last = marts.execute("select min(month), max(month) from marts.fct_us_trade_country_month").fetchone()
    assert (first, last) == (date(2022, 1, 1), date(2026, 8, 1))


@pytest.mark.e2e
def test_yearly_mart_continues_dots_with_census_and_marks_partial_years(marts):
    sums = defaultdict(lambda: [0, 0, set(), set()])
    for (iso3, month), (exports, imports) in file_months().items():
        entry = sums[(iso3, month.year)]
        if exports is not None:
            entry[0] += exports
            entry[2].add(month)
        if imports is not None:
            entry[1] += imports
            entry[3].add(month)
    census_rows = {
        (iso3, year): (exports, imports, months, partial)
        for iso3, year, exports, imports, months, partial in marts.execute(
            "select iso3, year, us_exports_usd, us_imports_usd, months_covered, is_partial_period "
            "from marts.fct_us_trade_country_year where source = 'US Census Bureau'"
        ).fetchall()
    }
    expected = {
        key: (e, i, min(len(em), len(im)), min(len(em), len(im)) < 12)
        for key, (e, i, em, im) in sums.items()
        if key[1] > 2022
    }
    assert census_rows == expected
    assert {y for _, y in census_rows} == {2023, 2024, 2025, 2026}
    # Paraguay after the SOFA: 2023-2025 full years, 2026 January-August marked partial
    pry = {y: census_rows[("PRY", y)] for y in (2023, 2024, 2025, 2026)}
    assert [pry[y][2:] for y in (2023, 2024, 2025, 2026)] == [(12, False), (12, False), (12, False), (8, True)]
    # against Census's own annual columns: within the US$1M rounding of the shards
    annual = {(r["country_code"], r["year"]): r for r in json_lines()}
    for (iso3, year), (exports, imports, _, _) in census_rows.items():
        assert abs(exports - annual[(iso3, year)]["exports_year"] * 1e6) <= 1e6
        assert abs(imports - annual[(iso3, year)]["imports_year"] * 1e6) <= 1e6
    # 2022: one row per partner, IMF DOTS (its last year), never Census as well
    per_year = marts.execute(
        "select year, string_agg(distinct source, ',') from marts.fct_us_trade_country_year "
        "where year >= 2022 group by year"
    ).fetchall()
    assert dict(per_year) == {
        2022: "IMF DOTS",
        2023: "US Census Bureau",
        2024: "US Census Bureau",
        2025: "US Census Bureau",
        2026: "US Census Bureau",
    }
    dots = marts.execute(
        "select count(*) from marts.fct_us_trade_country_year where is_partial_period and source = 'IMF DOTS'"
    )
    assert dots.fetchone()[0] == 0


@pytest.mark.e2e
def test_reconciliation_mart_compares_dots_and_census_for_2022(marts):
    with (SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv").open(encoding="utf-8-sig", newline="") as handle:
        dots_rows = list(csv.reader(handle))[1:]
    dots_iso3 = dict(
        marts.execute(
            "select source_code, iso3 from marts.country_crosswalk where source = 'imf_dots_us_trade' and in_universe"
        ).fetchall()
    )
    dots = {
        dots_iso3[r[3]]: (float(r[5]) if r[5] else None, float(r[7]) if r[7] else None)
        for r in dots_rows
        if r[4] == "2022" and r[3] in dots_iso3
    }
    census_2022 = defaultdict(lambda: [0, 0])
    for (iso3, month), (exports, imports) in file_months().items():
        if month.year == 2022:
            census_2022[iso3][0] += exports
            census_2022[iso3][1] += imports
    got = {
        r[0]: r[1:]
        for r in marts.execute(
            "select iso3, dots_exports_usd, census_exports_usd, exports_difference_usd, dots_imports_usd, "
            "census_imports_usd, imports_difference_usd from marts.trade_source_reconciliation where year = 2022"
        ).fetchall()
    }
    assert set(got) == set(dots) & set(census_2022) and len(got) == 39
    for iso3, (dx, cx, ddx, dm, cm, ddm) in got.items():
        assert (dx, dm) == dots[iso3] and (cx, cm) == tuple(census_2022[iso3])
        assert ddx == cx - dx and (ddm is None if dm is None else ddm == cm - dm)
    # customs-value imports sit close to DOTS's CIF imports for Paraguay and Brazil
    assert abs(got["PRY"][5] / got["PRY"][3]) < 0.01 and abs(got["BRA"][5] / got["BRA"][3]) < 0.01
    assert marts.execute("select count(*) from marts.trade_source_reconciliation where year <> 2022").fetchone()[0] == 0


@pytest.mark.e2e
def test_census_aggregates_never_enter_country_facts(marts):
    iso3s = {r[0] for r in marts.execute("select distinct iso3 from marts.fct_us_trade_country_month").fetchall()}
    assert None not in iso3s and "BMU" not in iso3s and len(iso3s) == 45
    crosswalk = marts.execute(
        "select source_code, iso3, entity_kind from marts.country_crosswalk where source = 'census_trade_by_country' "
        "and entity_kind = 'aggregate' order by 1"
    ).fetchall()
    assert crosswalk == [("AGG_0009", None, "aggregate"), ("AGG_0017", None, "aggregate")]
