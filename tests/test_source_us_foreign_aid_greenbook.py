"""USAID Greenbook: the parser, its contract, the security-sector classification and the aid marts, checked against
an independent reading of the workbook (zipfile + ElementTree over the sheet XML and shared strings, neither
fastexcel nor the parser under test), and a live download from 127.0.0.1 through the real fetch path.
"""

from __future__ import annotations

import csv
import re
import xml.etree.ElementTree as ET
import zipfile
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources import RAW_TABLES_BY_NAME
from pipelines.sources import us_foreign_aid_greenbook as greenbook
from tests.conftest import PROJECT_ROOT, SNAPSHOTS
from tests.livehttp import LiveServer

# Every parser test here reads the 75,002-row workbook, some of them several times: in `make test`, not test-fast.
pytestmark = pytest.mark.slow

XLSX = SNAPSHOTS / "us_foreign_aid_greenbook" / "us_foreignaid_greenbook.xlsx"
CLASSIFICATION = PROJECT_ROOT / "data" / "reference" / "aid_security_classification.csv"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
SHEET_PART = "xl/worksheets/sheet1.xml"
LAC = "Latin America and Caribbean"
# Written by hand from the workbook's LAC names (independent of the crosswalk under test).
LAC_ISO3 = {
    "Antigua and Barbuda": "ATG",
    "Argentina": "ARG",
    "Bahamas, The": "BHS",
    "Barbados": "BRB",
    "Belize": "BLZ",
    "Bolivia": "BOL",
    "Brazil": "BRA",
    "Chile": "CHL",
    "Colombia": "COL",
    "Costa Rica": "CRI",
    "Cuba": "CUB",
    "Dominica": "DMA",
    "Dominican Republic": "DOM",
    "Ecuador": "ECU",
    "El Salvador": "SLV",
    "Grenada": "GRD",
    "Guatemala": "GTM",
    "Guyana": "GUY",
    "Haiti": "HTI",
    "Honduras": "HND",
    "Jamaica": "JAM",
    "Mexico": "MEX",
    "Nicaragua": "NIC",
    "Panama": "PAN",
    "Paraguay": "PRY",
    "Peru": "PER",
    "St. Kitts and Nevis": "KNA",
    "St. Lucia": "LCA",
    "St. Vincent and Grenadines": "VCT",
    "Suriname": "SUR",
    "Trinidad & Tobago": "TTO",
    "Uruguay": "URY",
    "Venezuela": "VEN",
}
LAC_BUCKETS = {
    "Caribbean (not specified)",
    "Central America (not specified)",
    "Latin America & Caribbean (not specified)",
}
HEADER = [
    "Fiscal Year",
    "Region",
    "Country",
    "Assistance Category",
    "Publication Row",
    "Funding Agency",
    "Funding Account Name",
    "Obligations (Historical Dollars)",
    "Obligations (Constant Dollars)",
]


# ---------------------------------------------------------------- independent reader of the xlsx XML


def xml_sheet_rows(path: Path) -> dict[int, list[str | None]]:
    """Worksheet row number -> the nine cell values (A..I) as written in the XML (numbers as their text)."""
    with zipfile.ZipFile(path) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{NS}t"))
            for si in ET.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{NS}si")
        ]
        rows: dict[int, list[str | None]] = {}
        with book.open(SHEET_PART) as handle:
            for _, element in ET.iterparse(handle):
                if element.tag != f"{NS}row":
                    continue
                values: list[str | None] = [None] * 9
                for cell in element.iter(f"{NS}c"):
                    letters = re.match(r"[A-Z]+", cell.get("r")).group(0)
                    if len(letters) > 1 or letters > "I":
                        continue
                    v = cell.find(f"{NS}v")
                    if cell.get("t") == "s":
                        text = shared[int(v.text)]
                    elif cell.get("t") == "inlineStr":
                        text = "".join(t.text or "" for t in cell.iter(f"{NS}t"))
                    else:
                        text = None if v is None else v.text
                    values[ord(letters) - 65] = text
                rows[int(element.get("r"))] = values
                element.clear()
    return rows


