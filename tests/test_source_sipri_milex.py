"""SIPRI Military Expenditure workbook: every cell of the four sheets, checked against the xlsx XML itself.

The expected values come from an independent reader (zipfile + ElementTree over the sheet XML, shared strings
and styles), not from fastexcel or the parser under test.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from data_contracts.sipri_milex import SHEET_MEASURES
from pipelines.countries import UnmappedCountryError, resolve
from pipelines.sources import sipri_milex
from tests.conftest import SNAPSHOTS

XLSX = SNAPSHOTS / "sipri_milex" / "SIPRI-Milex-data-1948-2023.xlsx"
NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PKG = "{http://schemas.openxmlformats.org/package/2006/relationships}"
FOCUS = ["PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"]


# ---------------------------------------------------------------- independent reader of the xlsx XML


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def sheet_part(book: zipfile.ZipFile, sheet: str) -> str:
    workbook = ET.fromstring(book.read("xl/workbook.xml"))
    rid = [s.get(f"{REL}id") for s in workbook.iter(f"{NS}sheet") if s.get("name") == sheet][0]
    rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
    target = [r.get("Target") for r in rels.iter(f"{PKG}Relationship") if r.get("Id") == rid][0]
    return "xl/" + target


def xml_cells(path: Path, sheet: str) -> dict[tuple[int, int], tuple[str | None, bool, str]]:
    """(row, column) -> (text or number as written, is_number, font colour) for every <c> of the sheet."""
    with zipfile.ZipFile(path) as book:
        shared = [
            "".join(t.text or "" for t in si.iter(f"{NS}t"))
            for si in ET.fromstring(book.read("xl/sharedStrings.xml")).iter(f"{NS}si")
        ]
        styles = ET.fromstring(book.read("xl/styles.xml"))
        root = ET.fromstring(book.read(sheet_part(book, sheet)))
    colours = []
    for font in styles.find(f"{NS}fonts"):
        color = font.find(f"{NS}color")
        indexed = None if color is None else color.get("indexed")
        colours.append({"10": "red", "12": "blue"}.get(indexed, "default"))
    xf_colour = [colours[int(xf.get("fontId"))] for xf in styles.find(f"{NS}cellXfs")]
    cells = {}
    for c in root.iter(f"{NS}c"):
        letters, row = re.fullmatch(r"([A-Z]+)(\d+)", c.get("r")).groups()
        v = c.find(f"{NS}v")
        kind = c.get("t")
        if kind == "s":
            text, is_number = shared[int(v.text)], False
        elif kind == "inlineStr":
            text, is_number = "".join(t.text or "" for t in c.iter(f"{NS}t")), False
        else:
            text, is_number = (None if v is None else v.text), v is not None and kind in (None, "n")
        cells[(int(row), _col_number(letters))] = (text, is_number, xf_colour[int(c.get("s", 0))])
    return cells


def expected_cells(path: Path, sheet: str) -> tuple[pl.DataFrame, list[str]]:
    """Every (country row x year column) cell of a sheet, and its heading rows, from the XML."""
    cells = xml_cells(path, sheet)
    header_row = min(r for (r, c), (t, _, _) in cells.items() if c == 1 and (t or "").strip() == "Country")
    last_row = max(r for r, _ in cells)
    years = {
        c: int(float(t))
        for (r, c), (t, _, _) in cells.items()
        if r == header_row and t and re.fullmatch(r"\d{4}(\.0+)?", t.strip())
    }
    by_row: dict[int, list[str]] = {}
    for (r, c), (t, _, _) in cells.items():
        if c > 1:
            by_row.setdefault(r, []).append((t or "").strip())
    records, headings = [], []
    for row in range(header_row + 1, last_row + 1):
        name = (cells.get((row, 1), (None,))[0] or "").strip()
        others = by_row.get(row, [])
        if not name:
            assert not any(others), f"{sheet} row {row} has values but no name"
            continue
        if not any(others):
            headings.append(name)
            continue
        for col, year in years.items():
            text, is_number, colour = cells.get((row, col), (None, False, "default"))
            records.append(
                {
                    "country": name,
                    "year": year,
                    "source_row": row,
                    "col": col,
                    "x_value": float(text) if is_number else None,
                    "x_text": None if is_number else text,
                    "x_colour": colour if text is not None else None,
                }
            )
    return pl.DataFrame(records), headings


@pytest.fixture(scope="module")
def milex() -> pl.DataFrame:
    return sipri_milex.parse(XLSX)


@pytest.fixture(scope="module")
def expected() -> dict[str, tuple[pl.DataFrame, list[str]]]:
    return {sheet: expected_cells(XLSX, sheet) for sheet in SHEET_MEASURES}


def rewrite_xlsx(src: Path, dst: Path, edits: dict[str, callable]) -> Path:
    """Copy an xlsx, passing the named parts' text through an edit function; every other part byte-identical."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in edits:
                data = edits[info.filename](data.decode("utf-8")).encode("utf-8")
            zout.writestr(info, data)
    return dst


