"""US preferential trade agreements with each partner, from DESTA's dyadic list of treaties (Dür, Baccini, Elsig).

The bundled file is the United States x Latin America & Caribbean subset of `desta_list_of_treaties_02_01_dyads.csv`;
live, the publisher's full dyadic list (about 18,000 rows, every pair of countries) is read the same way.

Quirks handled (see data/snapshots/trade_agreements_desta/SOURCE.md):
- Latin-1 text with CRLF line endings; the full list also has a Windows-1252 apostrophe (0x92 in `Côte d’Ivoire`):
  decoded as UTF-8 if it is (a later release), else Windows-1252, else Latin-1 (every byte is a Latin-1 character).
- Countries are identified by ISO 3166 numeric codes (`iso1`, `iso2`; the US is 840); names are a fallback only.
  The US may be either side of a dyad: the partner is the other side.
- Dyads without the US (most of the full list) are not US agreements: dropped and counted (logged), never fatal;
  US dyads with partners outside the universe are kept, flagged `in_universe = false`.
- `entryforceyear` blank = never in force (TPP): NULL, not zero. Years only, no dates.
- DESTA's CAFTA in-force year (2004 for every member) is the publisher's value and stays here; the per-country
  dates live in data/reference/trade_agreement_in_force_corrections.csv (its own raw table, with citations) and
  are applied in the mart.
"""

from __future__ import annotations

import io
import logging
from functools import lru_cache
from pathlib import Path

import polars as pl
import pycountry

from data_contracts._base import ContractViolation, Failure, enforce, row_failure
from data_contracts.trade_agreements_desta import TradeAgreementCorrections, TradeAgreementsDesta
from pipelines.countries import attach_iso3, reference_countries, universe_iso3
from pipelines.sources.base import RawTable

SOURCE = "trade_agreements_desta"
# The cited corrections are a hand-built reference (cadence never), a source of their own for schedules/freshness.
CORRECTIONS_SOURCE = "trade_agreement_in_force_corrections"
US_NUMERIC = "840"
COLUMNS = (
    "country1",
    "country2",
    "iso1",
    "iso2",
    "number",
    "base_treaty",
    "name",
    "entry_type",
    "consolidated",
    "year",
    "entryforceyear",
    "language",
    "typememb",
    "regioncon",
    "wto_listed",
    "wto_name",
)

log = logging.getLogger("hpw.sources")


@lru_cache(maxsize=1)
def _numeric_to_iso3() -> dict[str, str]:
    """ISO 3166 numeric code -> ISO3, current and withdrawn (530 Netherlands Antilles), from the one reference."""
    mapping = {
        c.numeric: c.alpha_3
        for c in list(pycountry.historic_countries) + list(pycountry.countries)
        if getattr(c, "numeric", None)
    }
    for m49, iso3 in reference_countries().select("m49", "iso3").iter_rows():
        if m49:
            mapping[m49] = iso3
    return mapping


def _read(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    raw = pl.read_csv(io.StringIO(text), infer_schema_length=0, raise_if_empty=True)
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        found = [f"found columns: {raw.columns}"]
        failures = [Failure(c, "required column present", values=found) for c in missing]
        raise ContractViolation(SOURCE, path.name, failures)
    return raw.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.col(pl.String).str.strip_chars().replace("", None)
    )


