"""US foreign assistance from ForeignAssistance.gov: the country summary and the activity-level layout.

Quirks handled (see data/snapshots/us_foreign_aid_country/SOURCE.md):
- Fiscal year `1976tq` is the 1976 transition quarter (Jul-Sep 1976). It is kept as its own period:
  `fiscal_year = 1976, fiscal_period = 'TQ'`, next to `fiscal_year = 1976, fiscal_period = 'FY'`.
- Regional pseudo-codes (WHN, LCN, ...) are aggregates: they land in raw with `entity_kind = 'aggregate'`
  and never reach country facts.
- The activity layout carries the publisher's typo `Funding Acount ID`; it lands as `funding_account_id`.
- Constant dollars change base year with every release, so each raw table records its base year.

The activity-level "complete" file is ~3 GB live, so it never becomes one eager frame: `land_activity` (the
table's `RawTable.land`) has polars stream it, in file order and bounded memory, into a Parquet file under the
warehouse's `raw_parquet/`; `raw.us_foreign_aid_activity` is a DuckDB view over that file, the pandera contract is
checked on it as SQL (data_contracts/_sql.py) and countries are mapped on the distinct (code, name) pairs only.
`parse_activity` runs the same code with a temporary folder for small files and tests. (Why Parquet and not a
DuckDB table: numbering rows in file order made DuckDB's parallel CSV insert 2-3x slower under a memory cap;
see docs/benchmarks.md.)
"""

from __future__ import annotations

import os
from datetime import UTC
from pathlib import Path

import polars as pl

from data_contracts._base import cast_expr, enforce, unfit_expr
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
    # The publisher's `Region Name` is the proof that an entity no crosswalk step knows lies outside the region.
    region = "region_name" if "region_name" in renamed.columns else None
    return attach_iso3(
        renamed, SOURCE, code_col="country_code", name_col="country_name", code_is_iso3=True, region_col=region
    )


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
# DuckDB buffer pool of the contract checks on the landed Parquet (HPW_INGEST_MEMORY_LIMIT overrides).
INGEST_MEMORY_LIMIT = "256MB"
_DERIVED = (
    "source_row",
    "fiscal_year_label",
    "fiscal_period",
    "constant_usd_base_year",
    "iso3",
    "entity_kind",
    "in_universe",
)
_BAD_PREFIX = "__bad__"


def parse_activity(path: Path) -> pl.DataFrame:
    """The activity-level file as a validated polars frame (small files and tests; the build lands it with
    land_activity, which runs this same code)."""
    import tempfile

    import duckdb

    with tempfile.TemporaryDirectory(prefix="hpw-activity-") as scratch, duckdb.connect() as con:
        con.execute("create schema raw")
        _load_activity(con, path, Path(scratch) / f"{ACTIVITY_TABLE}.parquet", provenance={})
        return con.sql(f"select * from raw.{ACTIVITY_TABLE} order by source_row").pl()


