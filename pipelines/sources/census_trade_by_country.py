"""US Census Bureau goods exports and general imports by partner country and month (US$ millions).

The bundled file (data/snapshots/census_trade_by_country/) is one JSON object a line, partner x calendar year with
twelve monthly values per flow; live, the publisher's country workbook (`country.xlsx`, or a CSV export of it) is
read instead. The layout is recognised by content, not by file name:
- `PK` zip magic: the Census workbook, sheet `country`, header `year, CTY_CODE, CTYNAME, IJAN..IDEC, IYR, EJAN..EDEC,
  EYR` (found by content, so a title row above it does not matter);
- `{` first: the JSON-lines shards;
- otherwise text with the workbook's header: a CSV export of the workbook.
Both become one tidy row per partner x month, values still in US$ millions (staging converts to USD).

Quirks handled:
- Census fills months not yet published with 0 in the workbook (the shards write `null`): in the file's latest year,
  a trailing run of months that is zero for every partner and both flows is unpublished and becomes NULL. A zero
  for one partner in a published month stays zero.
- A null month is only legitimate where Census has published nothing for that month; a null in a month other
  partners have is a gap in the file and breaks the contract.
- Census groupings share the partner column with countries: `AGG_<code>` in the shards, CTY_CODE `0XXX` in the
  workbook (South and Central America, CAFTA-DR, EU, world totals, ...). They are aggregates (iso3 NULL).
- Partners resolve by code before name: ISO3 in the shards, Schedule C `CTY_CODE` through
  data/reference/census_cty_codes.csv in the workbook. A Western Hemisphere code (2000-3999) missing from that table
  falls back to the crosswalk by name and fails loudly when unknown; codes of other regions are kept, not resolved
  (iso3 NULL, outside the universe, counted).
- The workbook pads with rows whose year is blank and every value 0; those carry no data and are dropped (logged).
- The annual columns are Census's own: for the latest, partial year they are year-to-date totals. The twelve months
  must sum to them within US$1M (the shards' one-decimal rounding).
"""

from __future__ import annotations

import io
import json
import logging
from functools import lru_cache
from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce, row_failure
from data_contracts.census_trade_by_country import CensusTradeByCountry, CensusTradeWorldTotals
from pipelines import settings
from pipelines.countries import attach_iso3, universe_iso3
from pipelines.sources.base import RawTable

SOURCE = "census_trade_by_country"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WORKBOOK_COLUMNS = ["year", "CTY_CODE", "CTYNAME", *(f"I{m}" for m in MONTHS), "IYR", *(f"E{m}" for m in MONTHS), "EYR"]
SHARD_KEYS = {"country_code", "year", "exports", "imports", "exports_year", "imports_year"}
# Schedule C: 2XXX North and Central America and the Caribbean (with Bermuda, 2320), 3XXX South America.
HEMISPHERE_CODE = r"^[23][0-9]{3}$"
# Rounding of the one-decimal shards: twelve months may miss Census's annual figure by up to US$1M.
ANNUAL_TOLERANCE_MUSD = 1.0
CODES_FILE = settings.REFERENCE_DIR / "census_cty_codes.csv"

log = logging.getLogger("hpw.sources")


def _fail(path: Path, column: str, check: str, values: list, rows: list[int] | None = None) -> ContractViolation:
    failure = Failure(column, check, values=[str(v) for v in values], rows=rows or [], count=len(values))
    return ContractViolation(SOURCE, path.name, [failure])


@lru_cache(maxsize=1)
def _cty_codes() -> pl.DataFrame:
    return pl.read_csv(CODES_FILE, schema_overrides={"cty_code": pl.String}).select("iso3", "cty_code")


def _json_lines(path: Path, text: str):
    """(line number, object) for every non-blank line; numbers stay text, so the contract judges them."""
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line, parse_float=str, parse_int=str)
        except json.JSONDecodeError as error:
            problem = f"{error.msg}: {line[:80]}"
            raise _fail(path, "(json line)", "one JSON object a line", [problem], [line_no]) from None
        if not isinstance(record, dict):
            raise _fail(path, "(json line)", "one JSON object a line", [line[:120]], [line_no])
        yield line_no, record