def parse(path: Path) -> pl.DataFrame:
    raw = _read(path)
    code = lambda c: pl.col(c).str.replace(r"\.0+$", "").str.zfill(3)  # noqa: E731 - 840.0 / 36 -> 840 / 036
    raw = raw.with_columns(iso1=code("iso1"), iso2=code("iso2"))
    us_first = pl.col("iso1") == US_NUMERIC
    us_dyad = us_first | (pl.col("iso2") == US_NUMERIC)
    others = raw.filter(~us_dyad.fill_null(False)).height
    if others:
        log.info("[%s] %s: %d dyad(s) without the United States dropped (not US agreements)", SOURCE, path.name, others)
    dyads = raw.filter(us_dyad.fill_null(False)).with_columns(
        partner_name=pl.when(us_first).then("country2").otherwise("country1"),
        partner_numeric=pl.when(us_first).then("iso2").otherwise("iso1"),
        us_name=pl.when(us_first).then("country1").otherwise("country2"),
    )
    if dyads.is_empty():
        failure = Failure(
            "iso1 / iso2",
            "at least one dyad with the United States (840)",
            values=[f"{raw.height} rows, none with code 840"],
        )
        raise ContractViolation(SOURCE, path.name, [failure])
    # Codes before names: the ISO numeric code decides; a code the reference lacks falls back to the crosswalk name.
    by_code = dyads.with_columns(iso3=pl.col("partner_numeric").replace_strict(_numeric_to_iso3(), default=None))
    coded = by_code.filter(pl.col("iso3").is_not_null()).with_columns(
        entity_kind=pl.lit("country"), in_universe=pl.col("iso3").is_in(list(universe_iso3()))
    )
    uncoded = by_code.filter(pl.col("iso3").is_null())
    parts = [coded]
    if uncoded.height:
        parts.append(attach_iso3(uncoded.drop("iso3"), SOURCE, name_col="partner_name"))
    mapped = pl.concat(parts, how="diagonal_relaxed").sort("source_row")
    tidy = mapped.select(
        "source_row",
        "partner_name",
        "partner_numeric",
        "us_name",
        desta_id=pl.col("base_treaty"),
        treaty_number=pl.col("number"),
        agreement=pl.col("name"),
        entry_type="entry_type",
        consolidated="consolidated",
        signed_year=pl.col("year"),
        entry_force_year=pl.col("entryforceyear"),  # blank = never in force
        language="language",
        type_membership=pl.col("typememb"),
        region_scope=pl.col("regioncon"),
        wto_listed="wto_listed",
        wto_name="wto_name",
        iso3="iso3",
        entity_kind="entity_kind",
        in_universe="in_universe",
    )
    year = lambda c: pl.col(c).cast(pl.Int64, strict=False)  # noqa: E731
    failures = [
        f
        for f in [
            row_failure(
                tidy,
                pl.struct("iso3", "treaty_number").is_duplicated() & pl.col("iso3").is_not_null(),
                "treaty_number",
                "one dyad per partner and treaty",
                shown=pl.concat_str("iso3", pl.lit(" "), "treaty_number"),
            ),
            row_failure(
                tidy,
                year("entry_force_year") < year("signed_year"),
                "entryforceyear",
                "is not before the signature year",
                shown=pl.concat_str(
                    "agreement", pl.lit(": signed "), "signed_year", pl.lit(", in force "), "entry_force_year"
                ),
            ),
        ]
        if f is not None
    ]
    try:
        typed = enforce(tidy, TradeAgreementsDesta, source=SOURCE, file=path.name)
    except ContractViolation as violation:
        raise ContractViolation(SOURCE, path.name, violation.failures + failures) from None
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)
    return typed


def parse_corrections(path: Path) -> pl.DataFrame:
    """Per-country in-force dates where DESTA's year is wrong, each with its citation (hand-built reference)."""
    raw = pl.read_csv(path, infer_schema_length=0, raise_if_empty=True, encoding="utf8")
    raw = raw.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.col(pl.String).str.strip_chars().replace("", None)
    )
    dated = (
        raw.with_columns(pl.col("in_force_date").str.to_date("%Y-%m-%d", strict=False).alias("_date"))
        if "in_force_date" in raw.columns
        else raw
    )
    failures = []
    if "_date" in dated.columns:
        failures = [
            f
            for f in [
                row_failure(
                    dated,
                    pl.col("_date").is_null() & pl.col("in_force_date").is_not_null(),
                    "in_force_date",
                    "a real date written YYYY-MM-DD",
                )
            ]
            if f
        ]
        dated = dated.drop("_date")
    typed = enforce(dated, TradeAgreementCorrections, source=CORRECTIONS_SOURCE, file=path.name)
    if failures:
        raise ContractViolation(CORRECTIONS_SOURCE, path.name, failures)
    return typed


DESTA = RawTable(
    name="trade_agreements_desta",
    source=SOURCE,
    cadence="yearly",
    snapshot="trade_agreements_desta",
    default_file="desta_dyads_us_lac_subset.csv",
    vintage="DESTA list of treaties, dyadic, version 02_01 (US x Latin America & Caribbean rows)",
    parse=parse,
    description="DESTA: preferential trade agreements of the United States, one row per US dyad (partner x treaty), "
    "signature and entry-into-force years as published (blank entry year = never in force).",
    live_url="https://www.designoftradeagreements.org/media/filer_public/87/e2/87e266f0-5874-4596-913a-251e99ab6632/"
    "desta_list_of_treaties_02_01_dyads.csv",
)

CORRECTIONS = RawTable(
    name="trade_agreement_in_force_corrections",
    source=CORRECTIONS_SOURCE,
    cadence="never",
    snapshot="reference",
    default_file="trade_agreement_in_force_corrections.csv",
    bundled_root="data",
    vintage="hand-built reference table (data/reference), each date with its citation",
    parse=parse_corrections,
    description="Per-country entry-into-force dates where DESTA's year is wrong (CAFTA-DR), with citations.",
)

RAW_TABLES = (DESTA, CORRECTIONS)
