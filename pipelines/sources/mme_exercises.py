"""Multinational Military Exercises (MME v7, D'Orazio & Galambos via troopdata), Latin America & Caribbean extract.

One file feeds two raw tables: `mme_exercises` (one row per exercise) and `mme_exercise_participants`
(one row per exercise x named participant cell), so that participant names go through the crosswalk
(attach_iso3) in Python and an unknown name fails the load.

Quirks handled (see data/snapshots/mme_exercises/SOURCE.md):
- Participants sit in wide columns StateA ... StateAM (found by pattern, so a file with more or fewer works);
  empty cells mean "no further participant" and are dropped when unpivoting.
- Names use `&` (`Trinidad & Tobago`) and `St.`: the shared name normaliser folds both; the lower-case alias
  `st. christopher` (= Saint Kitts and Nevis) and MME's short names for a few non-LAC states are aliases.
- `-9` is MME's missing-value code: in text columns (Ex_Name, Location, ...) it becomes NULL; in a participant
  column it means "further participants not identified" and sets `has_unidentified_participant` on the
  exercise instead of becoming a participant row.
- Dates are written `M/D/YY` or `YYYY-MM-xx` (`xx` = unknown part). The coders' parsed parts
  (s.year, s.month, s.day, ...) are taken as the values (they resolve the two-digit century), `xx` -> NULL, and
  the written date must agree with them; an unrecognised or disagreeing date fails the contract.
- One exercise ends before it starts (mme3156, 8/29/08 -> 8/22/08): dates kept as published, `end_before_start` set.
- The same state can be listed twice in one exercise (`Dominica` twice; `st. christopher` next to
  `St. Kitts & Nevis`): rows are kept, and `repeated_in_exercise` marks the later ones so counts use distinct.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from data_contracts._base import MAX_EXAMPLES, ContractViolation, Failure, enforce
from data_contracts.mme_exercises import MmeExerciseParticipants, MmeExercises
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, read_text_csv

SOURCE = "mme_exercises"
MISSING_CODE = "-9"
UNKNOWN_PART = "xx"
STATE_COLUMN = re.compile(r"^State([A-Z]{1,2})$")

RENAMES = {
    "MMEID": "mmeid",
    "Ex_Name": "exercise_name",
    "Series_Name": "series_name",
    "Location": "location",
    "lat": "lat",
    "lon": "lon",
    "StartDate": "start_date_text",
    "s.year": "start_year",
    "s.month": "start_month",
    "s.day": "start_day",
    "EndDate": "end_date_text",
    "e.year": "end_year",
    "e.month": "end_month",
    "e.day": "end_day",
    "CPX": "is_cpx",
    "Air": "is_air",
    "Land": "is_land",
    "Sea": "is_sea",
    "Amphibious": "is_amphibious",
    "Cyber": "is_cyber",
    "Warfighting": "is_warfighting",
    "Peacekeeping": "is_peacekeeping",
    "Humanitarian": "is_humanitarian",
    "FocusDescription": "focus_description",
    "AdditionalParticipantInfo": "additional_participant_info",
}
# Free-text columns where `-9` is the missing code (not lat/lon: -9.0 is a real coordinate).
TEXT_COLUMNS = ["exercise_name", "series_name", "location", "focus_description", "additional_participant_info"]
PART_COLUMNS = [f"{side}_{part}" for side in ("start", "end") for part in ("year", "month", "day")]


def _state_columns(columns: list[str]) -> list[str]:
    return [c for c in columns if STATE_COLUMN.match(c)]


def _read(path: Path) -> pl.DataFrame:
    """The file as text, renamed, with `-9` and `xx` turned into NULL; participant columns left wide."""
    raw = read_text_csv(path)
    states = _state_columns(raw.columns)
    missing = [c for c in RENAMES if c not in raw.columns]
    if missing or not states:
        raise ContractViolation(
            SOURCE,
            path.name,
            [
                Failure(
                    ", ".join(missing) or "StateA...",
                    "required column present",
                    values=[f"found columns: {raw.columns}"],
                )
            ],
        )
    return raw.rename(RENAMES).with_columns(
        [pl.col(c).str.strip_chars().replace(MISSING_CODE, None) for c in TEXT_COLUMNS]
        + [pl.col(c).str.strip_chars().replace(UNKNOWN_PART, None) for c in PART_COLUMNS]
        + [pl.col(c).str.strip_chars().replace("", None) for c in states]
    )


def _failure(frame: pl.DataFrame, mask: pl.Expr, column: str, check: str, shown: pl.Expr) -> list[Failure]:
    bad = frame.filter(mask.fill_null(False))
    if bad.is_empty():
        return []
    return [
        Failure(
            column,
            check,
            values=bad.select(shown.alias("v"))["v"].head(MAX_EXAMPLES).to_list(),
            rows=bad["source_row"].head(MAX_EXAMPLES).to_list(),
            count=bad.height,
        )
    ]


def _parse_dates(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[Failure]]:
    """Check each written date against the coders' parts and build a Date where all parts are known."""
    failures: list[Failure] = []
    for side, header in (("start", "StartDate"), ("end", "EndDate")):
        text = pl.col(f"{side}_date_text").str.strip_chars()
        mdy = text.str.extract_groups(r"^(\d{1,2})/(\d{1,2})/(\d{2})$")
        iso = text.str.extract_groups(r"^(\d{4})-(\d{1,2}|xx)-(\d{1,2}|xx)$")
        is_mdy = mdy.struct.field("1").is_not_null()
        is_iso = iso.struct.field("1").is_not_null()

        def as_int(expr: pl.Expr) -> pl.Expr:
            return expr.replace(UNKNOWN_PART, None).cast(pl.Int64, strict=False)

        year, month, day = (pl.col(f"{side}_{p}").cast(pl.Int64, strict=False) for p in ("year", "month", "day"))
        text_month = pl.when(is_mdy).then(as_int(mdy.struct.field("1"))).otherwise(as_int(iso.struct.field("2")))
        text_day = pl.when(is_mdy).then(as_int(mdy.struct.field("2"))).otherwise(as_int(iso.struct.field("3")))
        # M/D/YY carries only the last two digits of the year: the coders' s.year/e.year supplies the century.
        year_agrees = (
            pl.when(is_mdy)
            .then(as_int(mdy.struct.field("3")) == year % 100)
            .otherwise(as_int(iso.struct.field("1")) == year)
        )
        agrees = year_agrees & text_month.eq_missing(month) & text_day.eq_missing(day)
        parts_typed = year.is_not_null() | pl.col(f"{side}_year").is_null()
        failures += _failure(
            frame,
            text.is_null() | ~(is_mdy | is_iso),
            f"{side}_date_text",
            f"format M/D/YY or YYYY-MM-DD with xx for an unknown part (file column {header})",
            text,
        )
        shown = pl.format(
            "{} vs parts {}-{}-{}", text, *(pl.col(f"{side}_{p}").fill_null("xx") for p in ("year", "month", "day"))
        )
        failures += _failure(
            frame,
            (is_mdy | is_iso) & parts_typed & ~agrees,
            f"{side}_date_text",
            f"agrees with its parsed parts ({header} vs {side[0]}.year/{side[0]}.month/{side[0]}.day)",
            shown,
        )
        full = pl.format("{}-{}-{}", year, month, day).str.to_date("%Y-%m-%d", strict=False)
        known = year.is_not_null() & month.is_not_null() & day.is_not_null()
        failures += _failure(frame, known & full.is_null(), f"{side}_date_text", "is a real calendar date", text)
        frame = frame.with_columns(full.alias(f"{side}_date"))
    # A coder slip exists (mme3156: 8/29/08 -> 8/22/08): keep the published dates and flag the row; only an end
    # *year* before the start year fails, since that would move the exercise between years.
    failures += _failure(
        frame,
        pl.col("end_year").cast(pl.Int64, strict=False) < pl.col("start_year").cast(pl.Int64, strict=False),
        "end_year",
        "is not before start_year",
        pl.format("{} -> {}", pl.col("start_date_text"), pl.col("end_date_text")),
    )
    frame = frame.with_columns(end_before_start=(pl.col("end_date") < pl.col("start_date")).fill_null(False))
    return frame, failures


