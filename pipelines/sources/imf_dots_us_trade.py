"""US goods trade by partner from the IMF Direction of Trade Statistics (reporter United States).

Quirks handled (see data/snapshots/imf_dots_us_trade/SOURCE.md):
- UTF-8 BOM on the header and CRLF endings (the CSV reader strips both).
- Two columns are both named `Status`, and a trailing comma adds an unnamed 10th column: columns are found
  by their indicator code (TXG_FOB_USD / TMG_CIF_USD) and each `Status` is the column right after its value.
- Values are quoted whole-USD strings; blank means not available and stays null (never zero).
- Partners carry IMF codes, not ISO: the crosswalk maps them (data/reference/country_aliases.csv).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.imf_dots_us_trade import ImfDotsUsTrade
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, read_text_csv

SOURCE = "imf_dots_us_trade"
EXPORTS_CODE = "TXG_FOB_USD"
IMPORTS_CODE = "TMG_CIF_USD"
FIXED_COLUMNS = {
    "Country Name": "reporter_name",
    "Country Code": "reporter_imf_code",
    "Counterpart Country Name": "partner_name",
    "Counterpart Country Code": "partner_imf_code",
    "Time Period": "year",
}


def _indicator_columns(columns: list[str], path: Path) -> dict[str, str]:
    """Map the value column for each indicator, and the `Status` column that follows it, to tidy names."""
    renames: dict[str, str] = {}
    for code, name in ((EXPORTS_CODE, "exports"), (IMPORTS_CODE, "imports")):
        matches = [i for i, c in enumerate(columns) if f"({code})" in c]
        if len(matches) != 1:
            raise ContractViolation(
                SOURCE,
                path.name,
                [Failure(f"... ({code})", "required column present", values=[f"found columns: {columns}"])],
            )
        position = matches[0]
        renames[columns[position]] = f"{name}_{'fob' if name == 'exports' else 'cif'}_usd"
        if position + 1 < len(columns) and columns[position + 1].startswith("Status"):
            renames[columns[position + 1]] = f"{name}_status"
    return renames


def parse(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path)
    columns = [c for c in raw.columns if c != "source_row"]
    renames = {**{k: v for k, v in FIXED_COLUMNS.items() if k in columns}, **_indicator_columns(columns, path)}
    tidy = raw.rename(renames)
    # The trailing comma on every line yields an unnamed, always-empty column: drop it only if it is empty.
    unnamed = [c for c in tidy.columns if c == "" or c.startswith("_duplicated")]
    for column in unnamed:
        if tidy[column].drop_nulls().str.strip_chars().ne("").any():
            raise ContractViolation(
                SOURCE,
                path.name,
                [Failure("(unnamed trailing column)", "is empty", values=tidy[column].drop_nulls().head(3).to_list())],
            )
    tidy = tidy.drop(unnamed)
    for status in ("exports_status", "imports_status"):
        if status not in tidy.columns:
            tidy = tidy.with_columns(pl.lit(None, pl.String).alias(status))
    mapped = attach_iso3(tidy, SOURCE, code_col="partner_imf_code", name_col="partner_name")
    return enforce(mapped, ImfDotsUsTrade, source=SOURCE, file=path.name)


DOTS = RawTable(
    name="imf_dots_us_trade",
    source=SOURCE,
    cadence="retired",
    snapshot="imf_dots_us_trade",
    default_file="dots_us.csv",
    vintage="IMF DOTS legacy portal export, downloaded ~2023-24 (calendar years 1995-2022)",
    parse=parse,
    description="IMF DOTS: US goods exports (FOB) and imports (CIF) by partner and calendar year, in USD.",
)

RAW_TABLES = (DOTS,)