def _read_shards(path: Path, text: str) -> pl.DataFrame:
    """JSON lines -> one row per line with the month arrays as lists of text (the contract types them)."""
    records = []
    for line_no, record in _json_lines(path, text):
        if not SHARD_KEYS <= record.keys():
            line = json.dumps(record)
            raise _fail(path, "(json line)", f"an object with keys {sorted(SHARD_KEYS)}", [line[:120]], [line_no])
        for flow in ("exports", "imports"):
            if not isinstance(record[flow], list) or len(record[flow]) != 12:
                raise _fail(path, flow, "an array of 12 monthly values", [str(record[flow])[:120]], [line_no])
        records.append(
            {
                "source_row": line_no,
                "partner_code": record["country_code"],
                "partner_name": None,
                "year": record["year"],
                "exports": [None if v is None else str(v) for v in record["exports"]],
                "imports": [None if v is None else str(v) for v in record["imports"]],
                "exports_year": record["exports_year"],
                "imports_year": record["imports_year"],
                "balance_year": record.get("balance_year"),
            }
        )
    if not records:
        raise _fail(path, "(data rows)", "at least one data row", ["the file has no JSON lines"])
    frame = pl.DataFrame(
        records,
        schema={
            "source_row": pl.Int64,
            "partner_code": pl.String,
            "partner_name": pl.String,
            "year": pl.String,
            "exports": pl.List(pl.String),
            "imports": pl.List(pl.String),
            "exports_year": pl.String,
            "imports_year": pl.String,
            "balance_year": pl.String,
        },
        strict=False,
    )
    months = pl.int_range(1, 13, dtype=pl.Int64).implode()
    long = frame.with_columns(month=months).explode("exports", "imports", "month")
    return long.with_columns(layout=pl.lit("json lines"))


def _workbook_header(sheet: pl.DataFrame, path: Path) -> tuple[int, list[str]]:
    """Row index and names of the header row: the first row whose cells include CTY_CODE and CTYNAME."""
    for index, row in enumerate(sheet.head(20).iter_rows()):
        cells = [str(c).strip() if c is not None else "" for c in row]
        if "CTY_CODE" in cells and "CTYNAME" in cells:
            missing = [c for c in WORKBOOK_COLUMNS if c not in cells]
            if missing:
                raise _fail(
                    path, "(header)", f"the workbook columns {WORKBOOK_COLUMNS}", [f"missing {missing}"], [index + 1]
                )
            return index, cells
    raise _fail(
        path,
        "(header)",
        "a header row with CTY_CODE and CTYNAME in the first 20 rows",
        [str(sheet.head(3).rows())[:200]],
    )


def _read_workbook(path: Path, data: bytes) -> pl.DataFrame:
    """The Census country workbook (xlsx or a CSV export of it) -> one row per line, months as lists of text."""
    if data[:4] == b"PK\x03\x04":
        sheets = pl.read_excel(
            io.BytesIO(data), sheet_id=0, has_header=False, infer_schema_length=0, raise_if_empty=False
        )
        # sheet_id=0 reads every sheet: the publisher's is named `country`; otherwise the first.
        sheet = sheets.get("country", next(iter(sheets.values())))
    else:
        # A CSV export may carry title lines above the header: start reading at the header line.
        lines = data.decode("utf-8-sig", errors="replace").splitlines()
        start = next((i for i, line in enumerate(lines[:20]) if "CTY_CODE" in line and "CTYNAME" in line), 0)
        sheet = pl.read_csv(
            io.BytesIO(data.removeprefix(b"\xef\xbb\xbf")),
            has_header=False,
            infer_schema_length=0,
            encoding="utf8-lossy",
            skip_rows=start,
        )
    header_index, names = _workbook_header(sheet, path)
    position = {name: sheet.columns[names.index(name)] for name in WORKBOOK_COLUMNS}
    body = sheet.slice(header_index + 1).select(
        [pl.col(position[name]).cast(pl.String).str.strip_chars().alias(name) for name in WORKBOOK_COLUMNS]
    )
    body = body.with_row_index("source_row", offset=1).with_columns(pl.col("source_row").cast(pl.Int64))
    body = body.with_columns(pl.col(pl.String).replace("", None))
    values = [c for c in WORKBOOK_COLUMNS if c not in ("year", "CTY_CODE", "CTYNAME")]
    no_trade = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).cast(pl.Float64, strict=False) == 0) for c in values]
    )
    padding = pl.col("year").is_null() & no_trade
    dropped = body.filter(padding).height
    if dropped:
        log.info("[%s] %s: %d padding row(s) with blank year and no trade dropped", SOURCE, path.name, dropped)
    body = body.filter(~padding)
    # Workbook code columns may arrive as numbers (2010.0) when Excel stored them so: keep the 4-digit text.
    body = body.with_columns(
        pl.when(pl.col("CTY_CODE").str.contains(r"^[0-9]+(\.0+)?$"))
        .then(pl.col("CTY_CODE").str.replace(r"\.0+$", "").str.zfill(4))
        .otherwise(pl.col("CTY_CODE")),
        pl.col("year").str.replace(r"^([0-9]{4})\.0+$", "$1"),
    )
    return (
        body.select(
            "source_row",
            partner_code=pl.col("CTY_CODE"),
            partner_name=pl.col("CTYNAME"),
            year=pl.col("year"),
            exports=pl.concat_list([pl.col(f"E{m}") for m in MONTHS]),
            imports=pl.concat_list([pl.col(f"I{m}") for m in MONTHS]),
            exports_year=pl.col("EYR"),
            imports_year=pl.col("IYR"),
            balance_year=pl.lit(None, pl.String),
            month=pl.int_range(1, 13, dtype=pl.Int64).implode(),
        )
        .explode("exports", "imports", "month")
        .with_columns(layout=pl.lit("census workbook"))
    )


