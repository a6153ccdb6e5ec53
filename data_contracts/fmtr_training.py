"""Contracts for the Foreign Military Training Report courses (SFM XML and the FY2006 State Department page).

One row per course as printed. Numbers arrive as cleaned text (pipelines/sources/fmtr_training.py keeps the printed
cell beside them) and are cast here, so a cell that is not a number is reported with its column, value and row.
Blank stays NULL. A negative cost or a course with 0 trainees and a cost is implausible but printed so: such rows are
kept and flagged in `plausibility_issue`, never dropped or corrected.
"""

from __future__ import annotations

from datetime import date

import pandera.polars as pa
import polars as pl
from pandera.polars import PolarsData

FIRST_FISCAL_YEAR = 1999  # the first report (FY1999-2000)
LAST_FISCAL_YEAR = date.today().year
# Loose corruption bounds per course: the largest printed course costs are a few million US$ and a few thousand
# trainees (Section 1004 classes); a thousand times that is a broken cell, not a course.
MAX_COURSE_COST = 1e9
MAX_COURSE_TRAINEES = 1_000_000
ENTITY_KINDS = ["country", "aggregate"]
PROGRAM_GROUPS = [
    "imet",
    "fmf",
    "counter_drug",
    "ctfp",
    "incle",
    "pko_gpoi",
    "regional_centers",
    "dod_partner_capacity",
    "exchanges_academies",
    "combatant_command",
    "other",
]
PLAUSIBILITY_ISSUES = ["negative_cost", "zero_trainees_with_cost"]


class FmtrTrainingHtml(pa.DataFrameModel):
    """FY2006 page: one row per course row of the table (totals rows are not courses)."""

    file: str
    source_row: int = pa.Field(ge=1)  # <tr> number in the page (courses) / <training> number in the file (XML)
    report_fiscal_year: int = pa.Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    region: str
    country_name: str
    program_name: str  # as printed, with region / country / FY
    program: str  # the program label cut out of program_name
    program_group: str = pa.Field(isin=PROGRAM_GROUPS)
    fiscal_year: int = pa.Field(ge=FIRST_FISCAL_YEAR, le=LAST_FISCAL_YEAR)
    is_report_year: bool
    course_title: str = pa.Field(nullable=True)
    trainees_as_printed: str = pa.Field(nullable=True)
    trainees: int = pa.Field(nullable=True, ge=0, le=MAX_COURSE_TRAINEES)
    cost_as_printed: str = pa.Field(nullable=True)
    cost_usd: float = pa.Field(nullable=True, in_range={"min_value": -MAX_COURSE_COST, "max_value": MAX_COURSE_COST})
    value_spill: bool
    plausibility_issue: str = pa.Field(nullable=True, isin=PLAUSIBILITY_ISSUES)
    start_date: str = pa.Field(nullable=True)
    end_date: str = pa.Field(nullable=True)
    location: str = pa.Field(nullable=True)
    student_unit: str = pa.Field(nullable=True)
    us_unit: str = pa.Field(nullable=True)
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    entity_kind: str = pa.Field(isin=ENTITY_KINDS)
    in_universe: bool
    file_sha256: str = pa.Field(str_length={"min_value": 64, "max_value": 64})

    class Config:
        unique = ["file", "source_row"]

    @pa.dataframe_check(name="program FY is the report's first year or the next (two-year reports)")
    def fiscal_year_in_report(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(
            pl.col("fiscal_year").is_between(pl.col("report_fiscal_year"), pl.col("report_fiscal_year") + 1)
        )

    @pa.dataframe_check(name="a country row has an iso3 and an aggregate none")
    def iso3_matches_kind(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select((pl.col("entity_kind") == "country") == pl.col("iso3").is_not_null())


class FmtrTrainingXml(FmtrTrainingHtml):
    """SFM XML: one row per <training> element, in file order."""

    page_number: str = pa.Field(nullable=True)  # report PDF page(s) as scraped (`223 224` spans two); not FY1999-2000
