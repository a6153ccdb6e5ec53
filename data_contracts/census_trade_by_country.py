"""Contracts for the US Census Bureau goods trade by partner country and month (US$ millions)."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa

# The Census country workbook starts in 1985; the current year is year-to-date.
FIRST_YEAR = 1985
LAST_YEAR = date.today().year
# US goods trade with one partner in one month is far below US$1 trillion (1,000,000 million); a year with the
# world stays below US$10 trillion.
ABSURD_MONTH_MUSD = 1e6
ABSURD_YEAR_MUSD = 1e7


class CensusTradeByCountry(pa.DataFrameModel):
    """One row per partner x month. NULL = month not yet published (unknown, never zero)."""

    source_row: int = pa.Field(ge=1)  # line of the JSON file / data row of the workbook
    layout: str = pa.Field(isin=["json lines", "census workbook"])
    partner_code: str = pa.Field(str_matches=r"^([A-Z]{3}|AGG_[0-9]{4}|[0-9]{4})$")
    cty_code: str = pa.Field(nullable=True, str_matches=r"^[0-9]{4}$")
    partner_name: str = pa.Field(nullable=True)
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    month: int = pa.Field(ge=1, le=12)
    period: str = pa.Field(str_matches=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    exports_musd: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_MONTH_MUSD})
    imports_musd: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_MONTH_MUSD})
    exports_year_musd: float = pa.Field(in_range={"min_value": 0, "max_value": ABSURD_YEAR_MUSD})
    imports_year_musd: float = pa.Field(in_range={"min_value": 0, "max_value": ABSURD_YEAR_MUSD})
    balance_year_musd: float = pa.Field(nullable=True)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=["country", "aggregate"])
    in_universe: bool

    class Config:
        unique = ["partner_code", "year", "month"]


class CensusTradeWorldTotals(pa.DataFrameModel):
    """One row per period: US goods trade with the world, Census basis, US$ millions."""

    source_row: int = pa.Field(ge=1, unique=True)
    period: str = pa.Field(str_matches=r"^[0-9]{4}(-(0[1-9]|1[0-2]))?$")
    frequency: str = pa.Field(isin=["annual", "monthly"])
    basis: str = pa.Field(isin=["census"])
    scope: str = pa.Field(isin=["goods"])
    adjustment: str = pa.Field(isin=["nsa", "sa"])
    exports_musd: float = pa.Field(in_range={"min_value": 0, "max_value": ABSURD_YEAR_MUSD})
    imports_musd: float = pa.Field(in_range={"min_value": 0, "max_value": ABSURD_YEAR_MUSD})
    balance_musd: float

    class Config:
        unique = ["period", "frequency", "adjustment"]
