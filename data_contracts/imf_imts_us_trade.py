"""Contract for IMF IMTS (International Trade in Goods by partner country), reporter United States, SDMX-CSV 1.0.

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, dataflow / indicator / flow / valuation lists, counterpart code pattern, year range,
  value >= 0, (counterpart, indicator, year) keys.
- plausibility: none.
"""

from __future__ import annotations

import pandera.polars as pa


class ImfImtsUsTrade(pa.DataFrameModel):
    """One row per indicator x counterpart x year. Values are US dollars; NULL = not available (never zero)."""

    source_row: int = pa.Field(ge=1, unique=True)
    dataflow: str = pa.Field(str_matches=r"^IMF\.STA:IMTS\([0-9.]+\)$")
    reporter_code: str = pa.Field(isin=["USA"])
    indicator: str = pa.Field(isin=["XG_FOB_USD", "MG_CIF_USD", "MG_FOB_USD"])
    flow: str = pa.Field(isin=["exports", "imports"])
    valuation: str = pa.Field(isin=["FOB", "CIF"])
    counterpart_code: str = pa.Field(str_matches=r"^([A-Z]{3}|G[0-9]{3})$")
    frequency: str = pa.Field(isin=["A"])
    year: int = pa.Field(ge=1948, le=2100)
    value_usd: float = pa.Field(nullable=True, ge=0)
    unit: str = pa.Field(nullable=True, isin=["USD"])
    status: str = pa.Field(nullable=True)
    is_synthetic: bool
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=["country", "aggregate", "unresolved"])
    in_universe: bool

    class Config:
        unique = ["indicator", "counterpart_code", "year"]