def part_of(sheet: str) -> str:
    with zipfile.ZipFile(XLSX) as book:
        return sheet_part(book, sheet)


# ---------------------------------------------------------------- the file and its quirks


def test_file_has_the_documented_layout():
    with zipfile.ZipFile(XLSX) as book:
        shared = book.read("xl/sharedStrings.xml").decode("utf-8")
    # The legend documents ". ." but the cells hold "..." -- both must mean unavailable.
    assert '". ." = data unavailable' in shared and "<t>...</t>" in shared and "<t>xxx</t>" in shared
    constant = xml_cells(XLSX, "Constant (2022) US$")
    current = xml_cells(XLSX, "Current US$")
    # Header row found by its `Country` cell (row 6); the constant sheet has an extra empty column B.
    assert constant[(6, 1)][0] == "Country" and (constant[(6, 2)][0] or "") == "" and constant[(6, 3)][0] == "Notes"
    assert current[(6, 2)][0] == "Notes" and current[(6, 3)][0] == "1948"


def test_every_cell_of_every_sheet_is_a_row(milex, expected):
    for sheet, (cells, _) in expected.items():
        got = milex.filter(pl.col("sheet") == sheet)
        assert got.height == cells.height, sheet
    # 174 country rows x 76 years on three sheets, x 36 years (1988-2023) on Per capita.
    assert milex.height == sum(c.height for c, _ in expected.values()) == 174 * (76 * 3 + 36) == 45936
    assert milex.select("measure", "country", "year").is_unique().all()


def test_values_and_markers_equal_the_xlsx_cells(milex, expected):
    for sheet, (cells, _) in expected.items():
        exp = cells.with_columns(
            source_cell=pl.col("col").map_elements(sipri_milex.column_letters, return_dtype=pl.String)
            + pl.col("source_row").cast(pl.String),
            x_status=pl.when(pl.col("x_value").is_not_null())
            .then(pl.lit("reported"))
            .when(pl.col("x_text").str.strip_chars() == "xxx")
            .then(pl.lit("not_existing"))
            .otherwise(pl.lit("unavailable")),
        )
        joined = exp.join(milex.filter(pl.col("sheet") == sheet), on="source_cell", how="left", validate="1:1")
        assert joined["country"].equals(joined["country_right"], check_names=False), sheet
        assert joined["year"].equals(joined["year_right"], check_names=False), sheet
        # exact equality of doubles, NULL where the cell held `...` / `xxx`
        assert joined["value"].equals(joined["x_value"], check_names=False), sheet
        assert joined["value_status"].equals(joined["x_status"], check_names=False), sheet
        # every non-number in the data area is one of the two markers
        markers = exp.filter(pl.col("x_value").is_null())["x_text"].str.strip_chars().unique().to_list()
        assert set(markers) <= {"...", "xxx"}, (sheet, markers)
    counts = dict(milex.group_by("value_status").len().iter_rows())
    assert counts == {"reported": 30145, "unavailable": 14887, "not_existing": 904}
    assert milex.filter(pl.col("value_status") == "not_existing")["source_text"].unique().to_list() == ["xxx"]


