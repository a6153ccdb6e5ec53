"""Contracts for the USAID Greenbook workbook and the aid security-sector classification reference table.

Greenbook: one row per (fiscal year, region, country, assistance category, program line, funding agency,
funding account), obligations in nominal and constant USD. `source_row` is the worksheet row as Excel shows it.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

ASSISTANCE_CATEGORIES = ["Economic", "Military"]
FISCAL_PERIODS = ["FY", "TQ"]  # TQ = the July-September 1976 transition quarter, `1976.9` in the file
TRANSITION_QUARTER_YEAR = 1976
FIRST_FISCAL_YEAR = 1946  # the Greenbook starts with the post-war programs
LAST_FISCAL_YEAR = date.today().year + 1
# One line of one country-year never comes near this (the largest, Israel/Egypt lines, are a few billion).
ABSURD_AMOUNT_USD = 1e12
PLAUSIBLE_AMOUNT = {"min_value": -ABSURD_AMOUNT_USD, "max_value": ABSURD_AMOUNT_USD}
# 'unmapped': a name outside the Latin America & Caribbean region the crosswalk does not know (counted, not fatal).
ENTITY_KINDS = ["country", "aggregate", "unmapped"]
GREENBOOK_KEY = [
    "fiscal_year_label",
    "region",
    "country",
    "assistance_category",
    "program_line",
    "funding_agency",
    "funding_account",
]


class UsForeignAidGreenbook(pa.DataFrameModel):
    """`us_foreignaid_greenbook.xlsx`, sheet `Economic and Military Aid`, data rows below the detected header."""

    source_row: int = pa.Field(ge=1, unique=True)
    fiscal_year_label: str
    fiscal_year: int = pa.Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    fiscal_period: str = pa.Field(isin=FISCAL_PERIODS)
    region: str
    country: str
    assistance_category: str = pa.Field(isin=ASSISTANCE_CATEGORIES)
    program_line: str
    funding_agency: str = pa.Field(nullable=True)
    funding_account: str = pa.Field(nullable=True)
    # NULL = blank cell (unknown), never zero. Negative = de-obligation / loan adjustment.
    amount_current_usd: float = pa.Field(nullable=True, in_range=PLAUSIBLE_AMOUNT)
    amount_constant_usd: float = pa.Field(nullable=True, in_range=PLAUSIBLE_AMOUNT)
    constant_usd_base_year: int = pa.Field(ge=1990, le=LAST_FISCAL_YEAR)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=ENTITY_KINDS)
    in_universe: bool

    class Config:
        unique = GREENBOOK_KEY

    @pa.check("fiscal_year_label", name="a fiscal year is a whole year, or 1976.9 (the transition quarter)")
    def whole_year_or_transition_quarter(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("fiscal_period") == "FY") | (pl.col("fiscal_year") == TRANSITION_QUARTER_YEAR)
        )

    @pa.check("amount_current_usd", name="whole dollars (obligations are published in dollars)")
    def whole_dollars(cls, data: PolarsData) -> pl.LazyFrame:
        # A fractional value means the column holds another unit (e.g. millions) or a shifted column.
        return data.lazyframe.select(pl.col("amount_current_usd").is_null() | (pl.col("amount_current_usd") % 1 == 0))


class AidSecurityClassification(pa.DataFrameModel):
    """`data/reference/aid_security_classification.csv`: program line / funding account -> security sector or not.

    `funding_account = '*'` classes every account of the program line; a row naming the account wins over it.
    """

    source_row: int = pa.Field(ge=1, unique=True)
    program_line: str
    funding_account: str
    is_security_sector: bool
    rationale: str = pa.Field(str_length={"min_value": 10})
    citation: str = pa.Field(str_length={"min_value": 5})

    class Config:
        unique = ["program_line", "funding_account"]
