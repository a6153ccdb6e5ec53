"""Contracts for ForeignAssistance.gov files: the country summary and the activity-level ("complete") layout.

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, transaction type lists, fiscal years 1946..this year + 5, fiscal period, amounts
  within +-1e12 (a unit error beyond), constant-dollar base year, (country, type, year, period) unique.
- plausibility: none.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa

TRANSACTION_TYPES = [
    "Appropriated and Planned",
    "Obligations",
    "Disbursements",
    "President's Budget Requests",
    "Initial Allocations",
]
TRANSACTION_TYPE_IDS = [1, 2, 3, 18, 19]
# FY1946 is the first year of US foreign assistance reporting; budget requests reach a few years ahead.
FIRST_FISCAL_YEAR = 1946
LAST_FISCAL_YEAR = date.today().year + 5
# No single country-year line comes near this; a value above it is a unit or parsing error.
ABSURD_AMOUNT_USD = 1e12
FISCAL_PERIODS = ["FY", "TQ"]  # TQ = the July–September 1976 transition quarter
ENTITY_KINDS = ["country", "aggregate", "unresolved"]


class _CountryMapped(pa.DataFrameModel):
    source_row: int = pa.Field(ge=1, unique=True)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=ENTITY_KINDS)
    in_universe: bool


class UsForeignAidSummary(_CountryMapped):
    """`us_foreign_aid_country.csv`: one row per country (or region) x transaction type x fiscal year."""

    country_code: str
    country_name: str
    region_id: int = pa.Field(nullable=True)
    region_name: str = pa.Field(nullable=True)
    income_group_acronym: str = pa.Field(nullable=True)
    transaction_type_id: int = pa.Field(isin=TRANSACTION_TYPE_IDS)
    transaction_type: str = pa.Field(isin=TRANSACTION_TYPES)
    fiscal_year_label: str
    fiscal_year: int = pa.Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    fiscal_period: str = pa.Field(isin=FISCAL_PERIODS)
    current_amount_usd: int = pa.Field(
        nullable=True, in_range={"min_value": -ABSURD_AMOUNT_USD, "max_value": ABSURD_AMOUNT_USD}
    )
    constant_amount_usd: int = pa.Field(
        nullable=True, in_range={"min_value": -ABSURD_AMOUNT_USD, "max_value": ABSURD_AMOUNT_USD}
    )
    constant_usd_base_year: int = pa.Field(ge=1990, le=LAST_FISCAL_YEAR)

    class Config:
        # The publisher writes the code `NULL` for several former entities (Berlin, West; Vietnam, former South; ...):
        # the name completes the key.
        unique = ["country_code", "country_name", "transaction_type", "fiscal_year", "fiscal_period"]


class UsForeignAidActivity(_CountryMapped):
    """Activity-level ("complete") layout: 51 columns, one row per activity x transaction x fiscal year.

    Only the columns the warehouse uses are typed and required; the remaining columns land as text.
    """

    country_code: str
    country_name: str
    managing_agency_acronym: str = pa.Field(nullable=True)
    us_category_name: str = pa.Field(nullable=True)
    us_sector_name: str = pa.Field(nullable=True)
    funding_account_id: str = pa.Field(nullable=True)
    funding_account_name: str = pa.Field(nullable=True)
    foreign_assistance_objective_name: str = pa.Field(isin=["Economic", "Military"])
    activity_id: str = pa.Field(nullable=True)
    transaction_type_id: int = pa.Field(isin=TRANSACTION_TYPE_IDS)
    transaction_type: str = pa.Field(isin=TRANSACTION_TYPES)
    fiscal_year_label: str
    fiscal_year: int = pa.Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    fiscal_period: str = pa.Field(isin=FISCAL_PERIODS)
    current_amount_usd: int = pa.Field(
        nullable=True, in_range={"min_value": -ABSURD_AMOUNT_USD, "max_value": ABSURD_AMOUNT_USD}
    )
    constant_amount_usd: int = pa.Field(
        nullable=True, in_range={"min_value": -ABSURD_AMOUNT_USD, "max_value": ABSURD_AMOUNT_USD}
    )
    constant_usd_base_year: int = pa.Field(ge=1990, le=LAST_FISCAL_YEAR)
