"""US foreign assistance from ForeignAssistance.gov: the country summary and the activity-level layout.

Quirks handled (see data/snapshots/us_foreign_aid_country/SOURCE.md):
- Fiscal year `1976tq` is the 1976 transition quarter (Jul-Sep 1976). It is kept as its own period:
  `fiscal_year = 1976, fiscal_period = 'TQ'`, next to `fiscal_year = 1976, fiscal_period = 'FY'`.
- Regional pseudo-codes (WHN, LCN, ...) are aggregates: they land in raw with `entity_kind = 'aggregate'`
  and never reach country facts.
- The activity layout carries the publisher's typo `Funding Acount ID`; it lands as `funding_account_id`.
- Constant dollars change base year with every release, so each raw table records its base year.

The activity-level "complete" file is ~3 GB live, so it never becomes one eager frame: `land_activity` (the
table's `RawTable.land`) has DuckDB read it straight into the build database, checks the pandera contract as SQL
(data_contracts/_sql.py) and maps countries on the distinct (code, name) pairs; `parse_activity` runs the same
code in an in-memory database for small files and tests.
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


ACTIVITY_RENAMES = {
    "funding_acount_id": "funding_account_id",  # publisher's typo in the header
    "transaction_type_name": "transaction_type",
    "current_dollar_amount": "current_amount_usd",
    "constant_dollar_amount": "constant_amount_usd",
}
ACTIVITY_TABLE = "us_foreign_aid_activity"
# The publisher's dialect, stated rather than sniffed (sniffing a 3 GB file reads a sample and can guess wrong):
# comma separated, `"` quoting with `""` inside quotes, a header line; every cell text, blank (quoted or not) = NULL.
_CSV_OPTIONS = "delim = ',', quote = '\"', escape = '\"', header = true, all_varchar = true, encoding = 'utf-8'"
# DuckDB buffer pool while streaming a file into the build database (HPW_INGEST_MEMORY_LIMIT overrides).
INGEST_MEMORY_LIMIT = "256MB"
_DERIVED = ("source_row", "fiscal_year_label", "fiscal_period", "constant_usd_base_year", "iso3", "entity_kind", "in_universe")
_BAD_PREFIX = "__bad__"


def parse_activity(path: Path) -> pl.DataFrame:
    """The activity-level file as a validated polars frame (small files; the build streams with land_activity)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("create schema raw")
        _load_activity(con, path, f"raw.{ACTIVITY_TABLE}", provenance={})
        return con.sql(f"select * from raw.{ACTIVITY_TABLE}").pl()


def land_activity(database: Path, source_file) -> dict[str, int]:
    """Stream an activity-level file of any size into `raw.us_foreign_aid_activity` of `database`.

    DuckDB reads the CSV straight into the table (never one eager frame), the contract runs as SQL on the
    landed table, and the country crosswalk runs on the distinct (code, name) pairs only. All of it happens in
    one transaction: a file that breaks its contract, or names an unknown country, leaves the database as it
    was and raises ContractViolation / UnmappedCountryError. Records the load in meta.loads like land_raw.
    Returns the entity counts plus `rows_landed`.
    """
    import os
    import time
    from datetime import datetime, timezone

    from data_contracts._sql import literal
    from pipelines import warehouse

    started = time.perf_counter()
    loaded_at = datetime.now(timezone.utc)
    provenance = {
        "_source_file": source_file.path.name,
        "_source_sha256": source_file.sha256,
        "_source_vintage": source_file.vintage,
        "_loaded_at": loaded_at,
    }
    with warehouse.connect(database) as con:
        # A bounded buffer pool keeps peak memory flat whatever the file size: landed row groups are on disk
        # and get evicted; DuckDB spills anything else to a temporary folder beside the database.
        con.execute(f"set memory_limit = {literal(os.environ.get('HPW_INGEST_MEMORY_LIMIT', INGEST_MEMORY_LIMIT))}")
        con.execute(f"create schema if not exists {warehouse.RAW_SCHEMA}")
        con.execute(f"create schema if not exists {warehouse.META_SCHEMA}")
        con.execute(warehouse.LOADS_DDL)
        counts = _load_activity(con, source_file.path, f"{warehouse.RAW_SCHEMA}.{ACTIVITY_TABLE}", provenance)
        con.execute("begin transaction")
        con.execute(f"delete from {warehouse.META_SCHEMA}.loads where raw_table = ?", [ACTIVITY_TABLE])
        record = {
            "raw_table": ACTIVITY_TABLE, "source": SOURCE, "file_name": source_file.path.name,
            "bundled": source_file.bundled, "sha256": source_file.sha256, "bytes": source_file.bytes,
            "vintage": source_file.vintage, "rows_in": counts["rows_in"], "rows_landed": counts["rows_landed"],
            "rows_rejected": 0, "rows_aggregate": counts["rows_aggregate"],
            "rows_outside_universe": counts["rows_outside_universe"], "rows_non_state": counts["rows_non_state"],
            "loaded_at": loaded_at, "seconds": time.perf_counter() - started,
        }
        con.execute(
            f"insert into {warehouse.META_SCHEMA}.loads ({', '.join(record)}) values ({', '.join('?' for _ in record)})",
            list(record.values()),
        )
        con.execute("commit")
    return counts


def _strip_tq(text_sql: str) -> str:
    return f"(case when lower({text_sql}) like '%tq' then left({text_sql}, -2) else {text_sql} end)"


