"""US military bases, lily pads and funded sites in Latin America & the Caribbean (Vine / troopdata `basedata.csv`).

Quirks handled (see data/snapshots/us_bases/SOURCE.md):
- The file is ISO-8859-1 (`Concón` is byte 0xF3). It is decoded as UTF-8 only if it is valid UTF-8 (a user's
  re-encoded copy), else as Latin-1 — never with a lossy decoder, so no name is silently mangled.
- A tab sits inside one unquoted name (`Guantanamo Bay<TAB>Cuba`): runs of whitespace inside names become one space.
- Names holding commas are quoted: read with a real CSV reader.
- `basename` can be the literal `NA`: it becomes NULL (the list gives coordinates but no name). `NA` elsewhere
  would also be NULL and then fails the contract, since coordinates and flags are required.
- No years: the list is a snapshot of sites known through 2018, so the table has no time column.
- The 0/1 flags `base`, `lilypad`, `fundedsite` are not exclusive (one Peruvian site is lily pad and funded):
  they land as three booleans; the mart derives one `site_kind` from them.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, enforce, row_failure
from data_contracts.us_bases import KEY, UsBases
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, read_text_csv

SOURCE = "us_bases"
NA_MARKER = "NA"
RENAMES = {
    "countryname": "country_name",
    "ccode": "cow_code",
    "iso3c": "source_iso3",
    "basename": "site_name",
    "base": "is_base",
    "lilypad": "is_lilypad",
    "fundedsite": "is_funded_site",
}


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def parse(path: Path) -> pl.DataFrame:
    text = decode(path.read_bytes())
    raw = read_text_csv(io.BytesIO(text.encode("utf-8")), null_values=[NA_MARKER])
    tidy = raw.rename(RENAMES, strict=False).with_columns(
        pl.col("site_name").str.replace_all(r"\s+", " ").str.strip_chars()
    )
    mapped = attach_iso3(
        tidy,
        SOURCE,
        code_col="cow_code",
        name_col="country_name",
        code_system="cown",
        region_col="region" if "region" in tidy.columns else None,
    )
    # Cross-column rules, on the text columns so they are reported together with any type or range failure.
    flags = ("is_base", "is_lilypad", "is_funded_site")
    failures = [
        f
        for f in (
            row_failure(
                mapped,
                pl.col("source_iso3") != pl.col("iso3"),
                "source_iso3",
                "equals the ISO3 resolved from countryname",
            ),
            row_failure(
                mapped,
                pl.all_horizontal([pl.col(f) == "0" for f in flags]),
                "site_name",
                "at least one of base / lilypad / fundedsite is 1",
            ),
            row_failure(
                mapped,
                pl.struct(KEY).is_duplicated(),
                "site_name",
                "listed once per country and coordinates",
                shown=pl.concat_str(pl.col("site_name").fill_null("NA"), pl.lit(" @ "), "lat", pl.lit(","), "lon"),
            ),
        )
        if f is not None
    ]
    try:
        typed = enforce(mapped, UsBases, source=SOURCE, file=path.name)
    except ContractViolation as violation:
        raise ContractViolation(SOURCE, path.name, violation.failures + failures) from None
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)
    return typed


US_BASES = RawTable(
    name="us_bases",
    source=SOURCE,
    cadence="yearly",
    snapshot="us_bases",
    default_file="basedata_lac.csv",
    vintage="troopdata basedata.csv @ 3946bcf (Vine list updated by Flynn, sites known through 2018), LAC extract",
    parse=parse,
    description="US military bases, lily pads and funded sites in Latin America & the Caribbean, with coordinates.",
)

RAW_TABLES = (US_BASES,)
