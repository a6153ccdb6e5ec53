"""Contract for the US Census Bureau international trade API, monthly country totals (exports or imports).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: every column, type and nullability, `source_row` unique, flow / variable lists, CTY_CODE and period
  patterns, year >= 2010 (the API's start), month 1-12, value >= 0.
- plausibility: none (the API returns exactly what the contract lists).
"""

from __future__ import annotations

import pandera.polars as pa


class CensusIntltrade(pa.DataFrameModel):
    """One row per flow x CTY_CODE x month. Values are whole US dollars; NULL = not published (never zero)."""

    source_row: int = pa.Field(ge=1, unique=True)
    flow: str = pa.Field(isin=["exports", "imports"])
    value_variable: str = pa.Field(isin=["ALL_VAL_MO", "GEN_VAL_MO"])
    cty_code: str = pa.Field(str_matches=r"^([0-9]{4}|[1-7]XXX|-)$")
    cty_name: str
    period: str = pa.Field(str_matches=r"^[0-9]{4}-(0[1-9]|1[0-2])$")
    year: int = pa.Field(ge=2010, le=2100)  # the API starts in 2010-01
    month: int = pa.Field(ge=1, le=12)
    value_usd: int = pa.Field(nullable=True, ge=0)
    is_synthetic: bool
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=["country", "aggregate", "unresolved"])
    in_universe: bool

    class Config:
        unique = ["flow", "cty_code", "period"]