def test_region_headings_are_not_countries(milex, expected):
    for sheet, (_, headings) in expected.items():
        read = sipri_milex.read_sheet(XLSX, sheet)
        assert read.headings == headings and len(headings) == 18, sheet
        assert not set(headings) & set(milex["country"].unique().to_list())
    headings = expected["Share of GDP"][1]
    assert {"Americas", "South America", "Central America and the Caribbean", "Middle East"} <= set(headings)
    kinds = resolve(pl.DataFrame({"country": headings}), "sipri_milex", name_col="country")
    assert kinds["entity_kind"].unique().to_list() == ["aggregate"] and kinds["iso3"].null_count() == 18
    # the heading stays as context on the countries below it
    heading_of = dict(milex.select("country", "region_heading").unique().iter_rows())
    assert heading_of["Brazil"] == "South America" and heading_of["Honduras"] == "Central America and the Caribbean"
    assert heading_of["Yemen"] == "Middle East"


def test_world_coverage_mapped_and_universe_flagged(milex):
    assert milex.filter(pl.col("entity_kind") == "country")["iso3"].null_count() == 0
    assert milex.filter(pl.col("iso3").is_null())["country"].unique().to_list() == ["European Union"]
    universe = milex.filter(pl.col("in_universe"))["iso3"].unique().sort().to_list()
    assert len(universe) == 25 and "USA" in universe and "CAN" not in universe
    mapped = dict(milex.select("country", "iso3").unique().iter_rows())
    assert mapped["USSR"] == "SUN" and mapped["Korea, South"] == "KOR" and mapped["Kosovo"] == "XKX"
    # two SIPRI rows map to YEM, but never both with a value for the same year
    yem = milex.filter((pl.col("iso3") == "YEM") & (pl.col("value_status") == "reported"))
    assert yem.select("measure", "year").is_unique().all() and set(yem["country"]) == {"Yemen", "Yemen, North"}


def test_focus_countries_have_rows_in_every_sheet(milex):
    reported = milex.filter(pl.col("value_status") == "reported")
    for iso3 in FOCUS:
        measures = reported.filter(pl.col("iso3") == iso3)["measure"].unique().to_list()
        assert sorted(measures) == sorted(SHEET_MEASURES.values()), iso3


def test_share_of_gdp_stays_a_proportion(milex):
    brazil = milex.filter((pl.col("country") == "Brazil") & (pl.col("year") == 2023)).select("measure", "value")
    share = dict(brazil.iter_rows())["share_gdp"]
    assert math.isclose(share, 0.010787690601644846, rel_tol=0, abs_tol=0)  # 1.08 % of GDP, as stored
    assert milex.filter(pl.col("measure") == "share_gdp")["value"].max() < 2


def test_real_zeros_stay_zero_and_missing_stays_null(milex):
    costa_rica = milex.filter((pl.col("country") == "Costa Rica") & (pl.col("measure") == "constant_2022_usd_mn"))
    assert costa_rica.filter(pl.col("year") == 1950)["value"].to_list() == [0.0]  # no army since 1948: a real zero
    assert costa_rica.filter(pl.col("year") == 1948)["value_status"].to_list() == ["unavailable"]
    missing = milex.filter(pl.col("value_status") != "reported")
    assert missing["value"].null_count() == missing.height


def test_footnote_marks_are_kept_per_country(milex):
    notes = dict(milex.filter(pl.col("measure") == "current_usd_mn").select("country", "notes").unique().iter_rows())
    assert notes["Algeria"] == "§" and notes["Libya"] == "‡§¶" and notes["Venezuela"] == "‖"
    assert notes["Brazil"] is None  # an empty Notes cell is no footnote, not the text ''
    # the constant sheet reads Notes from column C (after the empty column B)
    constant = dict(
        milex.filter(pl.col("measure") == "constant_2022_usd_mn").select("country", "notes").unique().iter_rows()
    )
    assert constant == notes


def test_estimate_flag_follows_the_cell_font_colour(milex, expected):
    for sheet, (cells, _) in expected.items():
        exp = cells.with_columns(
            source_cell=pl.col("col").map_elements(sipri_milex.column_letters, return_dtype=pl.String)
            + pl.col("source_row").cast(pl.String)
        )
        joined = exp.join(milex.filter(pl.col("sheet") == sheet), on="source_cell", validate="1:1")
        assert joined["font_colour"].equals(joined["x_colour"], check_names=False), sheet
        flag = joined.select(
            pl.when(pl.col("x_value").is_not_null()).then(
                pl.col("x_colour").replace_strict(
                    {"blue": "sipri_estimate", "red": "highly_uncertain", "default": "none"}
                )
            )
        ).to_series()
        assert joined["estimate_flag"].equals(flag, check_names=False), sheet
    flags = dict(milex.filter(pl.col("measure") == "constant_2022_usd_mn").group_by("estimate_flag").len().iter_rows())
    assert flags == {"sipri_estimate": 1809, "highly_uncertain": 148, "none": 6234, None: 5033}


