"""US Census Bureau international trade API: monthly US exports / general imports by partner country (`CTY_CODE`).

Live only (the API serves 2010-01 to the latest month, so trade after the last IMF DOTS year reaches the warehouse);
its months take precedence over the Census country file (census_trade_by_country, the real offline default) in
models/intermediate/int_census_trade_country_month.sql. Offline, the source reads a small **synthetic** fixture in the
API's response shape (data/fixtures/census_intltrade/, see its SOURCE.md). Rows read from the fixture are
`is_synthetic = true`, recognised by sha256, so they can never pass for Census data downstream.

Quirks handled:
- The response is one JSON array of arrays; the first row names the variables and every value is a string.
  Read with `parse_float/parse_int=str` semantics (values stay text) so the contract decides what a bad value is.
- The predicate variable `time` (`YYYY-MM`) is appended as the last column: split into year and month.
- Groupings share the code column with countries: `0001`–`0026` (EU, USMCA, ...), `1XXX`–`7XXX` (continents) and
  `-` (total for all countries). Only 4-digit codes 1000–7999 are countries; the rest are aggregates (iso3 NULL).
- Names are upper case (`EL SALVADOR`); the one crosswalk maps them (case-insensitive).
- A null value is a month not published yet: NULL, never zero.
- A predicate on a variable also in `get` (`&CTY_CODE=<code>` of a country partition) repeats that column at the
  end: the copies must agree, and one is kept.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.census_intltrade import CensusIntltrade
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, file_sha256

SOURCE = "census_intltrade"
FIXTURE_ROOT = "data/fixtures"
VALUE_VARIABLES = {"ALL_VAL_MO": "exports", "GEN_VAL_MO": "imports"}
COUNTRY_CODE = r"^[1-7][0-9]{3}$"
API = "https://api.census.gov/data/timeseries/intltrade"


@cache
def _fixture_hashes() -> frozenset[str]:
    return frozenset(file_sha256(t.bundled_path) for t in RAW_TABLES)


def _fail(path: Path, column: str, check: str, values: list) -> ContractViolation:
    return ContractViolation(
        SOURCE, path.name, [Failure(column, check, values=[str(v) for v in values], rows=[], count=len(values))]
    )


def parse(path: Path) -> pl.DataFrame:
    payload = json.loads(path.read_text(encoding="utf-8-sig"))
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], list):
        raise _fail(path, "(json structure)", "an array of arrays with the variable names first", [str(payload)[:200]])
    header, records = payload[0], payload[1:]
    value_vars = [v for v in header if v in VALUE_VARIABLES]
    missing = [v for v in ("CTY_CODE", "CTY_NAME", "time") if v not in header]
    if missing or len(value_vars) != 1:
        raise _fail(path, "(header)", "CTY_CODE, CTY_NAME, time and one of ALL_VAL_MO / GEN_VAL_MO", header)
    value_var = value_vars[0]
    # A predicate on a variable that is also in `get` (`&CTY_CODE=3530`, a country partition) comes back as a
    # second column of the same name: keep the first, after checking the copies agree.
    positional = [f"{name}#{i}" for i, name in enumerate(header)]
    raw = pl.DataFrame(records, schema={name: pl.String for name in positional}, orient="row")
    first = {name: positional[header.index(name)] for name in header}
    copies = [(first[name], col) for name, col in zip(header, positional) if col != first[name]]
    for kept, copy in copies:
        differ = raw.filter(pl.col(kept).ne_missing(pl.col(copy)))
        if differ.height:
            raise _fail(path, copy.split("#")[0], "repeated variable columns agree", differ[copy].head(5).to_list())
    raw = raw.select([pl.col(col).alias(name) for name, col in first.items()])
    tidy = raw.with_row_index("source_row", offset=1).select(
        pl.col("source_row").cast(pl.Int64),
        flow=pl.lit(VALUE_VARIABLES[value_var]),
        value_variable=pl.lit(value_var),
        cty_code=pl.col("CTY_CODE").str.strip_chars(),
        cty_name=pl.col("CTY_NAME").str.strip_chars(),
        period=pl.col("time"),
        year=pl.col("time").str.slice(0, 4),
        month=pl.col("time").str.slice(5, 2),
        value_usd=pl.col(value_var).replace("", None),
        is_synthetic=pl.lit(file_sha256(path) in _fixture_hashes()),
    )
    is_country = pl.col("cty_code").str.contains(COUNTRY_CODE)
    countries = attach_iso3(tidy.filter(is_country), SOURCE, name_col="cty_name")
    aggregates = tidy.filter(~is_country).with_columns(
        iso3=pl.lit(None, pl.String), entity_kind=pl.lit("aggregate"), in_universe=pl.lit(False)
    )
    frame = pl.concat([countries, aggregates], how="vertical").sort("source_row")
    return enforce(frame, CensusIntltrade, source=SOURCE, file=path.name)


def _table(flow: str, variable: str, default_file: str) -> RawTable:
    return RawTable(
        name=f"census_{flow}",
        source=SOURCE,
        snapshot="census_intltrade",
        default_file=default_file,
        bundled_root=FIXTURE_ROOT,
        vintage="SYNTHETIC offline fixture (invented numbers, Census API response shape), not Census data",
        parse=parse,
        description=(
            f"US Census Bureau international trade API, monthly US {flow} by partner CTY_CODE ({variable}, USD). "
            "Live mode reads the API (2023-01 onwards); offline a labelled synthetic fixture (is_synthetic = true)."
        ),
        live_url=f"{API}/{flow}/hs?get=CTY_CODE,CTY_NAME,{variable}&time=from+2023-01",
        cadence="monthly",
    )


RAW_TABLES = (
    _table("exports", "ALL_VAL_MO", "exports_hs_synthetic.json"),
    _table("imports", "GEN_VAL_MO", "imports_hs_synthetic.json"),
)
