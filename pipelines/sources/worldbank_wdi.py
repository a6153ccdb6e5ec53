"""World Bank World Development Indicators (WDI) and Worldwide Governance Indicators (WGI): the whole snapshot folder.

The publisher's bulk download is one `API_<code>_DS2_...csv` per indicator, so the folder is read as a whole:
`RawTable` points at one file, and each parse reads every file *of its kind* in that file's folder (the given
file included even if its name does not match). Three raw tables, one per file kind:
  worldbank_wdi_csv                 every API_*.csv, long: one row per economy x year cell
  worldbank_wdi_json                every *.json (API v2 `[page-info, rows]` responses), one row per record
  worldbank_wdi_indicator_metadata  every Metadata_Indicator_*.csv
Point a table at a download folder with `HPW_WORLDBANK_WDI_CSV_PATH=/downloads/API_X.csv` (any API_ file in it).

Quirks handled (data/snapshots/worldbank_wdi/SOURCE.md and SOURCE_more.md):
- Three CSV dialects: quoted 4-line preamble (`"Data Source","World Development Indicators",` / blank /
  `"Last Updated Date",...` / blank), the same preamble unquoted (2026 WGI, CRLF), and no preamble at all (mirrors
  cut it). The header is the line whose first field is `Country Name`; it is found, never assumed to be line 5.
  BOM (on line 1, preamble or header) and CRLF are handled by the reader; a file without a header line fails.
- Every line ends with a comma: an unnamed trailing column. It must be empty and is dropped.
- Blank cells (`""` or nothing) mean *not available*: the raw long table keeps every cell (value NULL = blank) so that
  the file's full economy x year grid is visible; the mart keeps only non-NULL values.
- Values in scientific notation (`-8.9991399999999999E-2` in RL.EST) are plain floats.
- Aggregates (LCN, LAC, TLA, and WLD, EAS, ... in full-world files) are kept with entity_kind 'aggregate', no ISO3;
  codes are ISO3 otherwise (XKX Kosovo via the alias file).
- The preamble's Data Source is not trusted to tell WDI from WGI (the 2025 PV.EST file says "World Development
  Indicators"); it is kept as published in `data_source`.
- Vintage: preamble "Last Updated Date" if present; bundled files whose preamble a mirror removed get their vintage
  from SOURCE.md (matched by sha256); other files say they have none.
- JSON: a single page is required (`pages` = 1: otherwise the file is a partial download). The header's `total`
  counts the unfiltered response, so it is not compared with the records kept. `date` is a year string; `unit` and
  `obs_status` are blank (-> NULL); the latest year has `value: null` (not available, kept as NULL).
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from data_contracts._base import (
    ContractFindings,
    ContractViolation,
    Failure,
    enforce,
    enforce_files,
    held_findings,
    report,
)
from data_contracts.worldbank_wdi import (
    WorldbankWdiCell,
    WorldbankWdiIndicatorMetadata,
    WorldbankWdiJson,
    wide_model,
)
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, file_sha256, read_text_csv

SOURCE = "worldbank_wdi"
SNAPSHOT = "worldbank_wdi"
CSV_GLOB = "API_*.csv"
JSON_GLOB = "*.json"
METADATA_GLOB = "Metadata_Indicator_*.csv"
HEADER_FIRST_FIELD = "Country Name"
FIXED_COLUMNS = {
    "Country Name": "country_name",
    "Country Code": "country_code",
    "Indicator Name": "indicator_name",
    "Indicator Code": "indicator_code",
}
YEAR_HEADER = r"^\d{4}$"

# Bundled files whose preamble the mirror removed: their release is only known from SOURCE.md / SOURCE_more.md.
# Keyed by sha256 so that a user's file of the same name never inherits it. vintage_date is the latest date the
# release can be (mirror commit date, or the end of the month SOURCE.md gives); it only orders releases.
BUNDLED_VINTAGES = {
    # API_MS.MIL.MPRT.KD_..._1745336
    "c0dd54aaa1c486dfbf56c641ec0f46f8bf23b65032a1577d89b33ec2f7c03d8f": (
        "WDI ~Dec 2020 (SOURCE.md; preamble removed by mirror)",
        "2020-12-31",
    ),
    # API_MS.MIL.XPND.GD.ZS_..._1740297
    "b86887661e90265d9fe9ccb19f2c52d62292fe3a0c7dacae2cbb533d6d40be05": (
        "WDI ~Dec 2020 (SOURCE.md; preamble removed by mirror)",
        "2020-12-31",
    ),
    # API_NY.GDP.MKTP.CD_..._4683825
    "756b7c0118375d684a8fff56b924e19e4534793c81675d5686e4ce7307615f7e": (
        "WDI ~Oct/Nov 2022 (mirror commit 2022-11-02; preamble removed)",
        "2022-11-02",
    ),
    # API_NE.TRD.GNFS.ZS_..._5871884
    "aa42a23c621c14b8a71d52ea23216040e37507e72211f9cf0090923bb73a06ab": (
        "WDI ~Sep 2023 (mirror commit 2023-10-04; preamble removed)",
        "2023-10-04",
    ),
    # API_CC.EST_..._4455
    "531f62b5c4344359be85c7a60f256c89825cbaa24351e54e3541b1ac8d32bfc6": (
        "WGI 2026 release (mirror commit 2026-03-25; preamble removed)",
        "2026-03-25",
    ),
}


@dataclass(frozen=True)
class CsvDialect:
    """What the lines before the data say about one API_ CSV."""

    header_line: int  # 0-based physical line of the `Country Name` header
    kind: str  # quoted_preamble | unquoted_preamble | no_preamble
    bom: bool
    crlf: bool
    preamble: dict[str, str]  # e.g. {"Data Source": ..., "Last Updated Date": ...}


def _folder_files(path: Path, pattern: str) -> list[Path]:
    """Every file of one kind next to `path`, and `path` itself: the folder is one download."""
    return sorted(
        {p.resolve() for p in path.parent.glob(pattern) if p.is_file()} | {path.resolve()}, key=lambda p: p.name
    )


API_JSON_START = re.compile(rb'^\s*\[\s*\{\s*"page"')


def _api_json_files(path: Path) -> list[Path]:
    """The named file, and every other *.json beside it that is an API v2 response (`[{"page": ...`): an
    unrelated .json in the download folder (a manifest, notes) is not World Bank data and is left alone."""

    def is_api_response(candidate: Path) -> bool:
        with candidate.open("rb") as handle:
            return bool(API_JSON_START.match(handle.read(256).lstrip(codecs.BOM_UTF8)))

    named = path.resolve()
    return [p for p in _folder_files(path, JSON_GLOB) if p == named or is_api_response(p)]


def _fail(path: Path, column: str, check: str, values: list, rows: list[int] | None = None) -> ContractViolation:
    return ContractViolation(
        SOURCE, path.name, [Failure(column, check, values=[str(v) for v in values], rows=rows or [], count=len(values))]
    )


def sniff(path: Path) -> CsvDialect:
    """Find the header line (first field `Country Name`) and read the preamble above it, if any.

    Only the lines up to the header are looked at; the data are read by polars.
    """
    with path.open("rb") as handle:
        bom = handle.read(3) == codecs.BOM_UTF8
    preamble_lines: list[str] = []
    # newline="" keeps CRLF visible; physical lines are what polars' skip_lines counts.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for number, line in enumerate(handle):
            fields = next(csv.reader([line.rstrip("\r\n")]), [])
            if fields and fields[0].strip() == HEADER_FIRST_FIELD:
                pairs = [next(csv.reader([p.rstrip("\r\n")]), []) for p in preamble_lines if p.strip()]
                preamble = {f[0].strip(): f[1].strip() for f in pairs if len(f) >= 2}
                first = next((p for p in preamble_lines if p.strip()), None)
                kind = (
                    "no_preamble"
                    if first is None
                    else ("quoted_preamble" if first.lstrip().startswith('"') else "unquoted_preamble")
                )
                return CsvDialect(number, kind, bom, line.endswith("\r\n"), preamble)
            preamble_lines.append(line)
    shown = preamble_lines[0].strip()[:120] if preamble_lines else "(empty file)"
    raise _fail(
        path,
        HEADER_FIRST_FIELD,
        f'header line present (a line whose first field is "{HEADER_FIRST_FIELD}")',
        [f"first line: {shown}"],
    )


def _file_vintage(path: Path, sha: str, last_updated: str | None, data_source: str | None) -> tuple[str, str | None]:
    """(file_vintage text, vintage_date 'YYYY-MM-DD' or None)."""
    if last_updated:
        return f"{data_source or 'World Bank'}, Last Updated Date {last_updated}", last_updated
    if sha in BUNDLED_VINTAGES:
        return BUNDLED_VINTAGES[sha]
    modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()
    return f"no Last Updated Date in file; file modified {modified}", None


def _drop_trailing_empty(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """The trailing comma on every line makes an unnamed column: drop it, but only if it is really empty."""
    unnamed = [c for c in frame.columns if c.strip() == "" or c.startswith("_duplicated_")]
    for column in unnamed:
        filled = frame.filter(pl.col(column).is_not_null() & (pl.col(column).str.strip_chars() != ""))
        if filled.height:
            raise _fail(
                path,
                "(unnamed trailing column)",
                "is empty",
                filled[column].head(5).to_list(),
                filled["source_row"].head(5).to_list(),
            )
    return frame.drop(unnamed)


def parse_api_csv(path: Path) -> pl.DataFrame:
    """One API_ CSV -> long frame (one row per economy x year cell), wide and long contracts enforced."""
    return enforce(_api_csv_long(path), WorldbankWdiCell, source=SOURCE, file=path.name)


def _api_csv_long(path: Path) -> pl.DataFrame:
    """One API_ CSV -> long frame with countries attached, its wide contract enforced; the long one is the
    caller's."""
    dialect = sniff(path)
    try:
        # skip_lines counts physical lines, matching the header position found by sniff().
        raw = read_text_csv(path, skip_lines=dialect.header_line)
    except pl.exceptions.PolarsError as err:
        raise _fail(path, "(csv records)", "parse as CSV", [str(err).splitlines()[0]]) from err
    raw = _drop_trailing_empty(raw, path)
    columns = [c for c in raw.columns if c != "source_row"]
    years = [c for c in columns if re.fullmatch(YEAR_HEADER, c)]
    unexpected = [c for c in columns if c not in FIXED_COLUMNS and c not in years]
    if unexpected:
        raise _fail(path, "(header)", "only Country/Indicator Name/Code and year columns", unexpected)
    if not years:
        raise _fail(path, "(year columns)", "at least one year column", [f"found columns: {columns}"])
    wide = enforce(raw.rename(FIXED_COLUMNS, strict=False), wide_model(years), source=SOURCE, file=path.name)

    sha = file_sha256(path)
    last_updated = dialect.preamble.get("Last Updated Date") or None
    data_source = dialect.preamble.get("Data Source") or None
    vintage, vintage_date = _file_vintage(path, sha, last_updated, data_source)
    long = (
        wide.unpivot(index=["source_row", *FIXED_COLUMNS.values()], on=years, variable_name="year", value_name="value")
        .sort("source_row", "year")
        .with_columns(
            file=pl.lit(path.name),
            dialect=pl.lit(dialect.kind),
            data_source=pl.lit(data_source, pl.String),
            last_updated=pl.lit(last_updated, pl.String),
            file_vintage=pl.lit(vintage),
            vintage_date=pl.lit(vintage_date, pl.String),
            file_sha256=pl.lit(sha),
        )
    )
    return attach_iso3(long, SOURCE, code_col="country_code", name_col="country_name", code_is_iso3=True)


