"""Contract for the SIPRI Military Expenditure Database workbook (`SIPRI-Milex-data-1948-2023.xlsx` layout).

One row per (country row x year column) cell of the four sheets read, in long form. Values are NULL unless
the cell held a number: `value_status` says why a value is missing ('unavailable' for the `...` / `. .`
marker, 'not_existing' for `xxx`, the country did not exist or was not independent).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: sheet / measure / status lists, worksheet cell pattern, years in range, value >= 0, value present
  exactly when reported, share_gdp a proportion (<= 2), estimate flag only on reported values.
- plausibility: none.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

# Sheet name in the workbook -> tidy measure name (these names are used by downstream marts).
SHEET_MEASURES = {
    "Constant (2022) US$": "constant_2022_usd_mn",
    "Current US$": "current_usd_mn",
    "Share of GDP": "share_gdp",
    "Per capita": "per_capita_usd",
}
# Each release names its constant-dollar sheet for its own base year (`Constant (2023) US$` in the 2025 release):
# that sheet lands as measure `constant_<year>_usd_mn`.
CONSTANT_SHEET = r"^Constant \((\d{4})\) US\$$"
CONSTANT_MEASURE = r"^constant_\d{4}_usd_mn$"
VALUE_STATUSES = ["reported", "unavailable", "not_existing"]
FONT_COLOURS = ["blue", "red", "default"]
ESTIMATE_FLAGS = ["sipri_estimate", "highly_uncertain", "none"]
# The database starts in 1948 (the 2025 release starts in 1949); the latest year is the release year - 1.
FIRST_YEAR = 1948
LAST_YEAR = date.today().year
# Upper bounds that no real value reaches; a value above one is a unit or parsing error.
# The USA, the largest spender, is below USD 1 trillion (1e6 m); per capita below USD 20,000 (Kuwait 1991: 9,645).
# Share of GDP is a PROPORTION (0.0108 = 1.08 %); Kuwait 1991 reached 1.17 during the Gulf war, so a
# bound of 2 lets real values through while a sheet re-scaled to percent (Kuwait 117) fails.
MAX_BY_MEASURE = {
    "constant_2022_usd_mn": 5e6,
    "current_usd_mn": 5e6,
    "share_gdp": 2.0,
    "per_capita_usd": 20_000.0,
}


class SipriMilex(pa.DataFrameModel):
    """SIPRI military expenditure cells. NULL value = not a number in the file (see value_status), never zero."""

    source_row: int = pa.Field(ge=1)  # worksheet row number as Excel shows it
    source_cell: str = pa.Field(str_matches=r"^[A-Z]{1,3}[0-9]+$")  # e.g. 'D12'
    sheet: str = pa.Field(str_matches=f"{CONSTANT_SHEET}|^(Current US\\$|Share of GDP|Per capita)$")
    measure: str = pa.Field(str_matches=f"{CONSTANT_MEASURE}|^(current_usd_mn|share_gdp|per_capita_usd)$")
    country: str
    notes: str = pa.Field(nullable=True)
    region_heading: str = pa.Field(nullable=True)
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    value: float = pa.Field(nullable=True, ge=0)
    value_status: str = pa.Field(isin=VALUE_STATUSES)
    source_text: str = pa.Field(nullable=True)
    font_colour: str = pa.Field(nullable=True, isin=FONT_COLOURS)
    estimate_flag: str = pa.Field(nullable=True, isin=ESTIMATE_FLAGS)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=["country", "aggregate", "unresolved"])
    in_universe: bool

    class Config:
        unique = ["measure", "country", "year"]

    # Column checks that look at the row's other columns, so a failure names the column and its value.
    @pa.check("value", name="value present exactly when value_status = 'reported'")
    def value_present_only_when_reported(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("value_status") == "reported") == pl.col("value").is_not_null())

    @pa.check("value", name="value <= plausible maximum of its measure (share_gdp <= 2: a proportion, not percent)")
    def value_below_plausible_maximum_for_measure(cls, data: PolarsData) -> pl.LazyFrame:
        measure = pl.col("measure").str.replace(CONSTANT_MEASURE, "constant_2022_usd_mn")  # same bound any base year
        limit = measure.replace_strict(MAX_BY_MEASURE, return_dtype=pl.Float64)
        return data.lazyframe.select(pl.col("value").is_null() | (pl.col("value") <= limit))

    @pa.check("estimate_flag", name="estimate_flag only on reported values")
    def estimate_flag_only_for_reported_values(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("estimate_flag").is_null() | (pl.col("value_status") == "reported"))