@pytest.fixture(scope="module")
def xml_data() -> list[dict]:
    """Every data row below the header row (the row whose A..I cells are the documented header)."""
    rows = xml_sheet_rows(XLSX)
    header_row = next(r for r, values in sorted(rows.items()) if values == HEADER)
    assert header_row == 7  # SOURCE.md: rows 1-6 are the preamble
    out = []
    for r, v in sorted(rows.items()):
        if r > header_row and any(x is not None for x in v):
            out.append(
                {
                    "row": r,
                    "label": v[0],
                    "region": v[1],
                    "country": v[2],
                    "category": v[3],
                    "line": v[4],
                    "agency": v[5],
                    "account": v[6],
                    "current": int(v[7]),
                    "constant": int(v[8]),
                }
            )
    return out


@pytest.fixture(scope="module")
def parsed() -> pl.DataFrame:
    return greenbook.parse(XLSX)


def period(label: str) -> tuple[int, str]:
    return (1976, "TQ") if label == "1976.9" else (int(label), "FY")


# ---------------------------------------------------------------- the parser on the real file


def test_every_data_row_is_read_once_at_its_worksheet_row(parsed, xml_data):
    assert len(xml_data) == 75_002  # SOURCE.md: 75,002 data rows
    assert parsed.height == len(xml_data)
    by_row = {r["row"]: r for r in xml_data}
    assert set(parsed["source_row"]) == set(by_row)
    for row in parsed.sample(500, seed=7).iter_rows(named=True):
        expected = by_row[row["source_row"]]
        assert (row["country"], row["region"], row["program_line"], row["funding_account"]) == (
            expected["country"],
            expected["region"],
            expected["line"],
            expected["account"],
        )
        assert row["amount_current_usd"] == expected["current"] and row["amount_constant_usd"] == expected["constant"]
    assert parsed["constant_usd_base_year"].unique().to_list() == [2020]  # "Constant 2020 $US" in the preamble


def test_transition_quarter_is_its_own_period(parsed, xml_data):
    tq_rows = [r for r in xml_data if r["label"] == "1976.9"]
    assert len(tq_rows) == 323  # SOURCE.md
    tq = parsed.filter(pl.col("fiscal_period") == "TQ")
    assert tq.height == len(tq_rows) and set(tq["fiscal_year"]) == {1976} and set(tq["fiscal_year_label"]) == {"1976.9"}
    fy1976 = parsed.filter((pl.col("fiscal_year") == 1976) & (pl.col("fiscal_period") == "FY"))
    assert fy1976.height == sum(1 for r in xml_data if r["label"] == "1976")
    assert not parsed.filter((pl.col("fiscal_period") == "FY") & pl.col("fiscal_year_label").str.contains(r"\.")).height


def test_regions_buckets_and_names_outside_the_region(parsed, xml_data):
    lac_names = {r["country"] for r in xml_data if r["region"] == LAC}
    assert lac_names == set(LAC_ISO3) | LAC_BUCKETS
    lac = parsed.filter(pl.col("region") == LAC)
    countries = lac.filter(pl.col("entity_kind") == "country").select("country", "iso3").unique()
    assert dict(countries.iter_rows()) == LAC_ISO3
    buckets = parsed.filter(pl.col("country").str.ends_with("(not specified)"))
    assert buckets.height > 0 and set(buckets["entity_kind"]) == {"aggregate"}
    assert buckets["iso3"].null_count() == buckets.height
    # Names outside the region are kept out of the universe, never fatal: resolved where the crosswalk knows them
    # (Kosovo XKX, West Bank/Gaza PSE through the concordance), 'unmapped' where it does not.
    outside = parsed.filter(pl.col("region") != LAC)
    assert not outside.filter(pl.col("iso3").is_in(list(LAC_ISO3.values())))["in_universe"].any()
    named = dict(
        outside.filter(pl.col("country").is_in(["Kosovo", "West Bank/Gaza"]))
        .select("country", "iso3")
        .unique()
        .iter_rows()
    )
    assert named == {"Kosovo": "XKX", "West Bank/Gaza": "PSE"}
    unmapped = parsed.filter(pl.col("entity_kind") == "unmapped")
    assert not unmapped["in_universe"].any() and LAC not in set(unmapped["region"])


