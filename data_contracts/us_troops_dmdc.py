"""Contract for the DMDC personnel reports as compiled by troopdata (`troopdata-rebuild-reports*.csv` layout).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, counts below 10 million (unit errors), dates in range; in the parser: report label /
  quarter consistent with month and year, one row per (country name, location) and report in the universe.
- plausibility: every head count >= 0 (net adjustments are published negative); the compiler's derived iso3c equals
  the ISO3 resolved from ccode and name (its Indo-China rows of 1954-55 carry CHN); one row per location and
  report outside the universe (the full file repeats Zimbabwe, September 2013).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pandera.polars as pa
import polars as pl

from data_contracts._base import Plausibility, plausible

# The compiled series starts with the June 1950 report; reports are published a few months after their date.
FIRST_YEAR = 1950
LAST_YEAR = date.today().year
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
# The whole US military plus reserves and civilians is under 3 million; a count above this is a parsing error.
ABSURD_PERSONS = 10_000_000


def _count(tolerable: str | None = None) -> Any:  # pa.Field's own return type, so `total: int = _count()` checks
    """A head-count column: whole persons, never negative; NULL (`NA` in the file) = not in that report.

    `tolerable`: a detail line no mart reads; an unparsable value there becomes NULL and its row goes to
    meta.quarantine (data_contracts/_base.py) instead of stopping the build.
    """
    metadata = {"tolerable": tolerable} if tolerable else None
    # Negative counts are published (net adjustments: Marine Corps afloat -332 in a 1960s report): the lower bound
    # is a plausibility rule (COUNT_RULES below); the upper bound catches unit and parsing errors.
    return pa.Field(nullable=True, le=ABSURD_PERSONS, metadata=metadata)


DETAIL_LINE = "Navy detail line of the 1950-2007 layout, read by no mart"


class UsTroopsDmdc(pa.DataFrameModel):
    """One row per host location x DMDC report. Counts are persons assigned there on the report date."""

    source_row: int = pa.Field(ge=1, unique=True)
    cow_code: int = pa.Field(ge=1)  # Correlates of War code; 1000+ are the compiler's ad hoc territory codes
    country_name: str
    region: str = pa.Field(nullable=True)
    year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    month: str = pa.Field(isin=MONTHS)
    report_month: int = pa.Field(ge=1, le=12)
    quarter: int = pa.Field(ge=1, le=4)
    report_label: str
    location: str
    source_iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    # Older report layout (1950-2007): military personnel ashore / afloat by service.
    total: int = _count()
    total_ashore: int = _count()
    total_afloat: int = _count()
    army_total: int = _count()
    navy_ashore: int = _count()
    navy_temporary_ashore: int = _count(tolerable=DETAIL_LINE)
    navy_other: int = _count(tolerable=DETAIL_LINE)
    marine_corps_ashore: int = _count()
    marine_corps_afloat: int = _count()
    air_force_total: int = _count()
    navy_afloat: int = _count()
    navy_total: int = _count()
    marine_corps_total: int = _count()
    # The compiler's harmonised active-duty totals, filled for every report.
    troops_ad: int = _count()
    army_ad: int = _count()
    navy_ad: int = _count()
    marine_corps_ad: int = _count()
    air_force_ad: int = _count()
    coast_guard_ad: int = _count()
    space_force_ad: int = _count()
    macro_location: str = pa.Field(nullable=True)
    # 2008+ report layout: active duty, selected reserve and DoD civilians.
    army_active_duty: int = _count()
    navy_active_duty: int = _count()
    marine_corps_active_duty: int = _count()
    air_force_active_duty: int = _count()
    coast_guard_active_duty: int = _count()
    space_force_active_duty: int = _count()
    total_active_duty: int = _count()
    army_national_guard: int = _count()
    army_reserve: int = _count()
    navy_reserve: int = _count()
    marine_corps_reserve: int = _count()
    air_national_guard: int = _count()
    air_force_reserve: int = _count()
    coast_guard_reserve: int = _count()
    total_selected_reserve: int = _count()
    army_civilian: int = _count()
    navy_civilian: int = _count()
    marine_corps_civilian: int = _count()
    air_force_civilian: int = _count()
    dod_civilian: int = _count()
    total_civilian: int = _count()
    grand_total: int = _count()
    # Every DMDC location is a country or territory (Guantanamo is reported under Cuba).
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})  # NULL: unresolved, outside
    # Multi-territory lines of the full file (British West Indies, Leeward Islands) are aggregates.
    entity_kind: str = pa.Field(isin=["country", "aggregate", "unresolved"])
    in_universe: bool
    # Key: one row per (country name, location, report_label); several may share one ISO3 (Easter Island and Chile;
    # the mart adds them up). Checked by the parser (pipelines/sources/us_troops_dmdc.py), whose message names the
    # duplicated key and its rows; pandera's Config.unique would print whole rows instead.


COUNT_COLUMNS = [
    name
    for name, field in UsTroopsDmdc.to_schema().columns.items()
    if field.dtype.type == pl.Int64 and name not in {"source_row", "cow_code", "year", "report_month", "quarter"}
]
KEY = ["iso3", "country_name", "location", "report_label"]
plausible(
    Plausibility(
        "one row per location and report (outside the universe)",
        "report_label",
        pl.struct(KEY).is_duplicated() & ~pl.col("in_universe"),
    ),
    *[Plausibility(f"{c} >= 0 (a head count)", c, pl.col(c) < 0) for c in COUNT_COLUMNS],
    Plausibility(
        "source_iso3 (the compiler's derived iso3c) equals the ISO3 resolved from ccode and name",
        "source_iso3",
        pl.col("source_iso3").is_not_null() & (pl.col("source_iso3") != pl.col("iso3")),
    ),
)(UsTroopsDmdc)
