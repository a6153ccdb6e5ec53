"""Contracts for DESTA's dyadic list of trade agreements (US dyads) and the in-force date corrections."""

from __future__ import annotations

from datetime import date

import pandera.polars as pa

# DESTA covers agreements signed since 1948; nothing can be in force after the current year.
FIRST_YEAR = 1945
LAST_YEAR = date.today().year


class TradeAgreementsDesta(pa.DataFrameModel):
    """One row per US dyad (partner x treaty) of the DESTA list; entry_force_year NULL = never in force."""

    source_row: int = pa.Field(ge=1, unique=True)
    partner_name: str
    partner_numeric: str = pa.Field(str_matches=r"^[0-9]{3}$")
    us_name: str = pa.Field(isin=["United States"])
    desta_id: int = pa.Field(ge=1)
    treaty_number: str
    agreement: str
    entry_type: str
    consolidated: int = pa.Field(isin=[0, 1])
    signed_year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    entry_force_year: int = pa.Field(nullable=True, ge=FIRST_YEAR, le=LAST_YEAR)
    language: str = pa.Field(nullable=True)
    type_membership: int = pa.Field(isin=[1, 2, 3])
    region_scope: str = pa.Field(nullable=True)
    wto_listed: int = pa.Field(isin=[0, 1])
    wto_name: str = pa.Field(nullable=True)
    iso3: str = pa.Field(str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=["country"])
    in_universe: bool


class TradeAgreementCorrections(pa.DataFrameModel):
    """One row per partner x agreement whose DESTA in-force year is replaced by a cited date."""

    source_row: int = pa.Field(ge=1, unique=True)
    iso3: str = pa.Field(str_matches=r"^[A-Z]{3}$")
    agreement: str
    desta_entry_force_year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    in_force_date: str = pa.Field(str_matches=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
    citation: str = pa.Field(str_length={"min_value": 10})

    class Config:
        unique = ["iso3", "agreement"]