def parse_csv_folder(path: Path) -> pl.DataFrame:
    """Every API_*.csv in the folder of `path`, stacked: what `parse_api_csv` file by file gives, errors and
    findings in the same order, with the long contract validated once over the stack (`enforce_files`)."""
    parts: list[tuple[str, pl.DataFrame]] = []
    wide_findings: list[ContractFindings] = []
    failed: Exception | None = None
    for file in _folder_files(path, CSV_GLOB):
        try:
            with held_findings() as found:
                parts.append((file.name, _api_csv_long(file)))
        except Exception as err:  # noqa: BLE001 - raised below, once the earlier files' long contracts ran
            failed = err
            break
        wide_findings.append(found)
    if failed is None:
        return enforce_files(parts, WorldbankWdiCell, source=SOURCE, preceding=wide_findings)
    if parts:  # file by file, the earlier files were checked in full before this one failed
        enforce_files(parts, WorldbankWdiCell, source=SOURCE, preceding=wide_findings)
    report(found)
    raise failed


def parse_indicator_metadata(path: Path) -> pl.DataFrame:
    """One Metadata_Indicator_*.csv (BOM, CRLF, quoted notes spanning lines, trailing empty column)."""
    raw = _drop_trailing_empty(read_text_csv(path), path)
    tidy = raw.rename({c: c.casefold() for c in raw.columns if c != "source_row"}).with_columns(file=pl.lit(path.name))
    return enforce(tidy, WorldbankWdiIndicatorMetadata, source=SOURCE, file=path.name)


