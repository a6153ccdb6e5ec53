"""Contract for the hand-curated US security agreements table (`security_agreements.csv`).

Curated data gets the same treatment as a publisher file: every row must cite what was read, dates must be
real (partial) ISO dates, agreement types come from the documented list below, and the country code must
resolve through the shared crosswalk (checked in the parser, which reports it as a contract failure).

Rule classes (data_contracts/_base.py: structural blocks the build, plausibility is a WARN with rows kept):
- structural: every rule. This table is hand-curated here, not published by anyone else: a citation-less row, an
  unknown type, an impossible date or an in-force year before the signing year is our own mistake, so it blocks.
- plausibility: none.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

# Allowed `agreement_type` values, with what each means (data/snapshots/security_agreements/SOURCE.md).
# A new kind of agreement is added here, with its meaning, before a row may use it.
AGREEMENT_TYPES: dict[str, str] = {
    "SOFA": "Status of forces agreement.",
    "SOFA_legislative_approval": (
        "Partner-country legislative approval of a SOFA or of a US troop presence with immunities."
    ),
    "SOFA_non-renewal": "Partner-country decision not to renew immunities / status protections for US personnel.",
    "Military mission agreement": "Agreement for a US military mission in the partner country.",
    "Mutual defense assistance": "Bilateral military assistance agreement (or an annex to one).",
    "Major Non-NATO Ally": "US presidential designation as a Major Non-NATO Ally.",
    "State Partnership Program": "National Guard State Partnership Program pairing with a US state.",
    "Defense Cooperation Agreement": "Framework defense cooperation agreement (incl. base-access agreements).",
    "Legislative approval": (
        "Partner-country legislative ratification/approval of a security agreement other than a SOFA."
    ),
    "Court ruling": "Partner-country court decision on a US security agreement.",
    "NATO partnership": "Formal partnership status with NATO.",
    "Information security agreement (GSOMIA)": "Agreement on protection of classified military information.",
    "Communications security agreement (CISMOA)": (
        "Communications interoperability and security memorandum of agreement."
    ),
    "Technology safeguards agreement": "Agreement protecting US technology (e.g. space launches).",
    "Research, development, test and evaluation agreement (RDT&E)": "Defense RDT&E cooperation framework.",
    "Security assistance initiative": (
        "US assistance program/initiative, its legislation, or its implementing letters of agreement."
    ),
    "Military presence arrangement": "Standing US military presence at a partner facility.",
    "Forward operating location": "Agreement giving US counterdrug aircraft access to a partner airfield.",
    "Forward operating location (closure)": "End of US use of a forward operating location.",
    "Shiprider agreement": (
        "Bilateral maritime counter-drug agreement (or protocol) with shiprider/boarding provisions."
    ),
    "Asylum cooperation agreement": '"Safe third country"-type asylum cooperative agreement with DHS.',
    "Troop entry authorization (legislative)": (
        "Partner-country congressional resolution authorizing entry of US troops."
    ),
}

PRECISIONS = ("day", "month", "year")
# Well-formed partial ISO dates; calendar validity (no 30 February) is checked by actually parsing them.
DAY_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
YEAR_PATTERN = r"^\d{4}$"
# Nothing the table covers predates the republics' independence; a year like 0202 is a typo.
FIRST_YEAR = 1800


def date_precision(text: pl.Expr) -> pl.Expr:
    """'day' | 'month' | 'year' for a well-formed partial date, null for blank or malformed text."""
    return (
        pl.when(text.str.contains(DAY_PATTERN))
        .then(pl.lit("day"))
        .when(text.str.contains(MONTH_PATTERN))
        .then(pl.lit("month"))
        .when(text.str.contains(YEAR_PATTERN))
        .then(pl.lit("year"))
        .otherwise(pl.lit(None, pl.String))
    )


def first_day(text: pl.Expr) -> pl.Expr:
    """The first day of the period a partial date names (2015-07 -> 2015-07-01); null if not a real date."""
    precision = date_precision(text)
    padded = (
        pl.when(precision == "day")
        .then(text)
        .when(precision == "month")
        .then(text + "-01")
        .when(precision == "year")
        .then(text + "-01-01")
    )
    return padded.str.to_date("%Y-%m-%d", strict=False)


class SecurityAgreements(pa.DataFrameModel):
    """One row per agreement, designation or event. Blank cells mean *not known* and stay null."""

    source_row: int = pa.Field(ge=1, unique=True)
    country_iso3: str = pa.Field(str_matches=r"^[A-Z]{3}$")
    agreement_type: str = pa.Field(isin=list(AGREEMENT_TYPES))
    title: str
    date_signed_text: str = pa.Field(nullable=True)
    date_signed: pl.Date = pa.Field(nullable=True)
    date_signed_precision: str = pa.Field(nullable=True, isin=list(PRECISIONS))
    date_in_force_text: str = pa.Field(nullable=True)
    date_in_force: pl.Date = pa.Field(nullable=True)
    date_in_force_precision: str = pa.Field(nullable=True, isin=list(PRECISIONS))
    counterpart: str = pa.Field(nullable=True)
    notes: str = pa.Field(nullable=True)
    source_citation: str = pa.Field(nullable=True)
    source_url: str = pa.Field(nullable=True, str_matches=r"^https?://\S+$")
    iso3: str = pa.Field(nullable=True, str_length={"min_value": 3, "max_value": 3})
    # Multi-country initiatives (XCA, XCB) are aggregates; non-state actors have no place in this table.
    entity_kind: str = pa.Field(isin=["country", "aggregate"])
    in_universe: bool

    @pa.check(
        "date_signed_text",
        "date_in_force_text",
        name="partial ISO date (YYYY-MM-DD, YYYY-MM or YYYY) that exists in the calendar",
    )
    def real_partial_date(cls, data) -> pl.LazyFrame:
        text = pl.col(data.key)
        parsed = first_day(text)
        return data.lazyframe.select(text.is_null() | (parsed.is_not_null() & (parsed.dt.year() >= FIRST_YEAR)))

    @pa.dataframe_check(name="source_citation or source_url required (a row citing nothing)")
    def cited(cls, data) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col("source_citation").is_not_null() | pl.col("source_url").is_not_null())

    @pa.dataframe_check(name="date_in_force not in an earlier year than date_signed")
    def in_force_after_signing(cls, data) -> pl.LazyFrame:
        # Compared by year: partial dates make a finer comparison ambiguous (2025-12 vs 2025-12-10).
        signed, in_force = pl.col("date_signed").dt.year(), pl.col("date_in_force").dt.year()
        return data.lazyframe.select(signed.is_null() | in_force.is_null() | (in_force >= signed))

    class Config:
        # The same agreement entered twice; these columns also make up agreement_id in staging.
        unique = ["country_iso3", "agreement_type", "date_signed_text", "title"]