# ---------------------------------------------------------------- realistic corruptions of the workbook


def rewrite_xlsx(
    dst: Path,
    cells: dict[str, str | float] | None = None,
    shift_from: int | None = None,
    shift: int = 0,
    strings: dict[str, str] | None = None,
) -> Path:
    """A copy of the real workbook with some cells replaced (text as inline strings), rows from `shift_from`
    moved down by `shift` (a longer preamble), or shared strings renamed."""
    with zipfile.ZipFile(XLSX) as book:
        parts = {info.filename: book.read(info.filename) for info in book.infolist()}
    sheet = parts[SHEET_PART].decode("utf-8")
    for ref, value in (cells or {}).items():
        if isinstance(value, str):
            new = f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'
        else:
            new = f'<c r="{ref}"><v>{value}</v></c>'
        sheet, count = re.subn(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', new, sheet, count=1)
        assert count == 1, ref
    if shift:

        def move(match: re.Match) -> str:
            number = int(match.group(2))
            return f'{match.group(1)}{number + shift if number >= shift_from else number}"'

        sheet = re.sub(r'(<row r=")(\d+)"', move, sheet)
        sheet = re.sub(r'(<c r="[A-Z]+)(\d+)"', move, sheet)
        sheet = re.sub(
            r'<dimension ref="A1:I(\d+)"', lambda m: f'<dimension ref="A1:I{int(m.group(1)) + shift}"', sheet
        )
    parts[SHEET_PART] = sheet.encode("utf-8")
    shared = parts["xl/sharedStrings.xml"].decode("utf-8")
    for old, new in (strings or {}).items():
        assert old in shared, old
        shared = shared.replace(old, new)
    parts["xl/sharedStrings.xml"] = shared.encode("utf-8")
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    return dst


def row_of(xml_data: list[dict], country: str, label: str) -> int:
    return next(r["row"] for r in xml_data if r["country"] == country and r["label"] == label)


def test_contract_names_column_value_and_row(tmp_path, xml_data):
    row_amount = row_of(xml_data, "Colombia", "2000")
    row_year = row_of(xml_data, "Peru", "1980")
    row_category = row_of(xml_data, "Mexico", "2010")
    # thousands separators: not a number (types are checked first, so this file has only that problem)
    with pytest.raises(ContractViolation) as failure:
        greenbook.parse(rewrite_xlsx(tmp_path / "typed.xlsx", cells={f"H{row_amount}": "1,234,000"}))
    message = str(failure.value)
    assert "us_foreign_aid_greenbook" in message and "typed.xlsx" in message
    assert "column 'amount_current_usd'" in message and "'1,234,000'" in message and f"row(s) {row_amount}" in message
    bad = rewrite_xlsx(
        tmp_path / "bad.xlsx",
        cells={
            f"A{row_year}": 1980.9,  # a transition quarter only exists in 1976
            f"D{row_category}": "Militray",
        },
    )
    with pytest.raises(ContractViolation) as failure:
        greenbook.parse(bad)
    message = str(failure.value)
    assert "column 'fiscal_year_label'" in message and "1980.9" in message and f"row(s) {row_year}" in message
    assert "column 'assistance_category'" in message and "Militray" in message and f"row(s) {row_category}" in message


def test_fractional_dollars_and_absurd_amounts_are_rejected(tmp_path, xml_data):
    row_fraction = row_of(xml_data, "Brazil", "2016")
    row_absurd = row_of(xml_data, "Chile", "2005")
    bad = rewrite_xlsx(tmp_path / "units.xlsx", cells={f"H{row_fraction}": 13.1628, f"I{row_absurd}": 4.2e15})
    with pytest.raises(ContractViolation) as failure:
        greenbook.parse(bad)
    message = str(failure.value)
    assert "whole dollars" in message and "13.1628" in message and f"row(s) {row_fraction}" in message
    assert "column 'amount_constant_usd'" in message and f"row(s) {row_absurd}" in message


def test_unknown_name_fails_inside_the_region_only(tmp_path, xml_data):
    inside = rewrite_xlsx(tmp_path / "inside.xlsx", cells={f"C{row_of(xml_data, 'Paraguay', '2010')}": "Atlantis"})
    with pytest.raises(UnmappedCountryError, match="Atlantis"):
        greenbook.parse(inside)
    asia_row = next(r["row"] for r in xml_data if r["region"] == "Asia")
    outside = greenbook.parse(rewrite_xlsx(tmp_path / "outside.xlsx", cells={f"C{asia_row}": "Atlantis"}))
    atlantis = outside.filter(pl.col("country") == "Atlantis")
    assert atlantis["source_row"].to_list() == [asia_row] and atlantis["entity_kind"].to_list() == ["unmapped"]
    assert outside.height == len(xml_data)


def test_blank_country_and_renamed_column_are_reported(tmp_path, xml_data):
    row = row_of(xml_data, "Honduras", "2012")
    with pytest.raises(ContractViolation, match=rf"column 'Country'.*row\(s\) {row}"):
        greenbook.parse(rewrite_xlsx(tmp_path / "blank.xlsx", cells={f"C{row}": ""}))
    with pytest.raises(ContractViolation, match="funding_agency.*schema drift"):
        greenbook.parse(rewrite_xlsx(tmp_path / "renamed.xlsx", strings={">Funding Agency<": ">Agency of Funding<"}))


def test_another_vintage_longer_preamble_new_base_year(tmp_path, parsed):
    """A newer release: two more preamble rows, another constant-dollar base year: header found, rows shifted."""
    moved = rewrite_xlsx(
        tmp_path / "newer.xlsx",
        shift_from=6,
        shift=2,
        strings={"Constant 2020 $US": "Constant 2023 $US"},
    )
    newer = greenbook.parse(moved)
    assert newer.height == parsed.height and set(newer["constant_usd_base_year"]) == {2023}
    assert (newer["source_row"] - parsed["source_row"]).unique().to_list() == [2]
    moved_columns = ("source_row", "constant_usd_base_year")
    assert newer.drop(moved_columns).equals(parsed.drop(moved_columns))


def test_a_file_that_is_not_a_workbook_is_reported(tmp_path):
    bad = tmp_path / "greenbook.xlsx"
    bad.write_text("<html>Service unavailable</html>")
    with pytest.raises(ContractViolation, match="readable xlsx workbook"):
        greenbook.parse(bad)


# ---------------------------------------------------------------- the security-sector classification


def read_classification() -> dict[tuple[str, str], bool]:
    with CLASSIFICATION.open(encoding="utf-8", newline="") as handle:
        return {
            (r["program_line"], r["funding_account"]): r["is_security_sector"] == "true" for r in csv.DictReader(handle)
        }


def classify(table: dict[tuple[str, str], bool], line: str, account: str) -> bool | None:
    return table.get((line, account), table.get((line, "*")))


def test_every_lac_program_line_and_account_is_classified(xml_data):
    table = read_classification()
    pairs = {(r["line"], r["account"]) for r in xml_data if r["region"] == LAC}
    missing = sorted(p for p in pairs if classify(table, *p) is None)
    assert not missing, f"add these program line / account pairs to {CLASSIFICATION.name}: {missing}"
    # The classification follows the definition it cites: narcotics control and NADR are security, ESF is not.
    assert classify(table, "Narcotics Control", "Andean Counterdrug Initiative, Department of State") is True
    assert classify(table, "Narcotics Control", "International Narcotics Control and Law Enforcement") is True
    assert (
        classify(
            table,
            "Nonproliferation, Anti-Terrorism, Demining & Related",
            "Nonproliferation, Anti-Terrorism, Demining and Related Programs",
        )
        is True
    )
    assert classify(table, "Economic Support Fund/Security Support Assistance", "Economic Support Fund") is False
    military = [r for r in xml_data if r["region"] == LAC and r["category"] == "Military"]
    assert all(classify(table, r["line"], r["account"]) for r in military)


def test_classification_contract_rejects_a_duplicate_and_a_bad_flag(tmp_path):
    lines = CLASSIFICATION.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "aid_security_classification.csv"
    bad.write_text("\n".join([*lines, lines[2].replace(",true,", ",maybe,", 1)]) + "\n")
    with pytest.raises(ContractViolation) as failure:
        greenbook.parse_classification(bad)
    message = str(failure.value)
    assert "is_security_sector" in message and "maybe" in message and f"row(s) {len(lines)}" in message
    bad.write_text("\n".join([*lines, lines[1]]) + "\n")  # the first line again: one key, two answers possible
    with pytest.raises(ContractViolation) as failure:
        greenbook.parse_classification(bad)
    message = str(failure.value)
    assert "program_line" in message and "funding_account" in message and "unique" in message


@pytest.mark.builds  # a refresh
def test_a_line_missing_from_the_classification_fails_the_build(built_warehouse, tmp_path, reused_root):
    from pipelines.build import run_build
    from tests.warehouse_copy import copy_warehouse

    lines = CLASSIFICATION.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if not line.startswith("Narcotics Control,")]
    partial = tmp_path / "classification.csv"
    partial.write_text("\n".join(kept) + "\n")
    # a user's published warehouse, then `hpw build --file` of the partial table: a refresh of it and its downstream,
    # which runs the same dbt model and test a cold build would
    root = copy_warehouse(built_warehouse, reused_root, with_fingerprint=True)
    before = (root / "partnership.duckdb").read_bytes()
    said: list[str] = []
    result = run_build(
        warehouse_dir=root,
        log_level="CRITICAL",
        echo=said.append,
        file_overrides={"aid_security_classification": str(partial)},
    )
    assert "  refresh: 1 raw table(s) changed (aid_security_classification)" in said, said
    assert not result.success
    assert "is_security_sector" in str(result.error) and "fct_us_aid_program_country_year" in str(result.error)
    assert (root / "partnership.duckdb").read_bytes() == before  # nothing published


