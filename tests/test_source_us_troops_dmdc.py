"""US troops by host country: DMDC reports as compiled by troopdata, one row per country x report.

The file is read independently here with Python's csv module; the parser and the mart are checked against it.
"""

from __future__ import annotations

import csv

import polars as pl
import pytest

from data_contracts._base import ContractViolation, contract_run
from pipelines.countries import UnmappedCountryError
from pipelines.sources import us_troops_dmdc
from pipelines.sources.base import snake_case
from tests.conftest import SNAPSHOTS
from tests.synthetic import rewrite_csv_cell

TROOPS_FILE = SNAPSHOTS / "us_troops_dmdc" / "troopdata-rebuild-reports_LAC_USA.csv"
FOCUS = ["PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"]
MONTH_NO = {"March": 3, "June": 6, "September": 9, "December": 12}
# File column -> raw column, for every head-count column of the report file.
COUNT_COLUMNS = {
    c: snake_case(c)
    for c in (
        "Total,Total Ashore,Total Afloat,Army Total,Navy Ashore,Navy Temporary Ashore,Navy Other,Marine Corps Ashore,"
        "Marine Corps Afloat,Air Force Total,Navy Afloat,Navy Total,Marine Corps Total,troops_ad,army_ad,navy_ad,"
        "marine_corps_ad,air_force_ad,Army Active Duty,Navy Active Duty,Marine Corps Active Duty,Air Force Active Duty,"
        "Coast Guard Active Duty,Total Active Duty,Army National Guard,Army Reserve,Navy Reserve,Marine Corps Reserve,"
        "Air National Guard,Air Force Reserve,Coast Guard Reserve,Total Selected Reserve,Army Civilian,Navy Civilian,"
        "Marine Corps Civilian,Air Force Civilian,DOD Civilian,Total Civilian,Grand Total,Space Force Active Duty,"
        "coast_guard_ad,space_force_ad"
    ).split(",")
}


def troop_rows() -> list[dict[str, str]]:
    with TROOPS_FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def count(value: str) -> int | None:
    return None if value == "NA" else int(value)


@pytest.fixture(scope="module")
def troops():
    return us_troops_dmdc.parse(TROOPS_FILE)


# ---------------------------------------------------------------- us_troops_dmdc: file and raw table


def test_troops_file_has_the_documented_quirks():
    rows = troop_rows()
    text = TROOPS_FILE.read_text(encoding="utf-8")
    assert ",NA," in text and "\r\n" not in text
    # quoted names although SOURCE.md says "no quoting"
    assert '"BAHAMAS, THE"' in text and '"Virgin Islands, U.s."' in text
    assert sum(r["iso3c"] == "NA" for r in rows) == 33 and sum(r["region"] == "NA" for r in rows) == 232
    reports_per_year = {}
    for r in rows:
        if r["countryname"] == "Paraguay":
            reports_per_year.setdefault(r["year"], set()).add(r["source"])
    assert len(reports_per_year["2014"]) == 4 and len(reports_per_year["2007"]) == 1


def test_troops_parses_every_data_row(troops):
    rows = troop_rows()
    assert troops.height == len(rows) == 3100
    assert troops["source_row"].to_list() == list(range(1, len(rows) + 1))


def test_troops_counts_equal_the_file_and_na_stays_null(troops):
    rows = troop_rows()
    expected = pl.DataFrame(
        {raw: [count(r[col]) for r in rows] for col, raw in COUNT_COLUMNS.items()},
        schema={raw: pl.Int64 for raw in COUNT_COLUMNS.values()},
    )
    placeholder = [r["Grand Total"] == "0" and int(r["Total Active Duty"]) > 0 for r in rows]
    assert sum(placeholder) == 3  # the one-row USA reports Dec 2022, Mar 2023, Jun 2023
    expected = expected.with_columns(
        grand_total=pl.when(pl.Series(placeholder)).then(None).otherwise(pl.col("grand_total"))
    )
    for raw in COUNT_COLUMNS.values():
        assert troops[raw].equals(expected[raw], check_names=False), raw
        assert troops[raw].null_count() == expected[raw].null_count()
    assert troops["region"].null_count() == 232 and troops["source_iso3"].null_count() == 33
    assert troops["macro_location"].null_count() == len(rows)  # `NA` everywhere, never the string
    for column in ("country_name", "location", "report_label", "region", "source_iso3"):
        assert not troops[column].eq("NA").any()


def test_troops_grand_total_placeholder_becomes_null(troops):
    nulled = troops.filter(pl.col("grand_total").is_null() & pl.col("total_active_duty").is_not_null())
    assert sorted(nulled["report_label"].to_list()) == ["December 2022", "June 2023", "March 2023"]
    assert set(nulled["iso3"]) == {"USA"}
    assert troops.filter((pl.col("grand_total") == 0) & (pl.col("total_active_duty") > 0)).is_empty()


