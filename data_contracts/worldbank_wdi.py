"""Contracts for World Bank WDI / WGI bulk downloads: API_ CSVs (wide, then long), indicator metadata, API v2 JSON.

The API_ CSV is checked twice: wide, as published, so that a bad cell is reported under its own year column
(`column '1999' failed type Float64: value(s) 'n/a' at row(s) 12`), then long, for keys, years and ranges.

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, ISO3-like codes, indicator codes, years in range, (country, indicator, year) unique.
- plausibility: none.
"""

from __future__ import annotations

import functools
from datetime import date

import pandera.polars as pa
import polars as pl
from pandera.polars import PolarsData

FIRST_YEAR = 1960  # WDI series start in 1960
LAST_YEAR = date.today().year
# Loose sanity bound only: world GDP in current US$ is ~1e14; anything beyond 1e16 (or NaN/inf) is corruption.
ABSURD_VALUE = 1e16
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
WB_CODE = r"^[A-Z0-9]{3}$"  # ISO3 for economies, WB codes (LCN, TLA, XKX, ...) otherwise
INDICATOR_CODE = r"^[A-Z0-9_]+(\.[A-Z0-9_]+)+$"  # e.g. SP.POP.TOTL, VC.IHR.PSRC.P5
DIALECTS = ["quoted_preamble", "unquoted_preamble", "no_preamble"]
# Plausible ranges of the bundled indicators (others: only ABSURD_VALUE). A value outside is a corrupted cell:
# homicides above 1000 per 100,000 people (the worst national rate ever published is ~140), a negative population,
# military spending above 100% of GDP, governance estimates far outside their about -2.5 .. 2.5 scale.
PLAUSIBLE_RANGE = {
    "VC.IHR.PSRC.P5": (0.0, 1000.0),
    "SP.POP.TOTL": (0.0, 1e10),
    "NY.GDP.MKTP.CD": (0.0, ABSURD_VALUE),
    "MS.MIL.MPRT.KD": (0.0, ABSURD_VALUE),
    "MS.MIL.XPND.GD.ZS": (0.0, 100.0),
    "CC.EST": (-5.0, 5.0),
    "PV.EST": (-5.0, 5.0),
    "RL.EST": (-5.0, 5.0),
}
ENTITY_KINDS = ["country", "aggregate"]


class WdiWideRow(pa.DataFrameModel):
    """One API_ CSV as published: one row per economy; the year columns are added per file by `wide_model`."""

    source_row: int = pa.Field(ge=1, unique=True)
    country_name: str
    country_code: str = pa.Field(str_matches=WB_CODE)
    indicator_name: str
    indicator_code: str = pa.Field(str_matches=INDICATOR_CODE)

    class Config:
        unique = ["country_code", "indicator_code"]


def wide_model(year_columns: list[str]) -> type[WdiWideRow]:
    """WdiWideRow plus one nullable float column per year header ('1960' ... '2025') of this file."""
    return _wide_model(tuple(year_columns))


@functools.lru_cache(maxsize=32)
def _wide_model(year_columns: tuple[str, ...]) -> type[WdiWideRow]:
    # One class per set of year headers: files of one release share it, and pandera builds its schema once.
    namespace: dict = {"__annotations__": {f"y{y}": float for y in year_columns}}
    namespace.update({f"y{y}": pa.Field(alias=y, nullable=True) for y in year_columns})
    return type(f"WdiWide_{year_columns[0]}_{year_columns[-1]}", (WdiWideRow,), namespace)


class WorldbankWdiCell(pa.DataFrameModel):
    """Long form of every API_ CSV in the folder: one row per economy x year cell.

    value NULL = blank cell (not available).
    """

    file: str
    source_row: int = pa.Field(ge=1)  # data-record number in `file` (1 = first line after the header)
    country_name: str
    country_code: str = pa.Field(str_matches=WB_CODE)
    indicator_code: str = pa.Field(str_matches=INDICATOR_CODE)
    indicator_name: str
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    value: float = pa.Field(nullable=True, in_range={"min_value": -ABSURD_VALUE, "max_value": ABSURD_VALUE})
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=ENTITY_KINDS)
    in_universe: bool
    dialect: str = pa.Field(isin=DIALECTS)
    data_source: str = pa.Field(nullable=True)  # preamble "Data Source"; NULL when the file has no preamble
    last_updated: str = pa.Field(nullable=True, str_matches=ISO_DATE)  # preamble "Last Updated Date"
    file_vintage: str  # what is known of the file's release (preamble date, or SOURCE.md for bundled files)
    vintage_date: str = pa.Field(nullable=True, str_matches=ISO_DATE)  # orders releases of one indicator
    file_sha256: str = pa.Field(str_length={"min_value": 64, "max_value": 64})

    class Config:
        unique = ["file", "country_code", "indicator_code", "year"]

    @pa.check("value", name="value within the plausible range of its indicator (e.g. homicides 0..1000 per 100k)")
    def value_plausible_for_indicator(cls, data: PolarsData) -> pl.LazyFrame:
        low = pl.col("indicator_code").replace_strict(
            {k: v[0] for k, v in PLAUSIBLE_RANGE.items()}, default=-ABSURD_VALUE, return_dtype=pl.Float64
        )
        high = pl.col("indicator_code").replace_strict(
            {k: v[1] for k, v in PLAUSIBLE_RANGE.items()}, default=ABSURD_VALUE, return_dtype=pl.Float64
        )
        return data.lazyframe.select(pl.col("value").is_null() | pl.col("value").is_between(low, high))


class WorldbankWdiIndicatorMetadata(pa.DataFrameModel):
    """Metadata_Indicator_*.csv: one row per indicator per file."""

    file: str
    source_row: int = pa.Field(ge=1)
    indicator_code: str = pa.Field(str_matches=INDICATOR_CODE)
    indicator_name: str
    source_note: str = pa.Field(nullable=True)
    source_organization: str = pa.Field(nullable=True)

    class Config:
        unique = ["file", "indicator_code"]


class WorldbankWdiJson(pa.DataFrameModel):
    """API v2 JSON records: one row per economy x year. value NULL = the API's `null` (not available)."""

    file: str
    source_row: int = pa.Field(ge=1)  # 1-based position in the file's rows array
    country_code: str = pa.Field(str_matches=WB_CODE)  # countryiso3code
    country_iso2: str = pa.Field(nullable=True)
    country_name: str
    indicator_code: str = pa.Field(str_matches=INDICATOR_CODE)
    indicator_name: str
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    value: float = pa.Field(nullable=True, in_range={"min_value": -ABSURD_VALUE, "max_value": ABSURD_VALUE})
    unit: str = pa.Field(nullable=True)  # the API's `unit`, blank in WDI responses -> NULL
    obs_status: str = pa.Field(nullable=True)
    decimal: int = pa.Field(nullable=True, ge=0)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=ENTITY_KINDS)
    in_universe: bool
    api_source_id: str = pa.Field(nullable=True)
    last_updated: str = pa.Field(nullable=True, str_matches=ISO_DATE)
    file_vintage: str
    vintage_date: str = pa.Field(nullable=True, str_matches=ISO_DATE)
    file_sha256: str = pa.Field(str_length={"min_value": 64, "max_value": 64})

    class Config:
        unique = ["file", "country_code", "indicator_code", "year"]