# ---------------------------------------------------------------- marts against the independent read


def lac_sums(xml_data: list[dict], key) -> dict:
    sums: dict = defaultdict(lambda: [0, 0])
    for r in xml_data:
        if r["region"] == LAC and r["country"] in LAC_ISO3:
            sums[key(r)][0] += r["current"]
            sums[key(r)][1] += r["constant"]
    return {k: tuple(v) for k, v in sums.items()}


def test_country_year_category_amounts_equal_the_workbook(marts, xml_data):
    expected = lac_sums(xml_data, lambda r: (LAC_ISO3[r["country"]], *period(r["label"]), r["category"]))
    actual = {
        (iso3, fy, fp, cat): (cur, const)
        for iso3, fy, fp, cat, cur, const in marts.execute(
            "select iso3, fiscal_year, fiscal_period, aid_category, amount_current_usd, amount_constant_usd "
            "from marts.fct_us_aid_country_year "
            "where source = 'us_foreign_aid_greenbook' and aid_category <> 'security_sector'"
        ).fetchall()
    }
    assert len(actual) == len(expected) > 2000
    assert actual == expected
    types = marts.execute(
        "select distinct transaction_type, constant_usd_base_year, is_partial_period "
        "from marts.fct_us_aid_country_year "
        "where source = 'us_foreign_aid_greenbook'"
    ).fetchall()
    assert types == [("Obligations", 2020, False)]