def _unpublished_to_null(frame: pl.DataFrame) -> pl.DataFrame:
    """In the latest year, the trailing months that are 0 (or blank) for every partner and flow are unpublished."""
    numeric = frame.with_columns(
        e=pl.col("exports").cast(pl.Float64, strict=False),
        i=pl.col("imports").cast(pl.Float64, strict=False),
        y=pl.col("year").cast(pl.Int64, strict=False),
    )
    latest = numeric["y"].max()
    traded = (
        numeric.filter(pl.col("y") == latest)
        .group_by("month")
        .agg(has_trade=((pl.col("e").fill_null(0) != 0) | (pl.col("i").fill_null(0) != 0)).any())
    )
    last_published = traded.filter("has_trade")["month"].max() or 0
    unpublished = (pl.col("year").cast(pl.Int64, strict=False) == latest) & (pl.col("month") > last_published)
    return frame.with_columns(
        exports=pl.when(unpublished).then(None).otherwise(pl.col("exports")),
        imports=pl.when(unpublished).then(None).otherwise(pl.col("imports")),
    )


def _resolve(frame: pl.DataFrame, layout: str) -> pl.DataFrame:
    """iso3 / entity_kind / in_universe: codes first (ISO3 or Schedule C), names only where a code is unknown."""
    codes = _cty_codes()
    if layout == "json lines":
        mapped = attach_iso3(frame, SOURCE, code_col="partner_code", code_is_iso3=True)
        return mapped.join(codes, on="iso3", how="left", maintain_order="left").with_columns(
            cty_code=pl.when(pl.col("partner_code").str.starts_with("AGG_"))
            .then(pl.col("partner_code").str.slice(4))
            .otherwise(pl.col("cty_code"))
        )
    frame = frame.with_columns(cty_code=pl.col("partner_code"))
    by_code = frame.join(codes, left_on="cty_code", right_on="cty_code", how="left", maintain_order="left")
    is_aggregate = pl.col("cty_code").str.starts_with("0") | pl.col("cty_code").str.contains(r"[^0-9]")
    known = by_code.filter(pl.col("iso3").is_not_null())
    aggregates = by_code.filter(pl.col("iso3").is_null() & is_aggregate)
    in_hemisphere = pl.col("cty_code").str.contains(HEMISPHERE_CODE)
    hemisphere = by_code.filter(pl.col("iso3").is_null() & ~is_aggregate & in_hemisphere)
    elsewhere = by_code.filter(pl.col("iso3").is_null() & ~is_aggregate & ~in_hemisphere)
    universe = list(universe_iso3())
    parts = [
        known.with_columns(entity_kind=pl.lit("country"), in_universe=pl.col("iso3").is_in(universe)),
        aggregates.with_columns(entity_kind=pl.lit("aggregate"), in_universe=pl.lit(False)),
        elsewhere.with_columns(entity_kind=pl.lit("country"), in_universe=pl.lit(False)),
    ]
    if hemisphere.height:
        parts.append(attach_iso3(hemisphere.drop("iso3"), SOURCE, name_col="partner_name"))
    if elsewhere.height:
        log.info(
            "[%s] %d partner code(s) outside the Western Hemisphere kept unresolved (outside the universe)",
            SOURCE,
            elsewhere["cty_code"].n_unique(),
        )
    return pl.concat(parts, how="diagonal_relaxed").sort("source_row", "month")


def consistency_failures(frame: pl.DataFrame) -> list[Failure]:
    """Cross-column rules: one row per partner and month, gaps only in unpublished months, months sum to the year."""
    numbers = ("exports_musd", "imports_musd", "exports_year_musd", "imports_year_musd")
    typed = frame.with_columns([pl.col(c).cast(pl.Float64, strict=False).alias(f"_{c}") for c in numbers])
    failures = [
        row_failure(
            typed,
            pl.struct("partner_code", "year", "month").is_duplicated(),
            "partner_code",
            "one line per partner and year",
            shown=pl.concat_str("partner_code", pl.lit(" "), "year"),
        ),
    ]
    for flow in ("exports", "imports"):
        value = pl.col(f"{flow}_musd")
        published = value.is_not_null().any().over("year", "month")
        failures.append(
            row_failure(
                typed,
                value.is_null() & published,
                flow,
                "is null only in months Census has not published for any partner",
                shown=pl.concat_str("partner_code", pl.lit(" "), "year", pl.lit("-"), "month", pl.lit(" null")),
            )
        )
        total = pl.col(f"_{flow}_musd").sum().over("source_row")
        off = (total - pl.col(f"_{flow}_year_musd")).abs() > ANNUAL_TOLERANCE_MUSD
        failures.append(
            row_failure(
                typed,
                off & (pl.col("month") == 1),
                f"{flow}_year",
                f"equals the sum of the twelve months within US${ANNUAL_TOLERANCE_MUSD:g}M",
                shown=pl.concat_str(
                    "partner_code",
                    pl.lit(" "),
                    "year",
                    pl.lit(": year "),
                    f"{flow}_year_musd",
                    pl.lit(" vs months "),
                    total.round(1).cast(pl.String),
                ),
            )
        )
    return [f for f in failures if f is not None]


