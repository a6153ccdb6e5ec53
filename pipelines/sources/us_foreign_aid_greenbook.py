"""USAID Greenbook (U.S. Overseas Loans and Grants): obligations by country, Economic/Military, program line and
account, FY1946 onwards; and the reference table that classes program lines / accounts as security sector or not.

Quirks handled (see data/snapshots/us_foreign_aid_greenbook/SOURCE.md):
- A preamble (title, units, source, preparation date, a note, a blank row) sits above the header. The header row is
  found by its `Fiscal Year` and `Country` cells, never by a fixed count, and columns are found by their names
  (snake_cased; the amount columns by `historical`/`current` and `constant`), so a vintage with a longer preamble or
  re-ordered columns still reads.
- The constant-dollar base year is read from the preamble (`Constant 2020 $US`): every release moves it.
- `Fiscal Year` is a number; the 1976 transition quarter is `1976.9` (also accepted: `1976tq`, FA.gov's label). It
  becomes fiscal_year 1976, fiscal_period 'TQ', next to the FY1976 rows. Any other fraction is a contract failure.
- Cells are read as text (calamine writes these whole numbers exactly) and typed by the contract, so a bad cell is
  reported with its value and worksheet row.
- The workbook covers the world. `Region` decides what must be known: a name in the Latin America & Caribbean region
  must resolve through the crosswalk (or the build fails); a name elsewhere that the crosswalk does not know is kept
  as entity_kind 'unmapped' and counted in a warning, never fatal. Regional buckets such as
  `Central America (not specified)` are aggregates and never reach country facts.
- The publisher classes narcotics control (INCLE, Andean Counterdrug Initiative), NADR and ESF as `Economic`. That
  split is kept as published; the security-sector reading is a separate reference table
  (data/reference/aid_security_classification.csv, loaded as `raw.aid_security_classification`).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import fastexcel
import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.us_foreign_aid_greenbook import AidSecurityClassification, UsForeignAidGreenbook
from pipelines.countries import UnmappedCountryError, normalise_name, resolve
from pipelines.sources.base import RawTable, read_text_csv, snake_case

SOURCE = "us_foreign_aid_greenbook"
LOG = logging.getLogger(__name__)
LAC_REGIONS = {normalise_name("Latin America and Caribbean"), normalise_name("Latin America and the Caribbean")}
# How far down the header row may sit: the bundled preamble is 6 rows.
HEADER_SEARCH_ROWS = 50
BASE_YEAR_ENV = "HPW_US_FOREIGN_AID_GREENBOOK_CONSTANT_BASE_YEAR"
# Publisher header (snake_cased) -> tidy name. Amount columns are matched by pattern, see _column_names.
RENAMES = {
    "fiscal_year": "fiscal_year_label",
    "publication_row": "program_line",
    "funding_account_name": "funding_account",
}
TEXT_COLUMNS = ("region", "country", "assistance_category", "program_line", "funding_agency", "funding_account")


def _fail(file: str, column: str, check: str, values: list[str], rows: list[int] | None = None) -> ContractViolation:
    return ContractViolation(SOURCE, file, [Failure(column, check, values=values, rows=rows or [], count=len(values))])


def _column_names(header: list[str]) -> list[str]:
    names = []
    for cell in header:
        name = snake_case(cell or "")
        if re.search(r"obligation.*(historical|current|nominal)", name):
            name = "amount_current_usd"
        elif re.search(r"obligation.*constant", name):
            name = "amount_constant_usd"
        names.append(RENAMES.get(name, name))
    return names


def _base_year(preamble: list[str], file: str) -> int:
    """The constant-dollar base year stated in the preamble (`Constant 2020 $US`), else HPW_..._BASE_YEAR."""
    for line in preamble:
        match = re.search(r"constant\s+(?:fy\s*)?((?:19|20)\d{2})", line, flags=re.I)
        if match:
            return int(match.group(1))
    if os.environ.get(BASE_YEAR_ENV):
        return int(os.environ[BASE_YEAR_ENV])
    raise _fail(file, "(preamble)", f"states the constant-dollar base year (or set {BASE_YEAR_ENV})", preamble[:6])


def read_workbook(path: Path) -> tuple[pl.DataFrame, int]:
    """The data rows as text with tidy column names and `source_row` (worksheet row), and the constant base year."""
    try:
        reader = fastexcel.read_excel(path)
        sheet = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string").to_polars()
    except Exception as err:  # calamine raises its own error types for a file that is not a workbook
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise _fail(path.name, "(file)", "readable xlsx workbook", [first]) from None
    positions = sheet.columns
    cells = pl.col(positions[0]).str.strip_chars()
    head = sheet.head(HEADER_SEARCH_ROWS).with_row_index("i")

    def has_cell(text: str) -> pl.Expr:
        return pl.any_horizontal(pl.col(c).str.strip_chars().str.to_lowercase() == text for c in positions)

    is_header = has_cell("fiscal year") & has_cell("country")
    found = head.filter(is_header)["i"]
    if found.is_empty():
        raise _fail(
            path.name,
            "Fiscal Year",
            f"header row (cells `Fiscal Year` and `Country`) in the first {HEADER_SEARCH_ROWS} rows",
            head.select(cells).to_series().drop_nulls().head(8).to_list(),
        )
    header_index = int(found[0])
    names = _column_names([v or "" for v in sheet.row(header_index)])
    preamble = [v for v in sheet.head(header_index).select(cells).to_series().to_list() if v]
    base_year = _base_year(preamble, path.name)

    # calamine's rectangle starts at A1 when A1 holds the title, as here; the worksheet row is the index + 1.
    first_used = 1
    body = (
        sheet.slice(header_index + 1)
        .with_row_index("i", offset=header_index + 1)
        .select(
            source_row=(pl.col("i") + first_used).cast(pl.Int64),
            **{n: pl.col(p).str.strip_chars().replace("", None) for n, p in zip(names, positions) if n},
        )
    )
    # Fully blank rows are layout (none in the bundled vintage, common after a footer); anything else is data.
    data_columns = [n for n in names if n]
    body = body.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in data_columns))
    return body, base_year


def _fiscal_year_columns() -> dict[str, pl.Expr]:
    label = pl.col("fiscal_year_label")
    whole = label.str.extract(r"^(\d{4})(?:\.0+)?$")
    tq = label.str.extract(r"(?i)^(\d{4})(?:\.9|\s*tq)$")
    return {
        # Not a whole year or a TQ label: the label itself, so the contract names the bad value.
        "fiscal_year": pl.coalesce(whole, tq, label),
        "fiscal_period": pl.when(tq.is_not_null()).then(pl.lit("TQ")).otherwise(pl.lit("FY")),
    }


def _map_countries(frame: pl.DataFrame) -> pl.DataFrame:
    """iso3 / entity_kind / in_universe per row: strict inside the LAC region, tolerant outside it."""
    pairs = (
        frame.select("region", "country")
        .unique()
        .with_columns(
            in_lac=pl.col("region")
            .map_elements(lambda r: normalise_name(r) in LAC_REGIONS, return_dtype=pl.Boolean)
            .fill_null(False)
        )
    )
    inside = resolve(pairs.filter("in_lac"), SOURCE, name_col="country")  # unknown here: UnmappedCountryError
    outside_names = pairs.filter(~pl.col("in_lac")).select("country").unique()
    try:
        outside = resolve(outside_names, SOURCE, name_col="country")
    except UnmappedCountryError as err:
        unknown = set(err.values)
        known = resolve(outside_names.filter(~pl.col("country").is_in(list(unknown))), SOURCE, name_col="country")
        outside = pl.concat(
            [
                known,
                outside_names.filter(pl.col("country").is_in(list(unknown))).with_columns(
                    iso3=pl.lit(None, pl.String), entity_kind=pl.lit("unmapped"), in_universe=pl.lit(False)
                ),
            ]
        )
        LOG.warning(
            "%s: %d name(s) outside Latin America & Caribbean not in the crosswalk, kept as 'unmapped': %s",
            SOURCE,
            len(unknown),
            sorted(unknown)[:20],
        )
    mapping = pl.concat(
        [
            pairs.filter("in_lac").select("region", "country").join(inside, on="country", how="left"),
            pairs.filter(~pl.col("in_lac")).select("region", "country").join(outside, on="country", how="left"),
        ]
    )
    return frame.join(mapping, on=["region", "country"], how="left", nulls_equal=True, maintain_order="left")


def parse(path: Path) -> pl.DataFrame:
    body, base_year = read_workbook(path)
    required = ("fiscal_year_label", *TEXT_COLUMNS, "amount_current_usd", "amount_constant_usd")
    missing = [c for c in required if c not in body.columns]
    if missing:
        raise ContractViolation(
            SOURCE,
            path.name,
            [
                Failure(
                    c,
                    "required column present (schema drift: removed or renamed)",
                    values=[f"found columns: {body.columns}"],
                )
                for c in missing
            ],
        )
    tidy = body.with_columns(**_fiscal_year_columns(), constant_usd_base_year=pl.lit(base_year, pl.Int64))
    blank_names = tidy.filter(pl.col("country").is_null() | pl.col("region").is_null())
    if blank_names.height:
        raise _fail(
            path.name,
            "Country",
            "a region and a country name on every data row",
            ["(blank)"] * min(blank_names.height, 5),
            blank_names["source_row"].head(5).to_list(),
        )
    return enforce(_map_countries(tidy), UsForeignAidGreenbook, source=SOURCE, file=path.name)


def parse_classification(path: Path) -> pl.DataFrame:
    frame = read_text_csv(path).with_columns(pl.col(pl.String).str.strip_chars())
    return enforce(frame, AidSecurityClassification, source="aid_security_classification", file=path.name)


GREENBOOK = RawTable(
    name="us_foreign_aid_greenbook",
    source=SOURCE,
    snapshot="us_foreign_aid_greenbook",
    default_file="us_foreignaid_greenbook.xlsx",
    vintage="USAID Greenbook, prepared 2022-08-09 (FY1946-FY2020 incl. the 1976 TQ; constant FY2020 USD)",
    parse=parse,
    # ForeignAssistance.gov's Data/Reports page serves the workbook here since the 2025 move (SOURCE.md).
    live_url="https://foreignassistance.gov/static/us_foreignaid_greenbook.xlsx",
    cadence="yearly",
    description=(
        "USAID Greenbook (US Overseas Loans and Grants), whole world: obligations per fiscal year, region, country, "
        "assistance category (Economic/Military, as published), program line, funding agency and account, in "
        "nominal and constant USD. Regional '(not specified)' buckets are aggregates."
    ),
)

SECURITY_CLASSIFICATION = RawTable(
    name="aid_security_classification",
    source="aid_security_classification",
    snapshot="reference",
    default_file="aid_security_classification.csv",
    bundled_root="data",
    vintage="hand-curated reference table (data/reference/aid_security_classification.csv)",
    parse=parse_classification,
    cadence="never",
    description=(
        "Program line / funding account of US aid -> security sector (military and police aid) or not, with a "
        "rationale and a citation; funding_account '*' covers every account of the program line."
    ),
)

RAW_TABLES = (GREENBOOK, SECURITY_CLASSIFICATION)