def land_activity(database: Path, source_file) -> dict[str, int]:
    """Land an activity-level file of any size as `raw.us_foreign_aid_activity` of `database`.

    polars streams the CSV, in file order and in bounded memory, into one Parquet file under
    `raw_parquet/` of the warehouse (warehouse.raw_parquet_dir), with the data-row number and the typed
    contract columns; `raw.us_foreign_aid_activity` is a view over it that adds the country crosswalk (run on
    the distinct code/name pairs only) and the load's provenance. The contract is checked as SQL on that view.
    All database changes happen in one transaction: a file that breaks its contract, or names an unknown
    country, leaves the database as it was and raises ContractViolation / UnmappedCountryError.
    Records the load in meta.loads like land_raw. Returns the entity counts plus `rows_landed`.
    """
    import time
    from datetime import datetime

    from data_contracts._sql import literal
    from pipelines import warehouse

    started = time.perf_counter()
    loaded_at = datetime.now(UTC)
    provenance = {
        "_source_file": source_file.path.name,
        "_source_sha256": source_file.sha256,
        "_source_vintage": source_file.vintage,
        "_loaded_at": loaded_at,
    }
    parquet = warehouse.raw_parquet_dir(database) / _parquet_name(source_file.sha256)
    with warehouse.connect(database) as con:
        # The checks scan Parquet in a bounded buffer pool: peak memory stays flat whatever the file size.
        con.execute(f"set memory_limit = {literal(os.environ.get('HPW_INGEST_MEMORY_LIMIT', INGEST_MEMORY_LIMIT))}")
        con.execute(f"create schema if not exists {warehouse.RAW_SCHEMA}")
        con.execute(f"create schema if not exists {warehouse.META_SCHEMA}")
        con.execute(warehouse.LOADS_DDL)
        con.execute("begin transaction")
        try:
            counts = _load_activity(con, source_file.path, parquet, provenance)
            warehouse.record_load(
                con,
                ACTIVITY_TABLE,
                SOURCE,
                source_file,
                counts,
                landed=counts["rows_landed"],
                rejected=0,
                loaded_at=loaded_at,
                seconds=time.perf_counter() - started,
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    warehouse.prune_raw_parquet(database, keep=parquet)
    return counts


def _parquet_name(content_sha256: str) -> str:
    """Content address of the landed Parquet: the CSV's sha256 and the code that shapes it (this module, the
    column-naming rules, the type-cast rule, polars). A re-build of an unchanged file reuses it; any change writes a
    new one."""
    import hashlib

    import data_contracts._base as contract_base
    from pipelines.sources import base

    digest = hashlib.sha256(content_sha256.encode())
    for code in (Path(__file__), Path(base.__file__), Path(contract_base.__file__)):
        digest.update(code.read_bytes())
    digest.update(pl.__version__.encode())
    return f"{ACTIVITY_TABLE}-{digest.hexdigest()[:20]}.parquet"


def _write_parquet(
    path: Path, header: list[str], names: list[str], typed: dict[str, pl.DataType], parquet: Path
) -> None:
    """Stream the CSV into `parquet`: every cell as text (blank, quoted or not, = NULL), the contract's typed columns
    cast by enforce()'s own rule (data_contracts._base.cast_expr), and beside each a `__bad__` column keeping the text
    of a cell that does not fit its type (type_failures reports it by value and row)."""
    texts = []
    for original, name in zip(header, names):
        text = pl.col(original)
        if name == "fiscal_year":
            text = text.str.replace(r"(?i)tq$", "")  # '1976tq' -> 1976; the label keeps 'tq'
        elif name == "income_group_acronym":
            text = pl.when(text != "NULL").then(text)  # the publisher writes the literal string NULL
        texts.append(text.alias(name))
    year = pl.col(header[names.index("fiscal_year")])
    texts += [
        year.alias("fiscal_year_label"),
        pl.when(year.str.to_lowercase().str.ends_with("tq"))
        .then(pl.lit("TQ"))
        .otherwise(pl.lit("FY"))
        .alias("fiscal_period"),
    ]
    # one with_columns: the `__bad__` columns and the casts both read the text as selected above
    bad = [pl.when(unfit_expr(n, t, pl.String())).then(pl.col(n)).alias(_BAD_PREFIX + n) for n, t in typed.items()]
    casts = [cast_expr(n, t, pl.String()).alias(n) for n, t in typed.items()]
    scratch = parquet.with_name(f".{parquet.name}.{os.getpid()}.tmp")
    try:
        (
            pl.scan_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=True)
            .with_columns(pl.when(pl.col(pl.String) != "").then(pl.col(pl.String)))  # (`replace` is not streamed)
            .with_row_index("source_row", offset=1)  # data-row number, in file order (streaming keeps order)
            .select(pl.col("source_row").cast(pl.Int64), *texts)
            .with_columns(*bad, *casts)
            .sink_parquet(scratch, compression="lz4")
        )
        os.replace(scratch, parquet)  # a killed build never leaves half a file under the final name
    finally:
        scratch.unlink(missing_ok=True)


