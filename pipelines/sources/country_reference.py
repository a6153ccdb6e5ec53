"""Country reference: ISO 3166 / M49 codes and names (datasets/country-codes) and World Bank regions/income groups.

Quirks handled (see data/snapshots/country_reference/SOURCE.md):
- M49 and other numeric codes are stored without zero padding (`32` for Argentina): padded to 3 digits.
- `Continent` uses `NA` for North America: every column is read as text, so `NA` is never taken as missing.
- The World Bank metadata file has a BOM, a trailing empty column, and line breaks inside quoted notes:
  it is parsed as CSV records, not lines. Aggregates (LCN, LAC, TLA) have no region and are flagged.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_contracts._base import enforce
from data_contracts.country_reference import CountryCodes, WorldBankCountryMetadata
from pipelines.sources.base import RawTable, read_text_csv

SOURCE = "country_reference"


def parse_country_codes(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path)
    renames = {
        "ISO3166-1-Alpha-3": "iso3",
        "ISO3166-1-Alpha-2": "iso2",
        "M49": "m49",
        "CLDR display name": "country_name",
        "official_name_en": "official_name",
        "Region Name": "region_name",
        "Sub-region Name": "subregion",
        "Intermediate Region Name": "intermediate_region",
    }
    tidy = raw.rename(renames, strict=False)
    if "m49" in tidy.columns:
        tidy = tidy.with_columns(pl.col("m49").str.zfill(3))
    return enforce(tidy, CountryCodes, source=SOURCE, file=path.name)


def parse_wb_metadata(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path)
    tidy = raw.rename(
        {
            "Country Code": "code",
            "Region": "wb_region",
            "IncomeGroup": "wb_income_group",
            "SpecialNotes": "special_notes",
            "TableName": "table_name",
        },
        strict=False,
    ).drop([c for c in raw.columns if c == ""], strict=False)
    return enforce(tidy, WorldBankCountryMetadata, source=SOURCE, file=path.name)


COUNTRY_CODES = RawTable(
    name="country_codes",
    source=SOURCE,
    cadence="quarterly",
    snapshot="country_reference",
    default_file="country-codes_LAC_USA.csv",
    vintage="datasets/country-codes @ caa72d1 (2026-05-15)",
    parse=parse_country_codes,
    description="ISO 3166-1 / UN M49 codes, names and regions (datasets/country-codes), LAC + USA.",
)

WB_COUNTRY_METADATA = RawTable(
    name="wb_country_metadata",
    source=SOURCE,
    cadence="quarterly",
    snapshot="country_reference",
    default_file="Metadata_Country_API_RL.EST_DS2_en_csv_v2_5814_LAC_USA.csv",
    vintage="World Bank country metadata, 2026 download (FY2026 income classification)",
    parse=parse_wb_metadata,
    description="World Bank region and income group per economy (aggregates have none).",
)

RAW_TABLES = (COUNTRY_CODES, WB_COUNTRY_METADATA)