def parse_metadata_folder(path: Path) -> pl.DataFrame:
    return pl.concat([parse_indicator_metadata(p) for p in _folder_files(path, METADATA_GLOB)], how="vertical")


def parse_api_json(path: Path) -> pl.DataFrame:
    """One API v2 JSON response `[ {page, pages, per_page, total, sourceid, lastupdated}, [records...] ]`."""
    # Numbers stay text (parse_float/int=str) so that the contract, not json, decides what a bad value is.
    payload = json.loads(path.read_text(encoding="utf-8-sig"), parse_float=str, parse_int=str)
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and isinstance(payload[0], dict)
        and "page" in payload[0]
        and isinstance(payload[1], list)
    ):
        # An API error comes back as [{"message": [...]}]: show it.
        raise _fail(path, "(json structure)", "a [page-info, rows] array", [json.dumps(payload)[:200]])
    header, records = payload
    if str(header.get("pages", "1")) != "1":
        raise _fail(
            path,
            "pages",
            "a single page (re-download with per_page >= total)",
            [f"page {header.get('page')} of {header.get('pages')}"],
        )
    if not records:
        raise _fail(path, "(rows)", "at least one record", ["[]"])
    rows = pl.json_normalize(records, infer_schema_length=None).with_columns(pl.all().cast(pl.String))
    rows = rows.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.col(pl.String).replace("", None)
    )
    expected = {"indicator.id", "indicator.value", "country.id", "country.value", "countryiso3code", "date", "value"}
    missing = sorted(expected - set(rows.columns))
    if missing:
        raise _fail(
            path, ", ".join(missing), "required record fields present", [f"found fields: {sorted(rows.columns)}"]
        )
    for optional in ("unit", "obs_status", "decimal"):
        if optional not in rows.columns:
            rows = rows.with_columns(pl.lit(None, pl.String).alias(optional))
    sha = file_sha256(path)
    last_updated = header.get("lastupdated") or None
    vintage, vintage_date = _file_vintage(
        path, sha, last_updated, "World Bank API v2 (source " + str(header.get("sourceid")) + ")"
    )
    tidy = rows.select(
        "source_row",
        file=pl.lit(path.name),
        # Aggregates without an ISO3-style code fall back to the API's own 2-character id.
        country_code=pl.coalesce("countryiso3code", "country.id"),
        country_iso2=pl.col("country.id"),
        country_name=pl.col("country.value"),
        indicator_code=pl.col("indicator.id"),
        indicator_name=pl.col("indicator.value"),
        year=pl.col("date"),
        value=pl.col("value"),
        unit=pl.col("unit"),
        obs_status=pl.col("obs_status"),
        decimal=pl.col("decimal"),
        api_source_id=pl.lit(header.get("sourceid"), pl.String),
        last_updated=pl.lit(last_updated, pl.String),
        file_vintage=pl.lit(vintage),
        vintage_date=pl.lit(vintage_date, pl.String),
        file_sha256=pl.lit(sha),
    )
    mapped = attach_iso3(tidy, SOURCE, code_col="country_code", name_col="country_name", code_is_iso3=True)
    return enforce(mapped, WorldbankWdiJson, source=SOURCE, file=path.name)