def _load_activity(con, path: Path, parquet: Path, provenance: dict) -> dict[str, int]:
    """Land the CSV at `path` as Parquet and create `raw.us_foreign_aid_activity` over it, with the columns
    parse_activity has always produced (plus `provenance` constants); enforce the contract in SQL.
    Reuses `parquet` when it exists (content-addressed). Runs inside the caller's transaction, which rolls back on
    failure. Returns the entity counts plus `rows_landed`."""
    from data_contracts._base import ContractViolation, Failure, check_columns, contract_dtypes, required_columns
    from data_contracts._sql import literal, quote, sql_failures, type_failures
    from pipelines.countries import resolve

    model = UsForeignAidActivity

    def unreadable(err: Exception) -> ContractViolation:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return ContractViolation(SOURCE, path.name, [Failure("(file)", "readable CSV", values=[first])])

    try:
        header = pl.scan_csv(path, infer_schema=False, encoding="utf8", raise_if_empty=True).collect_schema().names()
    except (pl.exceptions.PolarsError, OSError) as err:
        raise unreadable(err) from None
    names = [ACTIVITY_RENAMES.get(snake_case(c), snake_case(c)) for c in header]
    # Same rule and message as enforce(): a missing contract column is schema drift, shown as a column diff.
    missing, columns_diff = check_columns(
        SOURCE, path.name, names + list(_DERIVED), list(contract_dtypes(model)), required_columns(model)
    )
    if missing:
        raise ContractViolation(
            SOURCE,
            path.name,
            [
                Failure(c, "required column present (schema drift: removed or renamed)", values=[columns_diff])
                for c in missing
            ],
        )

    typed = {c: t for c, t in contract_dtypes(model).items() if t != pl.String and c in names}
    parquet.parent.mkdir(parents=True, exist_ok=True)
    if not parquet.is_file():  # content-addressed: an unchanged file was landed already
        try:
            _write_parquet(path, header, names, typed, parquet)
        except pl.exceptions.PolarsError as err:
            raise unreadable(err) from None
    landed = f"read_parquet({literal(str(parquet))})"

    if not con.execute(f"select exists (from {landed})").fetchall()[0][0]:
        raise ContractViolation(
            SOURCE,
            path.name,
            [Failure("(data rows)", "at least one data row", values=["the file has a header but no data rows"])],
        )
    failures = type_failures(con, landed, {name: _BAD_PREFIX + name for name in typed}, model)
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)

    pairs = con.sql(f"select distinct country_code, country_name from {landed}").pl()
    mapping = resolve(pairs, SOURCE, code_col="country_code", name_col="country_name", code_is_iso3=True)
    crosswalk = ", ".join(
        "(" + ", ".join("null" if v is None else literal(v) for v in row) + ")"
        for row in mapping.select("country_code", "country_name", "iso3", "entity_kind", "in_universe").iter_rows()
    )
    selects = (
        ["p.source_row"]
        + [f"p.{quote(n)}" for n in names]
        + [
            "p.fiscal_year_label",
            "p.fiscal_period",
            f"{_base_year(ACTIVITY_BASE_YEAR)}::bigint as constant_usd_base_year",
            "m.iso3::varchar as iso3",
            "m.entity_kind::varchar as entity_kind",
            "m.in_universe::boolean as in_universe",
        ]
    )
    for column, value in provenance.items():
        selects.append(
            f"{literal(value.isoformat()) + '::timestamptz' if hasattr(value, 'isoformat') else literal(value)} as "
            f"{quote(column)}"
        )
    con.execute(
        f"create or replace view raw.{ACTIVITY_TABLE} as select {', '.join(selects)} from {landed} as p "
        f"left join (values {crosswalk}) as m(country_code, country_name, iso3, entity_kind, in_universe) "
        "on p.country_code is not distinct from m.country_code and p.country_name is not distinct from m.country_name"
    )
    failures = sql_failures(con, f"raw.{ACTIVITY_TABLE}", model, unique_by_construction=frozenset({"source_row"}))
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)
    row = con.execute(
        f"""select count(*),
               count(*) filter (where entity_kind = 'country' and in_universe),
               count(*) filter (where entity_kind in ('country', 'unresolved') and not in_universe),
               count(*) filter (where entity_kind = 'aggregate'),
               count(*) filter (where entity_kind in ('non_state', 'organisation'))
            from raw.{ACTIVITY_TABLE}"""
    ).fetchall()[0]
    keys = ("rows_in", "rows_country_in_universe", "rows_outside_universe", "rows_aggregate", "rows_non_state")
    return {**dict(zip(keys, map(int, row))), "rows_landed": int(row[0])}


SUMMARY = RawTable(
    name="us_foreign_aid_summary",
    source=SOURCE,
    cadence="quarterly",
    snapshot=SNAPSHOT,
    default_file="us_foreign_aid_country.csv",
    vintage=(
        "ForeignAssistance.gov country summary, downloaded ~late 2024 (FY1946-FY2024, FY2024 partial; constant FY2022 "
        "USD)"
    ),
    parse=parse_summary,
    description=(
        "ForeignAssistance.gov country summary: total US foreign assistance per country, transaction type and fiscal "
        "year."
    ),
)

ACTIVITY = RawTable(
    name="us_foreign_aid_activity",
    source=SOURCE,
    cadence="quarterly",
    snapshot=SNAPSHOT,
    default_file="El_Salvador_2022-2002_Econ_Other.csv",
    vintage=(
        "ForeignAssistance.gov activity-level export, 2022 (El Salvador, FY2002-2022, Economic, Obligations; constant "
        "FY2021 USD)"
    ),
    parse=parse_activity,
    land=land_activity,
    description=(
        "ForeignAssistance.gov activity-level ('complete') layout; carries the Economic/Military objective split."
    ),
)

RAW_TABLES = (SUMMARY, ACTIVITY)