def test_program_mart_equals_the_workbook_line_by_line(marts, xml_data):
    expected = lac_sums(
        xml_data,
        lambda r: (LAC_ISO3[r["country"]], *period(r["label"]), r["category"], r["line"], r["account"], r["agency"]),
    )
    rows = marts.execute(
        "select iso3, fiscal_year, fiscal_period, assistance_category, program_line, funding_account, funding_agency, "
        "amount_current_usd, amount_constant_usd, is_security_sector, source from marts.fct_us_aid_program_country_year"
    ).fetchall()
    assert {r[:7]: (r[7], r[8]) for r in rows} == expected and len(rows) == len(expected)
    table = read_classification()
    assert all(r[9] is classify(table, r[4], r[5]) for r in rows)
    assert {r[10] for r in rows} == {"us_foreign_aid_greenbook"}
    # no regional bucket or out-of-region country reaches the facts
    assert {r[0] for r in rows} <= set(LAC_ISO3.values())


def test_security_sector_aggregate_equals_the_classified_lines(marts, xml_data):
    table = read_classification()
    expected = defaultdict(int)
    years = set()
    for r in xml_data:
        if r["region"] == LAC and r["country"] in LAC_ISO3:
            key = (LAC_ISO3[r["country"]], *period(r["label"]))
            years.add(key)
            if classify(table, r["line"], r["account"]):
                expected[key] += r["current"]
    actual = dict(
        marts.execute(
            "select (iso3, fiscal_year, fiscal_period), amount_current_usd from marts.fct_us_aid_country_year "
            "where aid_category = 'security_sector'"
        ).fetchall()
    )
    actual = {tuple(k.values()) if isinstance(k, dict) else tuple(k): v for k, v in actual.items()}
    # every Greenbook country-year has the aggregate; 0 where it had no security-sector line
    assert actual == {k: expected.get(k, 0) for k in years}