def test_troops_every_name_and_code_maps(troops):
    rows = troop_rows()
    assert troops["iso3"].null_count() == 0 and set(troops["entity_kind"]) == {"country"}
    names = dict(troops.select("country_name", "iso3").unique().iter_rows())
    assert set(names) == {r["countryname"] for r in rows}
    # Every iso3c the compiler wrote agrees with the crosswalk's reading of the name.
    file_pairs = {(r["countryname"], r["iso3c"]) for r in rows if r["iso3c"] != "NA"}
    assert all(names[name] == code for name, code in file_pairs)
    assert {r["iso3c"] for r in rows} - {"NA"} == set(names.values())
    assert names["Antigua"] == "ATG" and names["Aruba Bwi"] == "ABW" and names["Turks Island"] == "TCA"
    assert names["U. S. Virgin Islands"] == names["Virgin Islands, U.s."] == names["Virgin Islands (U.s.)"] == "VIR"
    assert names["Trinidad & Tobago"] == "TTO"
    # rows with iso3c `NA` (Columbia / Costa Rico / Surinam / Canal Zone spellings in Location) still resolve
    no_code = troops.filter(pl.col("source_iso3").is_null())
    assert set(no_code["iso3"]) == {"COL", "CRI", "SUR", "PAN"} and no_code.height == 33


def test_troops_unknown_country_fails_naming_it(tmp_path):
    bad = tmp_path / TROOPS_FILE.name
    rewrite_csv_cell(TROOPS_FILE, bad, data_row=12, column="countryname", value="Gran Colombia")
    # codes come first: with a COW number of the Americas that no state holds, the unknown name may be ours
    rewrite_csv_cell(bad, bad, data_row=12, column="ccode", value="99")
    with pytest.raises(UnmappedCountryError, match=r"\[us_troops_dmdc\].*'99 / Gran Colombia'"):
        us_troops_dmdc.parse(bad)


def test_troops_rejects_a_mistyped_count(tmp_path):
    bad = tmp_path / TROOPS_FILE.name
    rewrite_csv_cell(TROOPS_FILE, bad, data_row=2001, column="troops_ad", value="1O4")
    with pytest.raises(ContractViolation) as err:
        us_troops_dmdc.parse(bad)
    message = str(err.value)
    assert (
        "[us_troops_dmdc]" in message and "'troops_ad'" in message and "'1O4'" in message and "row(s) 2001" in message
    )


def test_troops_rejects_a_mislabelled_report_and_keeps_a_negative_count_flagged(tmp_path):
    bad = tmp_path / TROOPS_FILE.name
    rows = troop_rows()
    row = next(
        i for i, r in enumerate(rows, start=1) if r["source"] == "September 2014" and r["countryname"] == "Paraguay"
    )
    rewrite_csv_cell(TROOPS_FILE, bad, data_row=40, column="Total", value="-12")
    rewrite_csv_cell(bad, bad, data_row=row, column="source", value="September 2041")
    with pytest.raises(ContractViolation) as err:
        us_troops_dmdc.parse(bad)
    message = str(err.value)
    assert "'report_label'" in message and "'September 2041'" in message and f"row(s) {row}" in message
    assert "'total'" not in message  # a negative head count is a plausibility rule: published net adjustments exist
    negative = tmp_path / "negative.csv"
    rewrite_csv_cell(TROOPS_FILE, negative, data_row=40, column="Total", value="-12")
    with contract_run() as contracts:
        frame = us_troops_dmdc.parse(negative)
    assert frame.filter(pl.col("source_row") == 40)["total"].to_list() == [-12]
    flags = contracts.findings.flags
    assert flags.select("source_row", "column_name", "value").rows() == [(40, "total", "-12")]


def test_troops_iso3c_that_contradicts_ccode_and_name_is_flagged_not_fatal(tmp_path):
    bad = tmp_path / TROOPS_FILE.name
    rows = troop_rows()
    row = next(i for i, r in enumerate(rows, start=1) if r["countryname"] == "Paraguay")
    rewrite_csv_cell(TROOPS_FILE, bad, data_row=row, column="iso3c", value="PER")
    with contract_run() as contracts:
        frame = us_troops_dmdc.parse(bad)
    # ccode 150 and the name agree on Paraguay; the compiler's derived iso3c is flagged (it does so in real files)
    assert frame.filter(pl.col("source_row") == row)["iso3"].to_list() == ["PRY"]
    flags = contracts.findings.flags.filter(pl.col("column_name") == "source_iso3")
    assert flags.select("source_row", "value").rows() == [(row, "PER")]


