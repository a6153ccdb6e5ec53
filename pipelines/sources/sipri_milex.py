"""SIPRI Military Expenditure Database: four sheets of the unfiltered world workbook, in long form.

Quirks handled (see data/snapshots/sipri_milex/SOURCE.md):
- Preamble text rows above the header: the header row is found by its `Country` cell, never by a fixed count.
- Sheets differ in layout: `Constant (2022) US$` has an extra, empty, unnamed column B before `Notes`.
  Columns are found by header (`Country`, `Notes`, four-digit years); any other column must be empty.
- Region and subregion headings ("Americas", "South America", ...) sit in the country column with no values:
  they are recognised by being the only filled cell of their row, checked against the crosswalk (each must
  resolve to an aggregate, so a country row that lost its values fails instead of becoming a heading), and
  kept as `region_heading` on the country rows below them (the nearest heading above).
- Missing markers: the preamble documents `". ."` but the cells hold `...`; both spellings (any dots) mean
  *unavailable* -> value NULL, value_status 'unavailable'. `xxx` (did not exist / not independent) -> NULL,
  value_status 'not_existing'. A blank cell in a country row is also 'unavailable' (source_text NULL).
- Numbers are read as floats (fastexcel/calamine, dtype "float"): calamine's float-to-text conversion rounds
  to ~9 decimals, so the text read is used only for markers, names and notes.
- Share of GDP is stored as a proportion (Brazil 2023 = 0.01079 = 1.08 %) and is kept a proportion.
- Footnote symbols (†, ‡, §, ¶, ‖) in `Notes` are per country row; empty notes become NULL.
- Colour carries meaning (blue = SIPRI estimate, red = highly uncertain). fastexcel/calamine read values only,
  so the font colour of each cell is read from the workbook's own XML (styles.xml -> cellXfs -> font colour)
  and turned into `estimate_flag`. If the styles cannot be read (not an xlsx zip), the flag is NULL (unknown).
- Unfiltered world data: every name goes through the crosswalk; rows outside the universe keep in_universe = false.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.sipri_milex import CONSTANT_SHEET, SHEET_MEASURES, SipriMilex
from pipelines.countries import attach_iso3, resolve
from pipelines.sources.base import RawTable

SOURCE = "sipri_milex"
LOG = logging.getLogger(__name__)
UNAVAILABLE = r"^\.(\s*\.)+$"  # '...' in the cells, '. .' in the publisher's legend
NOT_EXISTING = "xxx"
YEAR_HEADER = r"^(\d{4})(?:\.0+)?$"
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Excel's default palette: indexed 10 = red (FF0000), 12 = blue (0000FF); the same colours as explicit ARGB.
_RED = {"indexed:10", "rgb:FFFF0000"}
_BLUE = {"indexed:12", "rgb:FF0000FF"}
_FLAG_BY_COLOUR = {"blue": "sipri_estimate", "red": "highly_uncertain", "default": "none"}


@dataclass(frozen=True)
class SheetRead:
    """One sheet as read: its cells in long form (before the contract), the headings and blank rows met."""

    sheet: str
    cells: pl.DataFrame
    headings: list[str]
    blank_rows: int
    country_rows: int
    year_columns: int


def column_letters(index: int) -> str:
    """1 -> 'A', 27 -> 'AA' (for header columns only)."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _fail(file: str, column: str, check: str, values: list[str], rows: list[int] | None = None) -> ContractViolation:
    return ContractViolation(SOURCE, file, [Failure(column, check, values=values, rows=rows or [], count=len(values))])


# ---------------------------------------------------------------- font colours from the workbook XML


def _colour(font: ET.Element) -> str:
    """'red' / 'blue' / 'default' for a <font> of styles.xml (indexed palette colour or explicit ARGB)."""
    node = font.find(f"{_MAIN}color")
    if node is None:
        return "default"
    key = f"indexed:{node.get('indexed')}" if node.get("indexed") else f"rgb:{(node.get('rgb') or '').upper()}"
    return "red" if key in _RED else "blue" if key in _BLUE else "default"