def test_colombia_fy2000_plan_colombia(marts):
    rows = dict(
        marts.execute(
            "select aid_category, amount_current_usd from marts.fct_us_aid_country_year "
            "where iso3 = 'COL' and fiscal_year = 2000 and fiscal_period = 'FY' and source = 'us_foreign_aid_greenbook'"
        ).fetchall()
    )
    assert rows["Economic"] == 1_037_071_403 and rows["Military"] == 131_558_868  # SOURCE.md spot values
    narcotics = marts.execute(
        "select sum(amount_current_usd), bool_and(is_security_sector) from marts.fct_us_aid_program_country_year "
        "where iso3 = 'COL' and fiscal_year = 2000 and program_line = 'Narcotics Control'"
    ).fetchone()
    assert narcotics == (894_429_000, True)
    # the publisher files narcotics control under Economic; the security-sector aggregate counts it
    assert rows["security_sector"] >= 894_429_000 + 128_534_000  # + DoD counter-drug (Military)
    assert rows["security_sector"] < rows["Economic"] + rows["Military"]


def test_fagov_rows_unchanged_and_last_fagov_year_partial(marts):
    summary = SNAPSHOTS / "us_foreign_aid_country" / "us_foreign_aid_country.csv"
    with summary.open(encoding="utf-8", newline="") as handle:
        years = [
            r["Fiscal Year"]
            for r in csv.DictReader(handle)
            if r["Transaction Type Name"] in ("Obligations", "Disbursements")
        ]
    last = max(int(y[:4]) for y in years)
    assert last == 2024  # SOURCE.md: FY2024 is the bundle's partial last year
    partial = marts.execute(
        "select distinct fiscal_year, transaction_type from marts.fct_us_aid_country_year "
        "where is_partial_period and aid_category = 'Total' order by all"
    ).fetchall()
    assert partial == [(last, "Disbursements"), (last, "Obligations")]
    assert (
        marts.execute(
            "select count(*) from marts.fct_us_aid_country_year where aid_category = 'Total' "
            "and source <> 'us_foreign_aid'"
        ).fetchone()[0]
        == 0
    )


