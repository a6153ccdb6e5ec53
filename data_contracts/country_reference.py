"""Contracts for the country reference files (datasets/country-codes and World Bank country metadata).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: every rule (codes unique and well-formed: this file is the reference itself).
- plausibility: none.
"""

from __future__ import annotations

import pandera.polars as pa


class CountryCodes(pa.DataFrameModel):
    """ISO 3166 / UN M49 reference, one row per country or territory."""

    source_row: int = pa.Field(ge=1, unique=True)
    iso3: str = pa.Field(unique=True, str_matches=r"^[A-Z]{3}$")
    iso2: str = pa.Field(nullable=True, str_matches=r"^[A-Z]{2}$")
    m49: str = pa.Field(str_matches=r"^\d{3}$")
    country_name: str
    official_name: str = pa.Field(nullable=True)
    region_name: str = pa.Field(nullable=True)
    subregion: str = pa.Field(nullable=True)
    intermediate_region: str = pa.Field(nullable=True)
    is_independent: str = pa.Field(nullable=True)


class WorldBankCountryMetadata(pa.DataFrameModel):
    """World Bank region and income group per economy; aggregates have no region."""

    source_row: int = pa.Field(ge=1, unique=True)
    code: str = pa.Field(unique=True, str_matches=r"^[A-Z0-9]{3}$")
    wb_region: str = pa.Field(nullable=True)
    wb_income_group: str = pa.Field(
        nullable=True,
        isin=["Low income", "Lower middle income", "Upper middle income", "High income"],
    )
    special_notes: str = pa.Field(nullable=True)
    table_name: str
