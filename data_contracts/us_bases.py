"""Contract for the US overseas sites list (David Vine / troopdata `basedata.csv` layout).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, COW code >= 1, lat/lon ranges, `source_row` unique; in the parser: the file's iso3c
  equals the resolved ISO3, a site is flagged as something, (country, coordinates) unique.
- plausibility: none.
"""

from __future__ import annotations

import pandera.polars as pa


class UsBases(pa.DataFrameModel):
    """One row per site. The three kind flags are 0/1 in the file and booleans here."""

    source_row: int = pa.Field(ge=1, unique=True)
    country_name: str
    cow_code: int = pa.Field(ge=1)  # Correlates of War country code
    source_iso3: str = pa.Field(str_length={"min_value": 3, "max_value": 3})
    site_name: str = pa.Field(nullable=True)  # `NA` in the file: the list gives coordinates but no name
    lat: float = pa.Field(ge=-90, le=90)
    lon: float = pa.Field(ge=-180, le=180)
    is_base: bool
    is_lilypad: bool
    is_funded_site: bool
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})  # NULL: unresolved, outside
    entity_kind: str = pa.Field(isin=["country", "unresolved"])
    in_universe: bool
    # Key: a site is listed once per (country, name, lat, lon). Checked by the parser (pipelines/sources/us_bases.py),
    # whose message names the duplicated site and its rows; pandera's Config.unique would print whole rows instead.


KEY = ["source_iso3", "site_name", "lat", "lon"]