def _load_activity(con, path: Path, target: str, provenance: dict) -> dict[str, int]:
    """Create `target` from the CSV at `path`, with the columns parse_activity has always produced (plus
    `provenance` constants), and enforce the contract in SQL. On failure `target` is left as it was."""
    import duckdb

    from data_contracts._base import ContractViolation, Failure, contract_dtypes, required_columns
    from data_contracts._sql import bad_text, literal, quote, sql_failures, sql_type, text_cast, type_failures
    from pipelines.countries import resolve

    model = UsForeignAidActivity
    source_sql = f"read_csv({literal(str(path))}, {_CSV_OPTIONS})"
    try:
        header = [row[0] for row in con.execute(f"describe select * from {source_sql}").fetchall()]
    except duckdb.Error as err:
        raise ContractViolation(SOURCE, path.name, [Failure("(file)", "readable CSV", values=[str(err).splitlines()[0]])]) from None
    names = [ACTIVITY_RENAMES.get(snake_case(c), snake_case(c)) for c in header]
    # Same rule and message as enforce(): a missing contract column is schema drift, shown as a column diff.
    from pipelines import drift

    missing, columns_diff = drift.check(SOURCE, path.name, names + list(_DERIVED), list(contract_dtypes(model)), required_columns(model))
    if missing:
        raise ContractViolation(
            SOURCE, path.name, [Failure(c, "required column present (schema drift: removed or renamed)", values=[columns_diff]) for c in missing]
        )

    typed = {c: sql_type(model, c) for c, t in contract_dtypes(model).items() if t != pl.String and c in names}
    selects, bad_columns = ["row_number() over () as source_row"], {}
    for original, name in zip(header, names):
        text = quote(original)
        if name == "fiscal_year":
            text = _strip_tq(quote(original))  # '1976tq' -> 1976; the label keeps 'tq'
        elif name == "income_group_acronym":
            text = f"nullif({text}, 'NULL')"  # the publisher writes the literal string NULL
        if name in typed and typed[name]:
            selects.append(f"{text_cast(text, typed[name])} as {quote(name)}")
            bad_columns[name] = _BAD_PREFIX + name
        else:
            selects.append(f"{text} as {quote(name)}")
    year = quote(header[names.index("fiscal_year")])
    selects += [
        f"{year} as fiscal_year_label",
        f"case when lower({year}) like '%tq' then 'TQ' else 'FY' end as fiscal_period",
        f"{_base_year(ACTIVITY_BASE_YEAR)}::bigint as constant_usd_base_year",
        # placeholders, filled from the crosswalk of the distinct country pairs below
        "null::integer as iso3", "null::integer as entity_kind", "null::integer as in_universe",
    ]
    for column, value in provenance.items():
        selects.append(f"{literal(value.isoformat()) + '::timestamptz' if hasattr(value, 'isoformat') else literal(value)} as {quote(column)}")
    for name, bad in bad_columns.items():
        original = header[names.index(name)]
        text = _strip_tq(quote(original)) if name == "fiscal_year" else quote(original)
        selects.append(f"{bad_text(text, typed[name])} as {quote(bad)}")

    con.execute("begin transaction")
    try:
        try:
            con.execute(f"create or replace table {target} as select {', '.join(selects)} from {source_sql}")
        except duckdb.Error as err:
            raise ContractViolation(SOURCE, path.name, [Failure("(file)", "readable CSV", values=[str(err).splitlines()[0]])]) from None
        if not con.execute(f"select exists (from {target})").fetchall()[0][0]:
            raise ContractViolation(
                SOURCE, path.name, [Failure("(data rows)", "at least one data row", values=["the file has a header but no data rows"])]
            )
        failures = type_failures(con, target, bad_columns, model)
        if failures:
            raise ContractViolation(SOURCE, path.name, failures)
        pairs = con.sql(f"select distinct country_code, country_name from {target}").pl()
        mapping = resolve(pairs, SOURCE, code_col="country_code", name_col="country_name", code_is_iso3=True)
        key = "coalesce(country_code, chr(0)) || chr(31) || coalesce(country_name, chr(0))"
        keys = [f"{r['country_code'] or chr(0)}{chr(31)}{r['country_name'] or chr(0)}" for r in mapping.iter_rows(named=True)]
        for column, sql_t in (("iso3", "varchar"), ("entity_kind", "varchar"), ("in_universe", "boolean")):
            entries = ", ".join(
                f"{literal(k)}: {'null' if v is None else literal(v)}" for k, v in zip(keys, mapping[column].to_list())
            )
            con.execute(
                f"alter table {target} alter {column} set data type {sql_t} "
                f"using map_extract_value(map {{{entries}}}::map(varchar, {sql_t}), {key})"
            )
        failures = sql_failures(con, target, model, unique_by_construction=frozenset({"source_row"}))
        if failures:
            raise ContractViolation(SOURCE, path.name, failures)
        for bad in bad_columns.values():
            con.execute(f"alter table {target} drop column {quote(bad)}")
        row = con.execute(
            f"""select count(*),
                   count(*) filter (where entity_kind = 'country' and in_universe),
                   count(*) filter (where entity_kind = 'country' and not in_universe),
                   count(*) filter (where entity_kind = 'aggregate'),
                   count(*) filter (where entity_kind in ('non_state', 'organisation'))
                from {target}"""
        ).fetchall()[0]
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    keys = ("rows_in", "rows_country_in_universe", "rows_outside_universe", "rows_aggregate", "rows_non_state")
    return {**dict(zip(keys, map(int, row))), "rows_landed": int(row[0])}


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
    land=land_activity,
    description="ForeignAssistance.gov activity-level ('complete') layout; carries the Economic/Military objective split.",
)

RAW_TABLES = (SUMMARY, ACTIVITY)