def test_reconciliation_compares_obligations_of_both_publishers(marts, xml_data):
    by_year = lac_sums(xml_data, lambda r: (LAC_ISO3[r["country"]], *period(r["label"])))
    greenbook_totals = {k: v[0] for k, v in by_year.items()}
    summary = SNAPSHOTS / "us_foreign_aid_country" / "us_foreign_aid_country.csv"
    fagov = defaultdict(int)
    with summary.open(encoding="utf-8", newline="") as handle:
        for r in csv.DictReader(handle):
            if r["Transaction Type Name"] == "Obligations" and r["Country Code"] in set(LAC_ISO3.values()):
                label = r["Fiscal Year"]
                key = (r["Country Code"], int(label[:4]), "TQ" if label.endswith("tq") else "FY")
                fagov[key] += int(r["current_amount"])
    rows = marts.execute(
        "select iso3, fiscal_year, fiscal_period, greenbook_obligations_current_usd, fagov_obligations_current_usd, "
        "difference_current_usd, relative_difference from marts.aid_source_reconciliation"
    ).fetchall()
    assert max(r[1] for r in rows) == 2020 and min(r[1] for r in rows) == 1946
    checked = 0
    for iso3, fy, fp, gb, fa, diff, rel in rows:
        if iso3 not in LAC_ISO3.values():
            continue
        assert gb == greenbook_totals.get((iso3, fy, fp)) and fa == fagov.get((iso3, fy, fp))
        if gb is not None and fa is not None:
            assert diff == gb - fa and (rel is None if fa == 0 else abs(rel - (gb - fa) / abs(fa)) < 1e-12)
            checked += 1
    assert checked > 2000
    colombia = [r for r in rows if r[:3] == ("COL", 2000, "FY")]
    assert colombia[0][3] == 1_037_071_403 + 131_558_868


# ---------------------------------------------------------------- live mode through the real fetch path


def test_live_download_from_127_0_0_1_lands_the_raw_table(tmp_path, monkeypatch):
    from dagster import AssetKey, DagsterInstance, materialize

    from pipelines.assets import RAW_ASSETS
    from pipelines.resources import WarehouseResource

    table = RAW_TABLES_BY_NAME["us_foreign_aid_greenbook"]
    assert table.live_url == "https://foreignassistance.gov/static/us_foreignaid_greenbook.xlsx"
    asset = next(a for a in RAW_ASSETS if AssetKey(["raw", "us_foreign_aid_greenbook"]) in a.keys)
    with LiveServer() as server:
        monkeypatch.setenv("HPW_MODE", "live")
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        result = materialize(
            [asset],
            resources={"warehouse_db": WarehouseResource(warehouse_dir=str(tmp_path / "wh"))},
            instance=DagsterInstance.ephemeral(),
            raise_on_error=False,
        )
        gets = server.gets(urlsplit(table.live_url).path)
    assert result.success and len(gets) == 1
    with duckdb.connect(str(tmp_path / "wh" / ".build" / "partnership.duckdb"), read_only=True) as con:
        rows, landed = con.execute(
            "select count(*), any_value(_source_sha256) from raw.us_foreign_aid_greenbook"
        ).fetchone()
        mode, status, path = con.execute(
            "select mode, http_status, landed_path from meta.ingestions where raw_table = 'us_foreign_aid_greenbook'"
        ).fetchone()
    assert rows == 75_002 and (mode, status) == ("live", 200)
    assert Path(path).is_relative_to(tmp_path / "data" / "landing") and Path(path).parent.name == landed