def _font_colours(path: Path, sheet: str) -> tuple[pl.DataFrame, tuple[int, int]] | None:
    """Cell font colours of one sheet as (excel_row, column letters, font_colour), and the `Country` cell position.

    calamine exposes no styles, so this reads the xlsx parts directly. Returns None when the file has no
    readable styles (e.g. a legacy .xls), in which case estimate flags are unknown (NULL).
    """
    try:
        with zipfile.ZipFile(path) as book:
            workbook = ET.fromstring(book.read("xl/workbook.xml"))
            rels = ET.fromstring(book.read("xl/_rels/workbook.xml.rels"))
            rel_id = next(s.get(f"{_REL}id") for s in workbook.iter(f"{_MAIN}sheet") if s.get("name") == sheet)
            target = next(r.get("Target") for r in rels.iter(f"{_PKG_REL}Relationship") if r.get("Id") == rel_id)
            if target is None:
                raise KeyError(f"no Target for sheet relationship {rel_id}")
            sheet_xml = book.read(target.lstrip("/") if target.startswith("/") else f"xl/{target}").decode("utf-8")
            styles = ET.fromstring(book.read("xl/styles.xml"))
            shared = (
                ET.fromstring(book.read("xl/sharedStrings.xml")) if "xl/sharedStrings.xml" in book.namelist() else None
            )
        font_list, cell_xfs = styles.find(f"{_MAIN}fonts"), styles.find(f"{_MAIN}cellXfs")
        if font_list is None or cell_xfs is None:
            raise KeyError("styles.xml has no fonts or cellXfs")
        fonts = [_colour(f) for f in font_list]
        style_colour = {i: fonts[int(xf.get("fontId", 0))] for i, xf in enumerate(cell_xfs)}
    except (zipfile.BadZipFile, KeyError, StopIteration, ET.ParseError, TypeError, IndexError, ValueError) as err:
        LOG.warning("%s: font colours of sheet %r not readable (%s); estimate_flag will be NULL", SOURCE, sheet, err)
        return None
    country_ids = (
        [
            str(i)
            for i, si in enumerate(shared.iter(f"{_MAIN}si"))
            if "".join(t.text or "" for t in si.iter(f"{_MAIN}t")).strip() == "Country"
        ]
        if shared is not None
        else []
    )
    cells = pl.DataFrame(
        re.findall(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", sheet_xml, flags=re.S), schema=["attrs", "inner"], orient="row"
    ).select(
        col=pl.col("attrs").str.extract(r'\br="([A-Z]+)\d+"'),
        excel_row=pl.col("attrs").str.extract(r'\br="[A-Z]+(\d+)"').cast(pl.Int64),
        style=pl.col("attrs").str.extract(r'\bs="(\d+)"').cast(pl.Int64).fill_null(0),
        kind=pl.col("attrs").str.extract(r'\bt="(\w+)"'),
        v=pl.col("inner").str.extract(r"<v>(.*?)</v>"),
        inline=pl.col("inner").str.extract(r"<t[^>]*>(.*?)</t>"),
    )
    anchor = cells.filter(
        ((pl.col("kind") == "s") & pl.col("v").is_in(country_ids))
        | (pl.col("kind").is_in(["inlineStr", "str"]) & (pl.coalesce("inline", "v").str.strip_chars() == "Country"))
    ).sort("excel_row")
    if anchor.is_empty():
        LOG.warning("%s: no `Country` cell found in the XML of sheet %r; estimate_flag will be NULL", SOURCE, sheet)
        return None
    letters = anchor["col"][0]
    anchor_col = sum((ord(ch) - 64) * 26**i for i, ch in enumerate(reversed(letters)))
    colours = cells.select(
        "excel_row",
        "col",
        font_colour=pl.col("style").replace_strict(style_colour, default="default", return_dtype=pl.String),
    )
    return colours, (int(anchor["excel_row"][0]), anchor_col)


# ---------------------------------------------------------------- one sheet


def read_sheet(path: Path, sheet: str) -> SheetRead:
    """Read one data sheet into long cells (country row x year column), recognising headings and markers."""
    reader = fastexcel.read_excel(path)
    if sheet not in reader.sheet_names:
        raise _fail(
            path.name, "sheet", "required sheet present", [f"missing sheet {sheet!r}; found {reader.sheet_names}"]
        )
    # Same rectangle twice: as text (markers, names, notes) and as floats (exact numbers; text cells -> null).
    text = reader.load_sheet_by_name(sheet, header_row=None, skip_rows=0, dtypes="string").to_polars()
    nums = reader.load_sheet_by_name(sheet, header_row=None, skip_rows=0, dtypes="float").to_polars()
    if text.shape != nums.shape:  # both reads must cover the same rectangle for cells to line up
        raise _fail(
            path.name, "sheet", "same shape read as text and as numbers", [f"{sheet}: {text.shape} vs {nums.shape}"]
        )
    positions = [f"c{i}" for i in range(text.width)]
    text = text.rename(dict(zip(text.columns, positions))).with_row_index("i")
    nums = nums.rename(dict(zip(nums.columns, positions))).with_row_index("i")
    file = f"{path.name} [{sheet}]"

    header_at = text.filter(pl.col("c0").str.strip_chars() == "Country")["i"]
    if header_at.is_empty():
        raise _fail(
            file,
            "Country",
            "header row present (a `Country` cell in column A)",
            [f"column A starts {text['c0'].drop_nulls().head(8).to_list()}"],
        )
    header_index = int(header_at[0])
    header = [(v or "").strip() for v in text.select(positions).row(header_index)]  # the header row only
    years = {pos: int(m.group(1)) for pos, h in zip(positions, header) if (m := re.match(YEAR_HEADER, h))}
    notes_cols = [pos for pos, h in zip(positions, header) if h == "Notes"]
    if not years or len(notes_cols) != 1:
        raise _fail(
            file,
            "header",
            "one `Notes` column and four-digit year columns",
            [f"header row: {header}"],
            [header_index + 1],
        )
    notes_col = notes_cols[0]
    extra_cols = [p for p in positions[1:] if p not in years and p != notes_col]

    filled = lambda c: pl.col(c).str.strip_chars().fill_null("") != ""  # noqa: E731
    body = text.filter(pl.col("i") > header_index).with_columns(
        kind=pl.when(~filled("c0") & ~pl.any_horizontal([filled(c) for c in positions[1:]]))
        .then(pl.lit("blank"))
        .when(~filled("c0"))
        .then(pl.lit("orphan"))
        .when(~pl.any_horizontal([filled(c) for c in positions[1:]]))
        .then(pl.lit("heading"))
        .otherwise(pl.lit("country"))
    )
    orphans = body.filter(pl.col("kind") == "orphan")
    if orphans.height:
        raise _fail(
            file,
            "Country",
            "a name on every row holding values",
            ["(empty country name)"] * orphans.height,
            (orphans["i"] + 1).to_list(),
        )
    headings = body.filter(pl.col("kind") == "heading").select(country=pl.col("c0").str.strip_chars())
    if headings.height:
        # A heading is a row with only a name; it must be a known aggregate, not a country that lost its data.
        kinds = resolve(headings, SOURCE, name_col="country")
        not_aggregate = kinds.filter(pl.col("entity_kind") != "aggregate")["country"].to_list()
        if not_aggregate:
            raise _fail(file, "Country", "heading rows (name only, no values) are region names", not_aggregate)
    body = body.with_columns(
        region_heading=pl.when(pl.col("kind") == "heading").then(pl.col("c0").str.strip_chars()).forward_fill()
    )
    rows = body.filter(pl.col("kind") == "country")
    for col in extra_cols:
        stray = rows.filter(filled(col))
        if stray.height:
            raise _fail(
                file, f"(unnamed column {col})", "is empty", stray[col].head(5).to_list(), (stray["i"] + 1).to_list()
            )

    year_cols = list(years)
    long_text = rows.select(
        "i",
        *year_cols,
        country=pl.col("c0").str.strip_chars(),
        notes=pl.col(notes_col).str.strip_chars().replace("", None),
        region_heading="region_heading",
    ).unpivot(index=["i", "country", "notes", "region_heading"], on=year_cols, variable_name="pos", value_name="text")
    long_nums = nums.select("i", *year_cols).unpivot(index="i", on=year_cols, variable_name="pos", value_name="num")
    cells = long_text.join(long_nums, on=["i", "pos"], how="left", validate="1:1")

    stripped = pl.col("text").str.strip_chars()
    cells = cells.with_columns(
        year=pl.col("pos").replace_strict(years, return_dtype=pl.Int64),
        value_status=pl.when(pl.col("num").is_not_null())
        .then(pl.lit("reported"))
        .when(stripped.fill_null("").eq("") | stripped.str.contains(UNAVAILABLE))
        .then(pl.lit("unavailable"))
        .when(stripped.str.to_lowercase() == NOT_EXISTING)
        .then(pl.lit("not_existing"))
        .otherwise(pl.lit("reported")),  # any other text: the contract rejects it as a value that is not a number
    ).with_columns(
        # polars writes floats in shortest round-trip form, so the contract's cast gives back the exact double.
        value=pl.when(pl.col("value_status") == "reported").then(pl.coalesce(pl.col("num").cast(pl.String), stripped)),
        source_text=pl.when(pl.col("num").is_null()).then(pl.col("text")),
    )

    # Worksheet coordinates and font colours. calamine's rectangle starts at the first used cell, so
    # positions are anchored on the `Country` cell located in both reads.
    position_index = {p: i for i, p in enumerate(positions)}
    styled = _font_colours(path, sheet)
    row_offset, col_offset = (styled[1][0] - (header_index + 1), styled[1][1] - 1) if styled else (0, 0)
    letters = {p: column_letters(i + 1 + col_offset) for p, i in position_index.items()}
    cells = cells.with_columns(
        source_row=(pl.col("i").cast(pl.Int64) + 1 + row_offset),
        col=pl.col("pos").replace_strict(letters, return_dtype=pl.String),
    )
    if styled:
        cells = cells.join(
            styled[0], left_on=["source_row", "col"], right_on=["excel_row", "col"], how="left", validate="1:1"
        )
        # Every cell that holds something must exist in the XML at the same position, or the anchoring is wrong.
        lost = cells.filter(pl.col("text").is_not_null() & pl.col("font_colour").is_null())
        if lost.height:
            raise _fail(
                file,
                "font_colour",
                "cell found in the sheet XML",
                lost["text"].head(5).to_list(),
                lost["source_row"].head(5).to_list(),
            )
    else:
        cells = cells.with_columns(font_colour=pl.lit(None, pl.String))
    cells = cells.with_columns(
        sheet=pl.lit(sheet),
        measure=pl.lit(_measure(sheet)),
        source_cell=pl.col("col") + pl.col("source_row").cast(pl.String),
        font_colour=pl.when(pl.col("text").is_not_null()).then("font_colour"),
        estimate_flag=pl.when(pl.col("value_status") == "reported").then(
            pl.col("font_colour").replace_strict(_FLAG_BY_COLOUR, default=None, return_dtype=pl.String)
        ),
    ).select(
        "source_row",
        "source_cell",
        "sheet",
        "measure",
        "country",
        "notes",
        "region_heading",
        "year",
        "value",
        "value_status",
        "source_text",
        "font_colour",
        "estimate_flag",
    )
    return SheetRead(
        sheet,
        cells,
        headings["country"].to_list(),
        body.filter(pl.col("kind") == "blank").height,
        rows.height,
        len(years),
    )


def _measure(sheet: str) -> str:
    if (constant := re.match(CONSTANT_SHEET, sheet)) is not None:
        return f"constant_{constant.group(1)}_usd_mn"
    return SHEET_MEASURES[sheet]


def _sheets(path: Path) -> list[str]:
    """The four data sheets; the constant-dollar one is named for the release's base year."""
    names = fastexcel.read_excel(path).sheet_names
    wanted = []
    for sheet in SHEET_MEASURES:
        if re.match(CONSTANT_SHEET, sheet):
            constant = [n for n in names if re.match(CONSTANT_SHEET, n)]
            wanted.append(sheet if sheet in names or len(constant) != 1 else constant[0])
        else:
            wanted.append(sheet)
    return wanted


def parse(path: Path) -> pl.DataFrame:
    parts = []
    for sheet in _sheets(path):
        read = read_sheet(path, sheet)
        LOG.info(
            "%s [%s]: %d country rows x %d years, %d region headings, %d blank rows",
            SOURCE,
            sheet,
            read.country_rows,
            read.year_columns,
            len(read.headings),
            read.blank_rows,
        )
        mapped = attach_iso3(read.cells, SOURCE, name_col="country")
        # One contract run per sheet, so a failure names the sheet and its worksheet row.
        parts.append(enforce(mapped, SipriMilex, source=SOURCE, file=f"{path.name} [{sheet}]"))
    return pl.concat(parts)


MILEX = RawTable(
    name="sipri_milex",
    source=SOURCE,
    cadence="yearly",
    snapshot="sipri_milex",
    default_file="SIPRI-Milex-data-1948-2023.xlsx",
    vintage="SIPRI Military Expenditure Database, April 2024 release (data 1948-2023, constant 2022 US$)",
    parse=parse,
    description=(
        "SIPRI military expenditure, world, long form: one row per country x year x measure (constant 2022 US$ m, "
        "current US$ m, share of GDP as a proportion, per capita current US$). NULL value = '...' (unavailable) or "
        "'xxx' (did not exist), told apart by value_status; estimate_flag from the cell font colour."
    ),
)

RAW_TABLES = (MILEX,)
