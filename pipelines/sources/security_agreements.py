"""US security agreements and designations with LAC countries: a hand-curated, cited table.

Quirks handled (see data/snapshots/security_agreements/SOURCE.md):
- Dates are partial ISO dates (`YYYY-MM-DD`, `YYYY-MM` or `YYYY`): each becomes a DATE on the first day of the
  period plus a precision (day|month|year), and the original text is kept (`*_text`) so nothing is lost.
- Blank dates mean *not known* (e.g. undated SPP pairings, the 2005 Paraguayan approval) and stay null.
- `country_iso3` holds two user-assigned pseudo-codes for multi-country initiatives, XCA (Central America,
  CARSI) and XCB (Caribbean Basin, CBSI): the crosswalk aliases them as aggregates (no ISO3), they are not dropped.
- ABW (Aruba) and CUW (Curacao) are separate rows for the one Kingdom of the Netherlands FOL agreement.
- `agreement_type` values carry commas and parentheses (`Research, development, ... (RDT&E)`): RFC-4180 quoted.
- Some rows have no `source_url` (the original state.gov page could not be consulted): a citation is enough,
  but a row must have at least one of the two.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.security_agreements import SecurityAgreements, date_precision, first_day
from pipelines.countries import UnmappedCountryError, attach_iso3
from pipelines.sources.base import RawTable, read_text_csv

SOURCE = "security_agreements"
COLUMNS = (
    "country_iso3",
    "agreement_type",
    "title",
    "date_signed",
    "date_in_force",
    "counterpart",
    "notes",
    "source_citation",
    "source_url",
)


def _parse_date(column: str) -> list[pl.Expr]:
    """`<col>_text` (as written, trimmed), `<col>` (DATE, first day of the period) and `<col>_precision`."""
    text = pl.col(column).str.strip_chars()
    parsed = first_day(text)
    return [
        text.alias(f"{column}_text"),
        parsed.alias(column),
        # No precision for a date that does not exist: the contract then names the bad text.
        pl.when(parsed.is_not_null()).then(date_precision(text)).alias(f"{column}_precision"),
    ]


def _attach_countries(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """ISO3 through the shared crosswalk; an unknown code is reported like any other contract failure."""
    try:
        return attach_iso3(frame, SOURCE, code_col="country_iso3", code_is_iso3=True)
    except UnmappedCountryError as err:
        bad = frame.filter(
            pl.col("country_iso3").is_null() | pl.col("country_iso3").str.strip_chars().is_in(err.values)
        )
        raise ContractViolation(
            SOURCE,
            path.name,
            [
                Failure(
                    "country_iso3",
                    "ISO 3166-1 alpha-3 code known to the crosswalk (attach_iso3, code_is_iso3=True)",
                    values=bad["country_iso3"].fill_null("").to_list(),
                    rows=bad["source_row"].to_list(),
                    count=bad.height,
                )
            ],
        ) from err


def parse(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise ContractViolation(
            SOURCE,
            path.name,
            [Failure(c, "required column present", values=[f"found columns: {raw.columns}"]) for c in missing],
        )
    tidy = raw.select("source_row", *COLUMNS).with_columns(*_parse_date("date_signed"), *_parse_date("date_in_force"))
    mapped = _attach_countries(tidy, path)
    return enforce(mapped, SecurityAgreements, source=SOURCE, file=path.name)


SECURITY_AGREEMENTS = RawTable(
    name="security_agreements",
    source=SOURCE,
    cadence="never",
    snapshot="security_agreements",
    default_file="security_agreements.csv",
    vintage="hand-curated table, compiled 2026 from cited public sources (latest recorded event 2026-03-10)",
    parse=parse,
    description="US security agreements, designations and related events with LAC countries (SOFA, MNNA, SPP, "
    "missions, FOLs, ...), hand-curated; every row cites its source.",
)

RAW_TABLES = (SECURITY_AGREEMENTS,)