def _enforce(frame: pl.DataFrame, model, path: Path, extra: list[Failure]) -> pl.DataFrame:
    """Run the pandera contract and report its failures together with the parser's own checks."""
    ordered = list(model.to_schema().columns)
    frame = frame.select([c for c in ordered if c in frame.columns] + [c for c in frame.columns if c not in ordered])
    try:
        typed = enforce(frame, model, source=SOURCE, file=path.name)
    except ContractViolation as err:
        raise ContractViolation(SOURCE, path.name, err.failures + extra) from None
    if extra:
        raise ContractViolation(SOURCE, path.name, extra)
    return typed


def parse_exercises(path: Path) -> pl.DataFrame:
    wide = _read(path)
    states = _state_columns(wide.columns)
    wide = wide.with_columns(
        named_participant_cells=pl.sum_horizontal(
            [(pl.col(c).is_not_null() & (pl.col(c) != MISSING_CODE)).cast(pl.Int64) for c in states]
        ),
        has_unidentified_participant=pl.any_horizontal([pl.col(c) == MISSING_CODE for c in states]).fill_null(False),
    ).drop(states)
    wide, failures = _parse_dates(wide)
    return _enforce(wide, MmeExercises, path, failures)


def parse_participants(path: Path) -> pl.DataFrame:
    wide = _read(path)
    states = _state_columns(wide.columns)
    long = (
        wide.select("source_row", "mmeid", *states)
        .unpivot(
            index=["source_row", "mmeid"], on=states, variable_name="participant_slot", value_name="participant_name"
        )
        # Empty cells are padding after the last participant; `-9` is "others not identified" (flag on the exercise).
        .filter(pl.col("participant_name").is_not_null() & (pl.col("participant_name") != MISSING_CODE))
        .with_columns(
            participant_position=pl.col("participant_slot").replace_strict(
                {c: i for i, c in enumerate(states, start=1)}, return_dtype=pl.Int64
            )
        )
        .sort("source_row", "participant_position")
    )
    mapped = attach_iso3(long, SOURCE, name_col="participant_name")
    mapped = mapped.with_columns(
        # Same state listed again in the same exercise (also via another spelling): count it once.
        repeated_in_exercise=pl.int_range(pl.len()).over("mmeid", pl.coalesce("iso3", "participant_name")) > 0
    )
    return _enforce(mapped, MmeExerciseParticipants, path, [])


VINTAGE = "MME v7 via troopdata data-raw/mme_v7.csv (commit 788b3749, 2026-04-30), LAC extract, exercises 1980-2010"
EXERCISES = RawTable(
    name="mme_exercises",
    source=SOURCE,
    cadence="yearly",
    snapshot="mme_exercises",
    default_file="mme_v7_lac.csv",
    vintage=VINTAGE,
    parse=parse_exercises,
    description="MME v7: one row per multinational military exercise with a Latin American or Caribbean participant.",
)
PARTICIPANTS = RawTable(
    name="mme_exercise_participants",
    source=SOURCE,
    cadence="yearly",
    snapshot="mme_exercises",
    default_file="mme_v7_lac.csv",
    vintage=VINTAGE,
    parse=parse_participants,
    description="MME v7: one row per exercise x named participant (StateA...StateAM unpivoted), mapped to ISO3.",
    file_key="mme_exercises",  # the same publisher file: one HPW_MME_EXERCISES_PATH points both tables at it
)

RAW_TABLES = (EXERCISES, PARTICIPANTS)