def parse_json_folder(path: Path) -> pl.DataFrame:
    return pl.concat([parse_api_json(p) for p in _api_json_files(path)], how="vertical")


WDI_CSV = RawTable(
    name="worldbank_wdi_csv",
    source=SOURCE,
    cadence="quarterly",
    snapshot=SNAPSHOT,
    # Anchors the folder: parse reads every API_*.csv next to it (see module docstring).
    default_file="API_SP.POP.TOTL_DS2_en_csv_v2_4473555_LAC_USA.csv",
    vintage=(
        "World Bank WDI/WGI API_ bulk CSVs, 9 indicators, releases ~Dec 2020 to 2026-03 (per-file vintage in "
        "file_vintage)"
    ),
    parse=parse_csv_folder,
    description=(
        "World Bank WDI/WGI bulk CSVs (every API_*.csv in the folder), long: one row per economy x indicator x year; "
        "value NULL = blank cell."
    ),
)

WDI_JSON = RawTable(
    name="worldbank_wdi_json",
    source=SOURCE,
    cadence="quarterly",
    snapshot=SNAPSHOT,
    default_file="NY_GDP_MKTP_KD_api_v2_LAC_USA.json",
    vintage="World Bank API v2 JSON, NY.GDP.MKTP.KD, lastupdated 2026-04-08 (mirror extract: ARG, BRA, MEX, USA)",
    parse=parse_json_folder,
    description=(
        "World Bank API v2 JSON responses (every *.json in the folder): one row per economy x indicator x year; value "
        "NULL = API null."
    ),
)

WDI_INDICATOR_METADATA = RawTable(
    name="worldbank_wdi_indicator_metadata",
    source=SOURCE,
    cadence="quarterly",
    snapshot=SNAPSHOT,
    default_file="Metadata_Indicator_API_RL.EST_DS2_en_csv_v2_5814.csv",
    vintage="World Bank indicator metadata shipped with the API_RL.EST bulk download (2026)",
    parse=parse_metadata_folder,
    description=(
        "World Bank indicator metadata (every Metadata_Indicator_*.csv in the folder): name, source note, organisation."
    ),
)

RAW_TABLES = (WDI_CSV, WDI_JSON, WDI_INDICATOR_METADATA)