def test_estimate_flag_is_null_when_styles_cannot_be_read(tmp_path):
    no_styles = tmp_path / "no_styles.xlsx"
    with zipfile.ZipFile(XLSX) as zin, zipfile.ZipFile(no_styles, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename != "xl/styles.xml":
                zout.writestr(info, zin.read(info.filename))
    parsed = sipri_milex.parse(no_styles)
    assert parsed.height == 45936 and parsed["estimate_flag"].null_count() == parsed.height


def test_the_documented_dot_marker_also_means_unavailable(tmp_path):
    spaced = rewrite_xlsx(
        XLSX, tmp_path / "spaced.xlsx", {"xl/sharedStrings.xml": lambda s: s.replace("<t>...</t>", "<t>. .</t>")}
    )
    parsed = sipri_milex.parse(spaced)
    assert parsed.filter(pl.col("value_status") == "unavailable").height == 14887
    assert parsed.filter(pl.col("source_text") == ". .").height == 14887


# ---------------------------------------------------------------- the contract bites


def _replace_cell(sheet: str, ref: str, new_cell: str):
    def edit(xml: str) -> str:
        cell = re.search(rf'<c r="{ref}"[^>]*>.*?</c>', xml)
        assert cell, ref
        return xml.replace(cell.group(0), new_cell, 1)

    return {part_of(sheet): edit}


def test_rejects_text_in_a_number_cell(tmp_path):
    # Brazil 2020 in Current US$ (row 83, column BW) typed as text with a letter O for a zero
    bad = rewrite_xlsx(
        XLSX,
        tmp_path / "bad.xlsx",
        _replace_cell("Current US$", "BW83", '<c r="BW83" t="inlineStr"><is><t>2O717.3</t></is></c>'),
    )
    with pytest.raises(ContractViolation) as err:
        sipri_milex.parse(bad)
    message = str(err.value)
    assert "[sipri_milex]" in message and "[Current US$]" in message
    assert "'value'" in message and "'2O717.3'" in message and "row(s) 83" in message


def test_rejects_share_of_gdp_rescaled_to_percent(tmp_path):
    def to_percent(xml: str) -> str:
        return re.sub(
            r'(<c r="[A-Z]+(\d+)"(?: s="\d+")?>)<v>([^<]*)</v>',
            lambda m: m.group(0) if int(m.group(2)) <= 6 else f"{m.group(1)}<v>{float(m.group(3)) * 100!r}</v>",
            xml,
        )

    bad = rewrite_xlsx(XLSX, tmp_path / "percent.xlsx", {part_of("Share of GDP"): to_percent})
    with pytest.raises(ContractViolation) as err:
        sipri_milex.parse(bad)
    message = str(err.value)
    assert "[Share of GDP]" in message and "'value'" in message and "a proportion, not percent" in message


def test_missing_sheet_fails_clearly(tmp_path):
    renamed = rewrite_xlsx(
        XLSX, tmp_path / "renamed.xlsx", {"xl/workbook.xml": lambda s: s.replace('name="Per capita"', 'name="Per cap"')}
    )
    with pytest.raises(ContractViolation) as err:
        sipri_milex.parse(renamed)
    assert "[sipri_milex]" in str(err.value) and "missing sheet 'Per capita'" in str(err.value)


def test_country_row_without_values_is_not_taken_for_a_heading(tmp_path):
    # Paraguay (row 88 of Share of GDP) with every value cell removed looks like a heading: it must fail, not vanish.
    def empty_row(xml: str) -> str:
        row = re.search(r'<row r="88"[^>]*>(.*?)</row>', xml)
        name = re.search(r'<c r="A88"[^>]*>.*?</c>', row.group(1)).group(0)
        return xml.replace(row.group(1), name, 1)

    bad = rewrite_xlsx(XLSX, tmp_path / "paraguay_empty.xlsx", {part_of("Share of GDP"): empty_row})
    with pytest.raises(ContractViolation) as err:
        sipri_milex.parse(bad)
    assert "heading rows" in str(err.value) and "'Paraguay'" in str(err.value)


def test_unknown_country_name_raises(tmp_path):
    bad = rewrite_xlsx(
        XLSX,
        tmp_path / "unknown.xlsx",
        {"xl/sharedStrings.xml": lambda s: s.replace("<t>Paraguay</t>", "<t>Paraguya</t>")},
    )
    with pytest.raises(UnmappedCountryError, match="Paraguya"):
        sipri_milex.parse(bad)


# ---------------------------------------------------------------- the warehouse (whole build)


def test_raw_table_lands_every_cell(marts, expected):
    assert marts.execute("select count(*) from raw.sipri_milex").fetchone()[0] == sum(
        c.height for c, _ in expected.values()
    )
    by_measure = dict(
        marts.execute("select measure, count(*) from staging.stg_sipri_milex group by measure").fetchall()
    )
    assert by_measure == {
        "constant_2022_usd_mn": 13224,
        "current_usd_mn": 13224,
        "share_gdp": 13224,
        "per_capita_usd": 6264,
    }


def test_mart_equals_the_xlsx_for_every_universe_country_year(marts, expected):
    frames = []
    for sheet, (cells, _) in expected.items():
        frames.append(cells.with_columns(measure=pl.lit(SHEET_MEASURES[sheet])))
    cells = pl.concat(frames)
    names = resolve(cells.select("country").unique(), "sipri_milex", name_col="country")
    cells = cells.join(names, on="country").filter((pl.col("entity_kind") == "country") & pl.col("in_universe"))
    flag_rank = {"red": 3, "blue": 2, "default": 1}
    expected_mart = (
        cells.group_by("iso3", "year")
        .agg(
            *[
                pl.col("x_value").filter(pl.col("measure") == m).first().alias(f"milex_{m}")
                for m in SHEET_MEASURES.values()
            ],
            flag=pl.col("x_colour")
            .filter(pl.col("x_value").is_not_null())
            .replace_strict(flag_rank, return_dtype=pl.Int64)
            .max(),
            existed=(pl.col("x_text").fill_null("").str.strip_chars() != "xxx").any(),
        )
        .filter(pl.col("existed"))
        .with_columns(
            flag=pl.col("flag").replace_strict(
                {3: "highly_uncertain", 2: "sipri_estimate", 1: "none"}, default=None, return_dtype=pl.String
            )
        )
    )
    mart = pl.from_arrow(marts.sql("select * from marts.fct_military_expenditure_country_year").to_arrow_table())
    assert mart.height == expected_mart.height
    joined = expected_mart.join(mart, on=["iso3", "year"], how="left", validate="1:1")
    for measure in SHEET_MEASURES.values():
        column = f"milex_{measure}"
        assert joined[column].equals(joined[f"{column}_right"], check_names=False), measure
    assert joined["estimate_flag"].equals(joined["flag"], check_names=False)
    assert set(FOCUS) <= set(mart["iso3"].to_list())
    assert mart["source_vintage"].unique().to_list() == [sipri_milex.MILEX.vintage]


def test_share_of_gdp_lands_in_country_indicators_in_percent(marts):
    """Each SIPRI share-of-GDP value of the milex mart appears once in fct_country_indicators (x100, own code)."""
    milex = dict(
        ((iso3, year), share)
        for iso3, year, share in marts.execute(
            "select iso3, year, milex_share_gdp from marts.fct_military_expenditure_country_year where "
            "milex_share_gdp is not null"
        ).fetchall()
    )
    indicators = marts.execute(
        "select iso3, year, value, unit, source from marts.fct_country_indicators "
        "where indicator_code = 'SIPRI.MILEX.GDP.ZS'"
    ).fetchall()
    assert len(indicators) == len(milex) > 500
    for iso3, year, value, unit, source in indicators:
        assert value == pytest.approx(milex[(iso3, year)] * 100, rel=1e-12)
        assert unit == "% of GDP" and source == "SIPRI Military Expenditure Database"
