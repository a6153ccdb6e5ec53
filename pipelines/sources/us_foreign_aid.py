"""US foreign assistance from ForeignAssistance.gov: the country summary and the activity-level layout.

Quirks handled (see data/snapshots/us_foreign_aid_country/SOURCE.md):
- Fiscal year `1976tq` is the 1976 transition quarter (Jul-Sep 1976). It is kept as its own period:
  `fiscal_year = 1976, fiscal_period = 'TQ'`, next to `fiscal_year = 1976, fiscal_period = 'FY'`.
- Regional pseudo-codes (WHN, LCN, ...) are aggregates: they land in raw with `entity_kind = 'aggregate'`
  and never reach country facts.
- The activity layout carries the publisher's typo `Funding Acount ID`; it lands as `funding_account_id`.
- Constant dollars change base year with every release, so each raw table records its base year.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_contracts._base import enforce
from data_contracts.us_foreign_aid import UsForeignAidActivity, UsForeignAidSummary
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, read_text_csv, snake_case

SOURCE = "us_foreign_aid"
SNAPSHOT = "us_foreign_aid_country"

# Constant-dollar base years, from SOURCE.md: the summary vintage uses FY2022 dollars, the 2022 activity export FY2021.
SUMMARY_BASE_YEAR = 2022
ACTIVITY_BASE_YEAR = 2021


def _fiscal_year_columns(label: pl.Expr) -> dict[str, pl.Expr]:
    is_tq = label.str.to_lowercase().str.ends_with("tq")
    return {
        "fiscal_year_label": label,
        # '1976tq' -> 1976; anything else non-numeric stays as text so the contract names the bad value.
        "fiscal_year": label.str.replace(r"(?i)tq$", ""),
        "fiscal_period": pl.when(is_tq).then(pl.lit("TQ")).otherwise(pl.lit("FY")),
    }


def _base_year(default: int) -> int:
    import os

    return int(os.environ.get("HPW_US_FOREIGN_AID_CONSTANT_BASE_YEAR", default))


def _tidy(path: Path, renames: dict[str, str], base_year: int) -> pl.DataFrame:
    raw = read_text_csv(path)
    renamed = raw.rename({c: snake_case(c) for c in raw.columns}).rename(renames, strict=False)
    if "fiscal_year" in renamed.columns:
        renamed = renamed.with_columns(**_fiscal_year_columns(pl.col("fiscal_year")))
    if "income_group_acronym" in renamed.columns:
        # The publisher writes the literal string NULL where a region has no income group.
        renamed = renamed.with_columns(pl.col("income_group_acronym").replace("NULL", None))
    renamed = renamed.with_columns(constant_usd_base_year=pl.lit(_base_year(base_year)))
    return attach_iso3(renamed, SOURCE, code_col="country_code", name_col="country_name", code_is_iso3=True)


def parse_summary(path: Path) -> pl.DataFrame:
    renames = {
        "transaction_type_name": "transaction_type",
        "current_amount": "current_amount_usd",
        "constant_amount": "constant_amount_usd",
    }
    frame = _tidy(path, renames, SUMMARY_BASE_YEAR)
    return enforce(frame, UsForeignAidSummary, source=SOURCE, file=path.name)


def parse_activity(path: Path) -> pl.DataFrame:
    renames = {
        "funding_acount_id": "funding_account_id",  # publisher's typo in the header
        "transaction_type_name": "transaction_type",
        "current_dollar_amount": "current_amount_usd",
        "constant_dollar_amount": "constant_amount_usd",
    }
    frame = _tidy(path, renames, ACTIVITY_BASE_YEAR)
    return enforce(frame, UsForeignAidActivity, source=SOURCE, file=path.name)


SUMMARY = RawTable(
    name="us_foreign_aid_summary",
    source=SOURCE,
    snapshot=SNAPSHOT,
    default_file="us_foreign_aid_country.csv",
    vintage="ForeignAssistance.gov country summary, downloaded ~late 2024 (FY1946-FY2024, FY2024 partial; constant FY2022 USD)",
    parse=parse_summary,
    description="ForeignAssistance.gov country summary: total US foreign assistance per country, transaction type and fiscal year.",
)

ACTIVITY = RawTable(
    name="us_foreign_aid_activity",
    source=SOURCE,
    snapshot=SNAPSHOT,
    default_file="El_Salvador_2022-2002_Econ_Other.csv",
    vintage="ForeignAssistance.gov activity-level export, 2022 (El Salvador, FY2002-2022, Economic, Obligations; constant FY2021 USD)",
    parse=parse_activity,
    description="ForeignAssistance.gov activity-level ('complete') layout; carries the Economic/Military objective split.",
)

RAW_TABLES = (SUMMARY, ACTIVITY)