def test_troops_rejects_the_same_country_twice_in_a_report(tmp_path):
    bad = tmp_path / TROOPS_FILE.name
    rows = troop_rows()
    row = next(
        i for i, r in enumerate(rows, start=1) if r["source"] == "September 2014" and r["countryname"] == "Paraguay"
    )
    rewrite_csv_cell(TROOPS_FILE, bad, data_row=row, column="source", value="June 2014")
    rewrite_csv_cell(bad, bad, data_row=row, column="month", value="June")
    rewrite_csv_cell(bad, bad, data_row=row, column="quarter", value="2")
    june = next(i for i, r in enumerate(rows, start=1) if r["source"] == "June 2014" and r["countryname"] == "Paraguay")
    with pytest.raises(ContractViolation) as err:
        us_troops_dmdc.parse(bad)
    message = str(err.value)
    assert "[us_troops_dmdc]" in message and "'report_label'" in message
    assert "'Paraguay / PARAGUAY June 2014'" in message
    assert f"row(s) {min(row, june)}, {max(row, june)}" in message


# ---------------------------------------------------------------- fct_us_troops_country_year


def expected_troop_years() -> dict[tuple[str, int], tuple[int | None, int, str]]:
    """The year's report chosen from the file alone: September, else the latest report that year; USA left out.

    Names resolve through the compiler's own iso3c (every name carries it on some row), not the crosswalk.
    """
    rows = troop_rows()
    name_iso3 = {r["countryname"]: r["iso3c"] for r in rows if r["iso3c"] != "NA"}
    best: dict[tuple[str, int], dict[str, str]] = {}
    for r in rows:
        iso3 = name_iso3[r["countryname"]]
        if iso3 == "USA":
            continue
        key = (iso3, int(r["year"]))
        rank = (r["month"] == "September", MONTH_NO[r["month"]])
        current = best.get(key)
        if current is None or rank > (current["month"] == "September", MONTH_NO[current["month"]]):
            best[key] = r
    return {k: (count(r["Grand Total"]), int(r["troops_ad"]), r["source"]) for k, r in best.items()}


def test_troops_mart_equals_the_chosen_report_for_every_country_year(marts):
    expected = expected_troop_years()
    got = {
        (iso3, year): (total, active, label)
        for iso3, year, total, active, label in marts.execute(
            "select iso3, year, personnel_total, active_duty, report_label from marts.fct_us_troops_country_year"
        ).fetchall()
    }
    assert len(got) == len(expected) == 2021
    assert got == expected


def test_troops_mart_one_report_per_year(marts):
    rows = marts.execute(
        "select iso3, year, report_label from marts.fct_us_troops_country_year where (iso3, year) in "
        "(('PRY', 2014), ('VEN', 2019), ('HND', 1955), ('BRA', 2023))"
    ).fetchall()
    assert sorted(rows) == [
        ("BRA", 2023, "September 2023"),
        ("HND", 1955, "June 1955"),
        ("PRY", 2014, "September 2014"),
        ("VEN", 2019, "June 2019"),
    ]
    # A country-year without a report is absent, never a zero row: Venezuela has no report after 2019.
    assert (
        marts.execute(
            "select count(*) from marts.fct_us_troops_country_year where iso3 = 'VEN' and year > 2019"
        ).fetchone()[0]
        == 0
    )
    assert (
        marts.execute(
            "select count(*) from marts.fct_us_troops_country_year where personnel_total is not null and year < 2008"
        ).fetchone()[0]
        == 0
    )


def test_troops_mart_covers_the_focus_countries_and_leaves_out_the_usa(marts):
    rows = troop_rows()
    name_iso3 = {r["countryname"]: r["iso3c"] for r in rows if r["iso3c"] != "NA"}
    file_years = {}
    for r in rows:  # by name, so that rows whose iso3c is `NA` (older Colombia rows) count too
        file_years.setdefault(name_iso3[r["countryname"]], set()).add(int(r["year"]))
    in_file = [c for c in FOCUS if c in file_years]
    assert in_file == FOCUS  # the file covers all eight
    mart = dict(
        marts.execute(
            "select iso3, count(distinct year) from marts.fct_us_troops_country_year group by iso3"
        ).fetchall()
    )
    for iso3 in in_file:
        assert mart.get(iso3, 0) == len(file_years[iso3]) > 0, iso3
    assert "USA" not in mart
    assert (
        marts.execute("select source_vintage from marts.fct_us_troops_country_year limit 1")
        .fetchone()[0]
        .startswith("troopdata")
    )
