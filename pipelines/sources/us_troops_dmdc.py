"""US military personnel by host country: DMDC reports as compiled by the troopdata project (one row per report).

Quirks handled (see data/snapshots/us_troops_dmdc/SOURCE.md):
- Missing values are the literal string `NA` (counts, `region`, `iso3c`, `Macro Location`): read as NULL, never zero.
- SOURCE.md says "no quoting", but names holding a comma are quoted (`"BAHAMAS, THE"`, `"Virgin Islands, U.s."`):
  the file is read with a real CSV reader, never split on commas.
- `iso3c` is `NA` on some older rows (Colombia/`Columbia`, `Costa Rico`, Suriname, Panama/Canal Zone): countries are
  resolved from `countryname` through the crosswalk, and `iso3c`, where given, must agree with the result.
- Scrape spelling variants (`Antigua`, `Aruba Bwi`, `Turks Island`, `U. S. Virgin Islands`, `Trinidad & Tobago`)
  resolve through data/reference/country_aliases.csv; an unknown name fails the load.
- Several reports per year from 2013 on (quarterly): every report lands in raw; the mart picks one per year.
- Three one-row USA reports (December 2022, March 2023, June 2023) carry `Grand Total` 0 next to >1.1 million
  active duty: a placeholder, not a count, so it becomes NULL.
- Guantanamo personnel are reported under Cuba; Puerto Rico is separate from the USA; the USA rows are domestic.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce, row_failure
from data_contracts.us_troops_dmdc import KEY, MONTHS, UsTroopsDmdc
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, read_text_csv, snake_case

SOURCE = "us_troops_dmdc"
NA_MARKER = "NA"
RENAMES = {
    "ccode": "cow_code",
    "countryname": "country_name",
    "source": "report_label",
    "iso3c": "source_iso3",
}


def consistency_failures(frame: pl.DataFrame) -> list[Failure]:
    """Cross-column rules pandera column checks cannot express. Runs on the text columns, before typing,
    so that these are reported together with any type or range failure."""
    if not {"report_label", "month", "year", "quarter", "source_iso3"} <= set(frame.columns):
        return []  # enforce() names the missing column
    failures = [
        row_failure(
            frame,
            pl.col("report_label") != pl.concat_str("month", pl.lit(" "), "year"),
            "report_label",
            "equals '<month> <year>' of the row",
        ),
        row_failure(
            frame,
            pl.col("quarter").cast(pl.Int64, strict=False) != (pl.col("report_month") + 2) // 3,
            "quarter",
            "is the calendar quarter of month",
        ),
        # Structural inside the universe (the marts read it); outside it the full file really repeats a location
        # (Zimbabwe, September 2013, twice with different counts): a plausibility flag there (contract).
        row_failure(
            frame,
            pl.struct(KEY).is_duplicated() & pl.col("in_universe"),
            "report_label",
            "one row per location and report (countries of the universe)",
            shown=pl.concat_str("country_name", pl.lit(" / "), "location", pl.lit(" "), "report_label"),
        ),
    ]
    return [f for f in failures if f is not None]


def parse(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path, null_values=[NA_MARKER])
    tidy = raw.rename({c: snake_case(c) for c in raw.columns if c != "source_row"}).rename(RENAMES)
    # Month names sort the reports within a year; an unknown name stays null and fails the contract below.
    tidy = tidy.with_columns(
        report_month=pl.col("month").replace_strict(
            {m: i for i, m in enumerate(MONTHS, start=1)}, default=None, return_dtype=pl.Int64
        )
    )
    mapped = attach_iso3(
        tidy,
        SOURCE,
        code_col="cow_code",
        name_col="country_name",
        code_system="cown",
        region_col="region" if "region" in tidy.columns else None,
    )
    failures = consistency_failures(mapped)
    try:
        typed = enforce(mapped, UsTroopsDmdc, source=SOURCE, file=path.name)
    except ContractViolation as violation:
        raise ContractViolation(SOURCE, path.name, violation.failures + failures) from None
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)
    components = pl.sum_horizontal("total_active_duty", "total_selected_reserve", "total_civilian")
    return typed.with_columns(
        grand_total=pl.when((pl.col("grand_total") == 0) & (components > 0)).then(None).otherwise(pl.col("grand_total"))
    )


US_TROOPS = RawTable(
    name="us_troops_dmdc",
    source=SOURCE,
    cadence="quarterly",
    snapshot="us_troops_dmdc",
    default_file="troopdata-rebuild-reports_LAC_USA.csv",
    vintage="troopdata rebuild reports @ 00c0deb (file changed 2026-04-14): DMDC reports June 1950 - December 2025",
    parse=parse,
    description=(
        "DMDC military (and from 2008 reserve/civilian) personnel by host country, one row per country x report."
    ),
)

RAW_TABLES = (US_TROOPS,)
