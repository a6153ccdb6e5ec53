"""World Bank WDI / WGI: every file of data/snapshots/worldbank_wdi, its quirks, contracts and the mart.

Expected numbers are counted independently of the parser (csv / json modules on the real files).
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources import worldbank_wdi as wdi
from tests.conftest import SNAPSHOTS

FOLDER = SNAPSHOTS / "worldbank_wdi"
API_FILES = sorted(FOLDER.glob("API_*.csv"))
JSON_FILE = FOLDER / "NY_GDP_MKTP_KD_api_v2_LAC_USA.json"
METADATA_FILE = FOLDER / "Metadata_Indicator_API_RL.EST_DS2_en_csv_v2_5814.csv"
AGGREGATES = {"LCN", "LAC", "TLA"}
FOCUS = ["PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"]


def read_api_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Independent read: header = the record whose first field is 'Country Name'; data = the non-empty records
    after it."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    start = next(i for i, r in enumerate(records) if r and r[0] == "Country Name")
    return records[start], [r for r in records[start + 1 :] if r]


def nonblank_cells(path: Path) -> dict[tuple[str, str, int], float]:
    header, rows = read_api_csv(path)
    cells = {}
    for row in rows:
        for column, cell in zip(header, row):
            if re.fullmatch(r"\d{4}", column) and cell.strip():
                cells[(row[1], row[3], int(column))] = float(cell)
    return cells


@pytest.fixture(scope="module")
def csv_raw() -> pl.DataFrame:
    return wdi.WDI_CSV.parse(wdi.WDI_CSV.bundled_path)


# ---------------------------------------------------------------- files, rows and dialects


def test_folder_holds_the_files_this_test_expects():
    assert len(API_FILES) == 9
    assert {p.name for p in FOLDER.iterdir()} == {p.name for p in API_FILES} | {
        JSON_FILE.name,
        METADATA_FILE.name,
        "SOURCE.md",
        "SOURCE_more.md",
    }


@pytest.mark.parametrize("path", API_FILES, ids=lambda p: p.name.split("_DS2")[0])
def test_each_api_csv_parses_with_exact_row_count(path):
    header, rows = read_api_csv(path)
    years = [c for c in header if re.fullmatch(r"\d{4}", c)]
    assert len(rows) == 46  # SOURCE.md: 42 LAC economies + USA + 3 aggregates
    frame = wdi.parse_api_csv(path)
    assert frame["source_row"].n_unique() == len(rows)
    assert frame.height == len(rows) * len(years)  # one row per cell, blanks included as NULL
    assert frame["year"].min() == int(years[0]) and frame["year"].max() == int(years[-1])
    assert frame["value"].is_not_null().sum() == len(nonblank_cells(path))
    assert set(frame["country_code"]) == {r[1] for r in rows}


def test_folder_table_reads_every_api_csv(csv_raw):
    # The RawTable points at one file; its parse reads every API_ CSV next to it.
    assert set(csv_raw["file"]) == {p.name for p in API_FILES}
    expected = sum(
        len(read_api_csv(p)[1]) * len([c for c in read_api_csv(p)[0] if re.fullmatch(r"\d{4}", c)]) for p in API_FILES
    )
    assert csv_raw.height == expected


def test_folder_table_reads_only_the_folder_it_is_pointed_at(tmp_path):
    single = tmp_path / "API_RL.EST_copy.csv"
    single.write_bytes((FOLDER / "API_RL.EST_DS2_en_csv_v2_5814_LAC_USA.csv").read_bytes())
    frame = wdi.parse_csv_folder(single)
    assert set(frame["file"]) == {single.name}
    # A file named otherwise is still read when it is the one pointed at.
    other = tmp_path / "rule_of_law.csv"
    other.write_bytes(single.read_bytes())
    assert set(wdi.parse_csv_folder(other)["file"]) == {single.name, other.name}


# From SOURCE.md / SOURCE_more.md: (dialect, BOM, CRLF, header line) per file.
DIALECTS = {
    "API_SP.POP.TOTL": ("quoted_preamble", True, False, 4),
    "API_VC.IHR.PSRC.P5": ("quoted_preamble", True, False, 4),
    "API_PV.EST": ("quoted_preamble", True, True, 4),
    "API_RL.EST": ("unquoted_preamble", True, True, 4),
    "API_MS.MIL.MPRT.KD": ("no_preamble", False, False, 0),
    "API_MS.MIL.XPND.GD.ZS": ("no_preamble", False, False, 0),
    "API_NY.GDP.MKTP.CD": ("no_preamble", True, False, 0),
    "API_NE.TRD.GNFS.ZS": ("no_preamble", True, True, 0),
    "API_CC.EST": ("no_preamble", False, True, 0),
}


@pytest.mark.parametrize("path", API_FILES, ids=lambda p: p.name.split("_DS2")[0])
def test_dialect_detected_on_real_file(path):
    kind, bom, crlf, header_line = DIALECTS[path.name.split("_DS2")[0]]
    dialect = wdi.sniff(path)
    assert (dialect.kind, dialect.bom, dialect.crlf, dialect.header_line) == (kind, bom, crlf, header_line)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") == bom and (b"\r\n" in raw) == crlf  # the table above matches the bytes
    frame = wdi.parse_api_csv(path)
    assert set(frame["dialect"]) == {kind}


def test_preamble_dates_and_labels_are_read():
    rl = wdi.sniff(FOLDER / "API_RL.EST_DS2_en_csv_v2_5814_LAC_USA.csv")  # unquoted preamble
    assert rl.preamble == {"Data Source": "Worldwide Governance Indicators", "Last Updated Date": "2026-03-11"}
    pv = wdi.sniff(FOLDER / "API_PV.EST_DS2_en_csv_v2_7919_LAC_USA.csv")  # WGI file labelled WDI
    assert pv.preamble == {"Data Source": "World Development Indicators", "Last Updated Date": "2025-07-01"}


def test_files_without_preamble_get_their_vintage_from_source_md(csv_raw):
    vintages = dict(csv_raw.select("file", "vintage_date").unique().iter_rows())
    assert vintages["API_SP.POP.TOTL_DS2_en_csv_v2_4473555_LAC_USA.csv"] == "2022-07-20"  # preamble
    assert vintages["API_CC.EST_DS2_en_csv_v2_4455_LAC_USA.csv"] == "2026-03-25"  # SOURCE_more.md
    assert vintages["API_MS.MIL.MPRT.KD_DS2_en_csv_v2_1745336_LAC_USA.csv"] == "2020-12-31"  # SOURCE.md


def test_user_file_without_preamble_does_not_inherit_a_bundled_vintage(tmp_path):
    copy = tmp_path / "API_CC.EST_DS2_en_csv_v2_4455_LAC_USA.csv"
    copy.write_bytes((FOLDER / copy.name).read_bytes().replace(b'"Aruba"', b'"Aruba "', 1))  # same name, new bytes
    frame = wdi.parse_api_csv(copy)
    assert frame["vintage_date"].is_null().all()
    assert frame["file_vintage"][0].startswith("no Last Updated Date in file")


def test_header_found_when_preamble_has_an_extra_line(tmp_path):
    real = FOLDER / "API_SP.POP.TOTL_DS2_en_csv_v2_4473555_LAC_USA.csv"
    text = real.read_bytes().decode("utf-8-sig")
    extra = tmp_path / real.name
    extra.write_bytes(
        b"\xef\xbb\xbf"
        + text.replace(
            '"Last Updated Date"', '"Source Note","Re-exported by a mirror",\n\n"Last Updated Date"', 1
        ).encode()
    )
    assert wdi.sniff(extra).header_line == 6
    got = wdi.parse_api_csv(extra).drop("file_sha256", "file_vintage", "vintage_date")
    expected = wdi.parse_api_csv(real).drop("file_sha256", "file_vintage", "vintage_date")
    assert got.equals(expected)


def test_file_without_header_line_fails_clearly(tmp_path):
    real = FOLDER / "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130_LAC_USA.csv"
    lines = real.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    broken = tmp_path / real.name
    broken.write_text("".join(line for line in lines if not line.startswith('"Country Name"')), encoding="utf-8")
    with pytest.raises(ContractViolation) as err:
        wdi.parse_api_csv(broken)
    message = str(err.value)
    assert "[worldbank_wdi]" in message and real.name in message and '"Country Name"' in message
    assert "Data Source" in message  # shows what the file starts with instead


# ---------------------------------------------------------------- quirks


@pytest.mark.parametrize("path", API_FILES, ids=lambda p: p.name.split("_DS2")[0])
def test_trailing_empty_column_is_dropped(path):
    header, rows = read_api_csv(path)
    assert header[-1] == "" and all(r[-1] == "" for r in rows)  # the quirk is in the real file
    assert all(len(r) == len(header) for r in rows)
    frame = wdi.parse_api_csv(path)
    assert "" not in frame.columns and not any(c.startswith("_duplicated") for c in frame.columns)


def test_trailing_column_with_data_is_rejected(tmp_path):
    real = FOLDER / "API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_1740297_LAC_USA.csv"
    lines = real.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[3] = lines[3].rstrip("\n") + '"stray"\n'  # data record 3 gets a value in the unnamed column
    broken = tmp_path / real.name
    broken.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ContractViolation, match=r"unnamed trailing column.*'stray'.*row\(s\) 3"):
        wdi.parse_api_csv(broken)


def test_blank_cells_are_null_not_zero(csv_raw):
    # Homicide series start decades after 1960: Argentina's 1960 cell is blank in the file.
    cells = nonblank_cells(FOLDER / "API_VC.IHR.PSRC.P5_DS2_en_csv_v2_4355130_LAC_USA.csv")
    assert ("ARG", "VC.IHR.PSRC.P5", 1960) not in cells
    row = csv_raw.filter(
        (pl.col("country_code") == "ARG") & (pl.col("indicator_code") == "VC.IHR.PSRC.P5") & (pl.col("year") == 1960)
    )
    assert row.height == 1 and row["value"].is_null().all()
    # CC.EST's last year column (2025) is empty for every row: all NULL, none zero.
    cc = csv_raw.filter((pl.col("indicator_code") == "CC.EST") & (pl.col("year") == 2025))
    assert cc.height == 46 and cc["value"].is_null().all()


def test_scientific_notation_values(csv_raw):
    path = FOLDER / "API_RL.EST_DS2_en_csv_v2_5814_LAC_USA.csv"
    header, rows = read_api_csv(path)
    hits = [(r[1], int(h), c) for r in rows for h, c in zip(header, r) if "E-" in c]
    assert hits, "RL.EST carries values like -8.9991399999999999E-2"
    code, year, text = hits[0]
    got = csv_raw.filter(
        (pl.col("country_code") == code) & (pl.col("indicator_code") == "RL.EST") & (pl.col("year") == year)
    )
    assert got["value"].item() == float(text)


def test_aggregates_are_kept_apart_from_countries(csv_raw):
    kinds = dict(csv_raw.select("country_code", "entity_kind").unique().iter_rows())
    assert {c for c, k in kinds.items() if k == "aggregate"} == AGGREGATES
    aggregates = csv_raw.filter(pl.col("country_code").is_in(list(AGGREGATES)))
    assert aggregates["iso3"].is_null().all() and not aggregates["in_universe"].any()
    countries = csv_raw.filter(pl.col("entity_kind") == "country")
    assert (countries["iso3"] == countries["country_code"]).all()  # WB economy codes are ISO3


def test_full_world_aggregate_codes_and_kosovo_resolve(tmp_path):
    # A full-world file carries many more WB aggregates and XKX: they must map, not raise.
    real = FOLDER / "API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_1740297_LAC_USA.csv"
    header, rows = read_api_csv(real)
    extra = {
        "WLD": "World",
        "EAS": "East Asia & Pacific",
        "HIC": "High income",
        "XKX": "Kosovo",
        "CHI": "Channel Islands",
    }
    path = tmp_path / real.name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        writer.writerows([[name, code, *rows[0][2:]] for code, name in extra.items()])
    kinds = dict(wdi.parse_api_csv(path).select("country_code", "entity_kind").unique().iter_rows())
    assert {c: kinds[c] for c in extra} == {
        "WLD": "aggregate",
        "EAS": "aggregate",
        "HIC": "aggregate",
        "XKX": "country",
        "CHI": "aggregate",
    }


def test_unknown_code_raises(tmp_path):
    real = FOLDER / "API_MS.MIL.XPND.GD.ZS_DS2_en_csv_v2_1740297_LAC_USA.csv"
    path = tmp_path / real.name
    path.write_text(real.read_text(encoding="utf-8").replace('"Aruba","ABW"', '"Atlantis","ZZQ"', 1), encoding="utf-8")
    with pytest.raises(UnmappedCountryError, match="ZZQ / Atlantis"):
        wdi.parse_api_csv(path)


# ---------------------------------------------------------------- contract


def test_contract_rejects_text_in_a_year_column(tmp_path):
    real = FOLDER / "API_RL.EST_DS2_en_csv_v2_5814_LAC_USA.csv"
    header, rows = read_api_csv(real)
    position = header.index("2010")
    record = next(i for i, r in enumerate(rows, start=1) if r[1] == "PRY")
    value = rows[record - 1][position]
    assert value  # PRY has a 2010 estimate; replace it with the marker a hand-edited export would carry
    raw = real.read_bytes()
    line_start = raw.index(b"\r\nParaguay,PRY,") + 2  # this file's data lines are unquoted
    line_end = raw.index(b"\r\n", line_start)
    fields = raw[line_start:line_end].split(b",")  # no commas inside Paraguay's fields
    assert fields[position] == value.encode()
    fields[position] = b"n/a"
    line = b",".join(fields)
    broken = tmp_path / real.name
    broken.write_bytes(raw[:line_start] + line + raw[line_end:])
    with pytest.raises(ContractViolation) as err:
        wdi.parse_api_csv(broken)
    message = str(err.value)
    assert message.startswith(f"[worldbank_wdi] {real.name}")
    assert f"column '2010' failed type Float64: value(s) 'n/a' at row(s) {record}" in message


def test_contract_rejects_a_year_header_out_of_range(tmp_path):
    real = FOLDER / "API_MS.MIL.MPRT.KD_DS2_en_csv_v2_1745336_LAC_USA.csv"
    broken = tmp_path / real.name
    broken.write_text(real.read_text(encoding="utf-8").replace('"1960"', '"1906"', 1), encoding="utf-8")
    with pytest.raises(ContractViolation, match=r"column 'year' failed .*1906"):
        wdi.parse_api_csv(broken)


# ---------------------------------------------------------------- JSON and metadata


def test_json_parses_every_record():
    payload = json.loads(JSON_FILE.read_text(encoding="utf-8"))
    records = payload[1]
    frame = wdi.parse_api_json(JSON_FILE)
    assert frame.height == len(records) == 264
    assert payload[0]["total"] == 594  # the header counts the unfiltered response: not compared with the rows
    assert set(frame["iso3"]) == {"ARG", "BRA", "MEX", "USA"}
    nulls = frame.filter(pl.col("value").is_null())
    assert nulls.height == sum(r["value"] is None for r in records) and set(nulls["year"]) == {2025}
    assert frame["unit"].is_null().all() and frame["obs_status"].is_null().all()  # blank -> NULL
    assert (frame["file_vintage"] == "World Bank API v2 (source 2), Last Updated Date 2026-04-08").all()


def test_json_partial_download_is_rejected(tmp_path):
    payload = json.loads(JSON_FILE.read_text(encoding="utf-8"))
    payload[0]["pages"] = 3
    path = tmp_path / JSON_FILE.name
    path.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(ContractViolation, match=r"column 'pages'.*page 1 of 3"):
        wdi.parse_api_json(path)


def test_json_api_error_message_is_rejected(tmp_path):
    path = tmp_path / "error.json"
    path.write_text(
        '[{"message": [{"id": "120", "key": "Invalid value", "value": "The provided parameter value is not valid"}]}]'
    )
    with pytest.raises(ContractViolation, match=r"\[page-info, rows\].*Invalid value"):
        wdi.parse_api_json(path)


def test_json_contract_rejects_a_text_value(tmp_path):
    text = JSON_FILE.read_text(encoding="utf-8").replace('"value": 583738758865.705', '"value": "n/a"', 1)
    path = tmp_path / JSON_FILE.name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ContractViolation,
        match=r"(?s)\[worldbank_wdi\] NY_GDP.*column 'value' failed type Float64: value\(s\) 'n/a' at row\(s\) 2",
    ):
        wdi.parse_api_json(path)


def test_indicator_metadata_parses():
    with METADATA_FILE.open(encoding="utf-8-sig", newline="") as handle:
        records = list(csv.reader(handle))
    frame = wdi.WDI_INDICATOR_METADATA.parse(wdi.WDI_INDICATOR_METADATA.bundled_path)
    assert frame.height == len(records) - 1 == 1  # one record, its note spanning several lines
    assert records[0][-1] == "" and "" not in frame.columns
    row = frame.row(0, named=True)
    assert (row["indicator_code"], row["indicator_name"]) == ("RL.EST", "Rule of Law: Estimate")
    assert "\n" in row["source_note"] and "-2.5 to 2.5" in row["source_note"]
    # The metadata names the indicator as the data file does.
    _, rows = read_api_csv(FOLDER / "API_RL.EST_DS2_en_csv_v2_5814_LAC_USA.csv")
    assert {r[2] for r in rows} == {row["indicator_name"]}


# ---------------------------------------------------------------- warehouse


def test_raw_tables_landed(marts):
    expected = sum(
        len(read_api_csv(p)[1]) * len([c for c in read_api_csv(p)[0] if re.fullmatch(r"\d{4}", c)]) for p in API_FILES
    )
    assert marts.execute("select count(*) from raw.worldbank_wdi_csv").fetchone()[0] == expected
    assert marts.execute("select count(*) from raw.worldbank_wdi_json").fetchone()[0] == 264
    assert marts.execute("select count(*) from raw.worldbank_wdi_indicator_metadata").fetchone()[0] == 1


def test_every_nonblank_universe_cell_is_in_the_mart_once(marts):
    universe = {r[0] for r in marts.execute("select iso3 from marts.dim_country").fetchall()}
    expected: dict[tuple[str, str, int], float] = {}
    for path in API_FILES:
        for key, value in nonblank_cells(path).items():
            if key[0] in universe:
                assert key not in expected, f"{key} in two files"  # no indicator is bundled twice
                expected[key] = value
    assert {k[0] for k in expected} >= set(FOCUS)
    indicators = sorted({k[1] for k in expected})
    got = marts.execute(
        "select iso3, indicator_code, year, value from marts.fct_country_indicators "
        "where list_contains(?, indicator_code)",
        [indicators],
    ).fetchall()
    keys = [(iso3, code, year) for iso3, code, year, _ in got]
    assert len(keys) == len(set(keys)), "a cell appears twice"
    assert {(iso3, code, year): value for iso3, code, year, value in got} == expected


def test_json_values_equal_the_mart(marts):
    universe = {r[0] for r in marts.execute("select iso3 from marts.dim_country").fetchall()}
    records = json.loads(JSON_FILE.read_text(encoding="utf-8"))[1]
    expected = {
        (r["countryiso3code"], int(r["date"])): r["value"]
        for r in records
        if r["value"] is not None and r["countryiso3code"] in universe
    }
    got = marts.execute(
        "select iso3, year, value from marts.fct_country_indicators where indicator_code = 'NY.GDP.MKTP.KD'"
    ).fetchall()
    assert len(got) == len(expected) == 260
    assert {(iso3, year): value for iso3, year, value in got} == expected


def test_aggregates_are_not_in_the_mart(marts):
    iso3s = {r[0] for r in marts.execute("select distinct iso3 from marts.fct_country_indicators").fetchall()}
    assert not iso3s & AGGREGATES
    assert iso3s <= {r[0] for r in marts.execute("select iso3 from marts.dim_country").fetchall()}
    # The aggregates are landed in raw, so leaving them out is the mart's doing.
    assert (
        marts.execute(
            "select count(distinct country_code) from raw.worldbank_wdi_csv where entity_kind = 'aggregate'"
        ).fetchone()[0]
        == 3
    )


@pytest.mark.parametrize("iso3", FOCUS)
def test_focus_countries_have_rows_for_every_csv_indicator(marts, iso3):
    codes = {
        r[0]
        for r in marts.execute(
            "select distinct indicator_code from marts.fct_country_indicators where iso3 = ?", [iso3]
        ).fetchall()
    }
    csv_codes = {read_api_csv(p)[1][0][3] for p in API_FILES}
    assert csv_codes <= codes
    assert ("NY.GDP.MKTP.KD" in codes) == (iso3 in {"ARG", "BRA"})  # the JSON extract holds ARG, BRA, MEX, USA


UNITS = {
    "SP.POP.TOTL": "people",
    "VC.IHR.PSRC.P5": "per 100,000 people",
    "MS.MIL.MPRT.KD": "SIPRI trend indicator values",
    "MS.MIL.XPND.GD.ZS": "% of GDP",
    "NE.TRD.GNFS.ZS": "% of GDP",
    "NY.GDP.MKTP.CD": "current US$",
    "NY.GDP.MKTP.KD": "constant 2015 US$",
    "RL.EST": "estimate (-2.5 to 2.5)",
    "PV.EST": "estimate (-2.5 to 2.5)",
    "CC.EST": "estimate (-2.5 to 2.5)",
}


def test_units_sources_and_vintages(marts):
    rows = marts.execute(
        "select indicator_code, list(distinct unit), list(distinct source), list(distinct source_vintage) "
        "from marts.fct_country_indicators where source like 'World Bank%' group by indicator_code"
    ).fetchall()
    by_code = {code: (units, sources, vintages) for code, units, sources, vintages in rows}
    assert {code: units for code, (units, _, _) in by_code.items()} == {code: [unit] for code, unit in UNITS.items()}
    wgi = {"RL.EST", "PV.EST", "CC.EST"}
    assert {code: sources for code, (_, sources, _) in by_code.items()} == {
        code: ["World Bank WGI" if code in wgi else "World Bank WDI"] for code in UNITS
    }
    # One release per indicator, and it says which.
    assert all(len(vintages) == 1 for _, _, vintages in by_code.values())
    assert by_code["PV.EST"][2] == [
        "API_PV.EST_DS2_en_csv_v2_7919_LAC_USA.csv: World Development Indicators, Last Updated Date 2025-07-01"
    ]
    assert by_code["NY.GDP.MKTP.KD"][2] == [
        "NY_GDP_MKTP_KD_api_v2_LAC_USA.json: World Bank API v2 (source 2), Last Updated Date 2026-04-08"
    ]
