"""Contracts for the SIPRI Arms Transfers Database exports: the trade register and the TIV import/export tables.

Rule classes (data_contracts/_base.py):
- structural (block the build): every column's type and nullability, `source_row` unique, years within
  1900/1950..this year, `isin` lists (status, `?` flags, TIV cell status), the absurd-size ranges (unit errors),
  delivery-years pattern, delivery years listed exactly when something was delivered, TIV cells null exactly when
  blank, TIV year cells adding up to the row total (a shifted or corrupted cell), (country, year) unique;
- plausibility (WARN, rows kept): number_delivered <= number_ordered, first delivery year >= order year.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl

from data_contracts._base import ENTITY_KINDS, Plausibility, plausible

LAST_YEAR = date.today().year
# Orders in the register go back to the 1940s (deliveries from 1950 on); nothing predates 1900.
FIRST_ORDER_YEAR = 1900
# The SIPRI database covers deliveries from 1950.
FIRST_DELIVERY_YEAR = 1950
STATUSES = ["New", "Second hand", "Second hand but modernized"]
TIV_CELL_STATUSES = ["reported", "below_half_mn", "no_deliveries", "not_compiled"]
# Largest single deal is a few thousand TIV millions; the world's yearly total is under 50,000.
ABSURD_DEAL_TIV = 1e5
ABSURD_YEAR_TIV = 1e5
ABSURD_RANGE_TIV = 1e7
ABSURD_UNITS = 1e6
DELIVERY_YEARS_PATTERN = r"^\d{4}(; \d{4})*$"


# Plausibility (rows kept, flagged in meta.plausibility_flags, WARN check): SIPRI really publishes deals with
# 0 ordered and some delivered (Brazil / United Kingdom 2012 air refuel system; Peru / France 1976 PR-72P).
@plausible(
    Plausibility(
        "number_delivered <= number_ordered", "number_delivered", pl.col("number_delivered") > pl.col("number_ordered")
    ),
    Plausibility(
        "first delivery year >= order year", "first_delivery_year", pl.col("first_delivery_year") < pl.col("order_year")
    ),
)
class SipriArmsRegister(pa.DataFrameModel):
    """One row per deal (register line). `*_flag` holds SIPRI's `?` (uncertain) or null."""

    source_row: int = pa.Field(ge=1, unique=True)
    recipient_name: str
    supplier_name: str
    order_year: int = pa.Field(ge=FIRST_ORDER_YEAR, le=LAST_YEAR)
    order_year_flag: str = pa.Field(nullable=True, isin=["?"])
    number_ordered: int = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_UNITS})
    number_ordered_flag: str = pa.Field(nullable=True, isin=["?"])
    weapon_designation: str
    weapon_description: str
    number_delivered: int = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_UNITS})
    number_delivered_flag: str = pa.Field(nullable=True, isin=["?"])
    delivery_years: str = pa.Field(nullable=True, str_matches=DELIVERY_YEARS_PATTERN)
    first_delivery_year: int = pa.Field(nullable=True, ge=FIRST_DELIVERY_YEAR, le=LAST_YEAR)
    last_delivery_year: int = pa.Field(nullable=True, ge=FIRST_DELIVERY_YEAR, le=LAST_YEAR)
    status: str = pa.Field(isin=STATUSES)
    comments: str = pa.Field(nullable=True)
    tiv_per_unit_mn: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_DEAL_TIV})
    tiv_order_mn: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_DEAL_TIV})
    tiv_delivered_mn: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_DEAL_TIV})
    data_generated: str = pa.Field(nullable=True)
    recipient_iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    recipient_entity_kind: str = pa.Field(isin=list(ENTITY_KINDS))
    recipient_in_universe: bool
    recipient_host_iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    supplier_iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    supplier_entity_kind: str = pa.Field(isin=list(ENTITY_KINDS))
    supplier_in_universe: bool

    @pa.dataframe_check(name="delivery years listed exactly when something was delivered (number_delivered > 0)")
    def years_iff_delivered(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            (pl.col("number_delivered").fill_null(0) > 0) == pl.col("delivery_years").is_not_null()
        )


class SipriTivTable(pa.DataFrameModel):
    """TIV import or export table in long form: one row per table row (country/actor/total) x year column."""

    source_row: int = pa.Field(ge=1)
    country_name: str
    year: int = pa.Field(ge=FIRST_DELIVERY_YEAR, le=LAST_YEAR)
    tiv_mn: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_YEAR_TIV})
    cell_status: str = pa.Field(isin=TIV_CELL_STATUSES)
    range_total_tiv_mn: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_RANGE_TIV})
    range_share_pct: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 100})
    sum_total_years_tiv_mn: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_RANGE_TIV})
    share_of_total_pct: float = pa.Field(nullable=True, in_range={"min_value": 0, "max_value": 100})
    data_generated: str = pa.Field(nullable=True)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=list(ENTITY_KINDS))
    in_universe: bool

    class Config:
        unique = ["country_name", "year"]

    @pa.dataframe_check(name="tiv_mn is null exactly for blank cells (no_deliveries / not_compiled)")
    def null_iff_blank(cls, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("tiv_mn").is_null() == pl.col("cell_status").is_in(["no_deliveries", "not_compiled"])
        )

    @pa.dataframe_check(
        name="year cells add up to the row's range total within rounding (0.5 per non-blank cell + 0.5)"
    )
    def years_add_up(cls, data: pa.PolarsData) -> pl.LazyFrame:
        # Every published cell is rounded to a whole million, and so is the total: a larger gap means a
        # shifted or corrupted cell, not rounding.
        gap = (pl.col("tiv_mn").sum().over("source_row") - pl.col("range_total_tiv_mn")).abs()
        tolerance = 0.5 * pl.col("tiv_mn").is_not_null().sum().over("source_row") + 0.5
        return data.lazyframe.select((gap <= tolerance).fill_null(True))
