"""Contract for IMF Direction of Trade Statistics, reporter United States (`dots_us.csv` layout).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, reporter code 111, years 1948..this year, values 0..1e12 (a unit error beyond),
  (partner code, year) unique.
- plausibility: none.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa

# DOTS annual series start in 1948; the current year can appear as a preliminary figure.
FIRST_YEAR = 1948
LAST_YEAR = date.today().year
# US goods trade with any single partner is well under USD 1 trillion a year.
ABSURD_TRADE_USD = 1e12


class ImfDotsUsTrade(pa.DataFrameModel):
    """One row per partner x calendar year. Blank values mean *not available* and stay null, never zero."""

    source_row: int = pa.Field(ge=1, unique=True)
    reporter_name: str
    reporter_imf_code: str = pa.Field(isin=["111"])  # the United States, IMF code 111
    partner_name: str
    partner_imf_code: str
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    exports_fob_usd: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_TRADE_USD})
    exports_status: str = pa.Field(nullable=True)
    imports_cif_usd: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_TRADE_USD})
    imports_status: str = pa.Field(nullable=True)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=["country", "aggregate", "unresolved"])
    in_universe: bool

    class Config:
        unique = ["partner_imf_code", "year"]