def parse(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    if not data.strip():
        raise _fail(path, "(data rows)", "at least one data row", ["the file is empty"])
    text_start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if text_start == b"{":
        raw = _read_shards(path, data.decode("utf-8-sig"))
    else:
        raw = _read_workbook(path, data)
    raw = _unpublished_to_null(raw)
    mapped = _resolve(raw, raw["layout"][0])
    tidy = mapped.select(
        "source_row",
        "layout",
        "partner_code",
        "cty_code",
        "partner_name",
        "year",
        "month",
        period=pl.concat_str(pl.col("year"), pl.lit("-"), pl.col("month").cast(pl.String).str.zfill(2)),
        exports_musd=pl.col("exports"),
        imports_musd=pl.col("imports"),
        exports_year_musd=pl.col("exports_year"),
        imports_year_musd=pl.col("imports_year"),
        balance_year_musd=pl.col("balance_year"),
        iso3="iso3",
        entity_kind="entity_kind",
        in_universe="in_universe",
    )
    failures = consistency_failures(tidy)
    try:
        typed = enforce(tidy, CensusTradeByCountry, source=SOURCE, file=path.name)
    except ContractViolation as violation:
        raise ContractViolation(SOURCE, path.name, violation.failures + failures) from None
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)
    return typed


def parse_world_totals(path: Path) -> pl.DataFrame:
    """US totals with the world (Census basis, goods, not seasonally adjusted), one JSON object a line."""
    rows = [
        {"source_row": line_no, **{k: None if v is None else str(v) for k, v in record.items()}}
        for line_no, record in _json_lines(path, path.read_text(encoding="utf-8-sig"))
    ]
    if not rows:
        raise _fail(path, "(data rows)", "at least one data row", ["the file has no JSON lines"])
    frame = pl.DataFrame(rows, infer_schema_length=None)
    renames = {"exports": "exports_musd", "imports": "imports_musd", "balance": "balance_musd"}
    frame = frame.rename(renames, strict=False)
    failures = []
    if set(renames.values()) <= set(frame.columns):
        number = lambda c: pl.col(c).cast(pl.Float64, strict=False)  # noqa: E731
        gap = (number("exports_musd") - number("imports_musd") - number("balance_musd")).abs()
        failure = row_failure(frame, gap > 0.15, "balance_musd", "equals exports - imports within US$0.15M")
        failures = [failure] if failure else []
    typed = enforce(frame, CensusTradeWorldTotals, source=SOURCE, file=path.name)
    if failures:
        raise ContractViolation(SOURCE, path.name, failures)
    return typed


CENSUS_BY_COUNTRY = RawTable(
    name="census_trade_by_country",
    source=SOURCE,
    cadence="monthly",
    snapshot="census_trade_by_country",
    default_file="census_trade_by_country_lac_2022_2026.jsonl",
    vintage="Census country workbook via corbett-hobbs/congress-ideology shards, data through 2026-08 (after the "
    "June-2026 annual revision)",
    parse=parse,
    description="US Census Bureau: US goods exports (total, FAS) and general imports (customs value) by partner and "
    "month, US$ millions, one row per partner x month; Census groupings are aggregates (iso3 NULL).",
    live_url="https://www.census.gov/foreign-trade/balance/country.xlsx",
)

CENSUS_WORLD_TOTALS = RawTable(
    name="census_trade_world_totals",
    source=SOURCE,
    cadence="monthly",
    snapshot="census_trade_by_country",
    default_file="world_totals_census_basis_2022_2025.jsonl",
    vintage="corbett-hobbs/congress-ideology trade_national.json (Census basis, goods, NSA), 2022-2025",
    parse=parse_world_totals,
    description="US Census Bureau: US goods exports and imports with the world per year (Census basis, NSA), "
    "US$ millions.",
)

RAW_TABLES = (CENSUS_BY_COUNTRY, CENSUS_WORLD_TOTALS)
