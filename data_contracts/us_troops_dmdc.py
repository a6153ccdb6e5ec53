"""Contract for the DMDC personnel reports as compiled by troopdata (`troopdata-rebuild-reports*.csv` layout).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, ranges of counts and dates; in the parser: report label / quarter consistent with
  month and year, the file's iso3c equals the resolved ISO3, one row per country and report.
- plausibility: none.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa

# The compiled series starts with the June 1950 report; reports are published a few months after their date.
FIRST_YEAR = 1950
LAST_YEAR = date.today().year
MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]
# The whole US military plus reserves and civilians is under 3 million; a count above this is a parsing error.
ABSURD_PERSONS = 10_000_000


def _count(tolerable: str | None = None) -> pa.Field:
    """A head-count column: whole persons, never negative; NULL (`NA` in the file) = not in that report.

    `tolerable`: a detail line no mart reads; an unparsable value there becomes NULL and its row goes to
    meta.quarantine (data_contracts/_base.py) instead of stopping the build.
    """
    metadata = {"tolerable": tolerable} if tolerable else None
    return pa.Field(nullable=True, in_range={"min_value": 0, "max_value": ABSURD_PERSONS}, metadata=metadata)


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
    entity_kind: str = pa.Field(isin=["country", "unresolved"])
    in_universe: bool
    # Key: one row per (iso3, report_label). Checked by the parser (pipelines/sources/us_troops_dmdc.py), whose
    # message names the duplicated key and its rows; pandera's Config.unique would print whole rows instead.

KEY = ["iso3", "report_label"]
