"""Contracts for the Multinational Military Exercises (MME v7) file: exercises (wide) and participants (long).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: columns, types, `mmeid` pattern, years in range, months 1-12, days 1-31, lat/lon ranges,
  participant slots.
- plausibility: none.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa

# MME v7 covers exercises from 1980 to 2016 (SOURCE.md); a year outside is a coding or parsing error.
FIRST_YEAR = 1980
LAST_YEAR = 2016
ENTITY_KINDS = ["country", "aggregate", "non_state", "organisation"]


class MmeExercises(pa.DataFrameModel):
    """One row per exercise. Unknown date parts (`xx`) and the `-9` missing code are NULL, never zero."""

    source_row: int = pa.Field(ge=1, unique=True)
    mmeid: str = pa.Field(str_matches=r"^mme\d+$")
    exercise_name: str = pa.Field(nullable=True)
    series_name: str = pa.Field(nullable=True)
    location: str = pa.Field(nullable=True)
    lat: float = pa.Field(nullable=True, in_range={"min_value": -90, "max_value": 90})
    lon: float = pa.Field(nullable=True, in_range={"min_value": -180, "max_value": 180})
    start_date_text: str
    start_year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    start_month: int = pa.Field(nullable=True, ge=1, le=12)
    start_day: int = pa.Field(nullable=True, ge=1, le=31)
    start_date: date = pa.Field(nullable=True)
    end_date_text: str
    end_year: int = pa.Field(ge=FIRST_YEAR, le=LAST_YEAR)
    end_month: int = pa.Field(nullable=True, ge=1, le=12)
    end_day: int = pa.Field(nullable=True, ge=1, le=31)
    end_date: date = pa.Field(nullable=True)
    end_before_start: bool  # True where both dates are known and the end precedes the start (a coder slip)
    is_cpx: bool
    is_air: bool
    is_land: bool
    is_sea: bool
    is_amphibious: bool
    is_cyber: bool
    is_warfighting: bool
    is_peacekeeping: bool
    is_humanitarian: bool
    focus_description: str = pa.Field(nullable=True)
    additional_participant_info: str = pa.Field(nullable=True)
    named_participant_cells: int = pa.Field(ge=0, le=39)
    has_unidentified_participant: bool

    class Config:
        unique = ["mmeid"]


class MmeExerciseParticipants(pa.DataFrameModel):
    """One row per exercise x named participant cell (StateA ... StateAM)."""

    source_row: int = pa.Field(ge=1)
    mmeid: str = pa.Field(str_matches=r"^mme\d+$")
    participant_slot: str = pa.Field(str_matches=r"^State[A-Z]{1,2}$")
    participant_position: int = pa.Field(ge=1, le=39)
    participant_name: str
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=ENTITY_KINDS)
    in_universe: bool
    repeated_in_exercise: bool

    class Config:
        unique = ["mmeid", "participant_slot"]
