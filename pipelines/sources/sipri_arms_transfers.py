"""SIPRI Arms Transfers Database: the trade register (one line per deal) and the TIV import/export tables.

Quirks handled (see data/snapshots/sipri_arms_transfers/SOURCE.md):
- ISO-8859-1 encoding (polars reads UTF-8 only): the bytes are decoded as latin-1 before parsing (a copy
  re-saved as UTF-8 is recognised and read as UTF-8).
- Preambles of notes before the header (register 11 lines, TIV tables 9): the header line is detected by its
  content, not by a fixed count, and a missing or unexpected header fails with the lines that were seen.
- A stray CR inside a comment exists in SIPRI's full register: a lone CR is replaced by a space so that it can
  never split a record; CRLF files are read like LF files.
- A line break inside a comment (unquoted) splits a record over two lines in some exports: the two halves are
  joined back when together they make exactly one record.
- Register: three columns whose header is a single space hold `?` (uncertain) for the column before each;
  they are named `<previous column>_flag` by position. `Year(s) of delivery` is a `; `-separated list
  (kept as text, checked, and summarised as first/last year). TIV in millions; an empty `SIPRI TIV for
  total order` = unknown (null); `0` = under 0.5 m (or nothing delivered when number_delivered is 0).
- TIV tables: wide (one column per year) -> long (row x year). `0 ` (zero and a space) = 0-0.5 m
  (`below_half_mn`); blank = no deliveries identified (`no_deliveries`, tiv_mn null), except in a year the
  table has not compiled yet (the world-total cell is blank: 2024 in the Oct-2024 export) -> `not_compiled`.
  Percentages like `2.4%` become numbers; the world-total footer row is an aggregate.
- Names ending `*` (non-state actors) and `**` (organisations) are kept as such via the crosswalk, never
  mapped onto a country; the host country named in parentheses, e.g. `Contras (Nicaragua)*`, is resolved
  separately into `recipient_host_iso3`.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.sipri_arms_transfers import SipriArmsRegister, SipriTivTable
from pipelines.countries import attach_iso3, resolve
from pipelines.sources.base import RawTable, read_text_csv

SOURCE = "sipri_arms_transfers"
SNAPSHOT = "sipri_arms_transfers"
ENCODING = "latin-1"
MAX_PREAMBLE_LINES = 40

REGISTER_COLUMNS = {
    "recipient": "recipient_name",
    "supplier": "supplier_name",
    "year of order": "order_year",
    "number ordered": "number_ordered",
    "weapon designation": "weapon_designation",
    "weapon description": "weapon_description",
    "number delivered": "number_delivered",
    "year(s) of delivery": "delivery_years",
    "status": "status",
    "comments": "comments",
    "sipri tiv per unit": "tiv_per_unit_mn",
    "sipri tiv for total order": "tiv_order_mn",
    "sipri tiv of delivered weapons": "tiv_delivered_mn",
}
# The blank-named column after each of these holds its `?` uncertainty flag.
FLAGGED_COLUMNS = ("order_year", "number_ordered", "number_delivered")
TIV_TRAILING_COLUMNS = {
    "percentage": "range_share_pct",
    "sum total years": "sum_total_years_tiv_mn",
    "percentage of total": "share_of_total_pct",
}


def _fail(path: Path, column: str, check: str, values: list[str], rows: list[int] | None = None) -> ContractViolation:
    return ContractViolation(
        SOURCE, path.name, [Failure(column, check, values=values, rows=rows or [], count=len(values))]
    )


def _decode(raw: bytes) -> str:
    """SIPRI exports are latin-1. A file re-saved as UTF-8 (e.g. by a spreadsheet) is recognised because latin-1
    accents are never valid UTF-8 sequences, so it is not turned into mojibake (`GuaiquerÃ­`)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode(ENCODING)


def _read_lines(path: Path) -> list[str]:
    """Decode, and split on LF only; a lone CR (one exists inside a SIPRI comment) becomes a space."""
    text = _decode(path.read_bytes()).replace("\r\n", "\n")
    return text.replace("\r", " ").split("\n")


def _find_header(lines: list[str], path: Path, is_header, expected: str) -> int:
    for index, line in enumerate(lines[:MAX_PREAMBLE_LINES]):
        if is_header(line.split(",")):
            return index
    raise _fail(
        path, "(header line)", f"found within the first {MAX_PREAMBLE_LINES} lines ({expected})", values=lines[:3]
    )


def _data_generated(preamble: list[str]) -> str | None:
    """`Data generated: 13 Mar 2025 10:02:49 AM` from the preamble: the true vintage of a user-supplied file."""
    hits = [m.group(1).strip() for line in preamble if (m := re.match(r"Data generated:\s*(.+)", line.strip()))]
    return hits[0] if hits else None


def _join_broken_records(records: pl.Series, width: int) -> pl.Series:
    """SIPRI's exports carry line breaks inside a comment, unquoted (Oct-2024 register: the Thailand/Ukraine BTR-3
    and United Nations/Israel Hermes-900 deals). A short line whose fields and the next line's add up to exactly
    one record (`width` fields, the break inside one field) is one record: joined with a space."""
    fields = (records.str.count_matches(",") + 1).to_list()
    short = [i for i, n in enumerate(fields[:-1]) if n < width and n + fields[i + 1] - 1 == width]
    if not short:
        return records
    lines, skip = records.to_list(), set()
    for i in short:
        if i not in skip and i + 1 not in skip:
            lines[i] = lines[i].rstrip() + " " + lines[i + 1].lstrip()
            skip.add(i + 1)
    return pl.Series(records.name, [line for i, line in enumerate(lines) if i not in skip])


def _read_data(lines: list[str], header_at: int, names: list[str], path: Path) -> pl.DataFrame:
    """Data records after the header, every column as text, blank lines dropped, field counts checked."""
    records = pl.Series("line", lines[header_at + 1 :])
    records = _join_broken_records(records.filter(records.str.strip_chars() != ""), len(names))
    # No quoting in SIPRI exports: a record with another field count has a comma inside a field (shifted columns).
    fields = records.str.count_matches(",") + 1
    bad = fields != len(names)
    if bad.any():
        rows = (pl.int_range(1, records.len() + 1, eager=True).filter(bad)).head(5).to_list()
        raise _fail(
            path,
            "(record layout)",
            f"has {len(names)} comma-separated fields",
            records.filter(bad).head(5).to_list(),
            rows,
        )
    data = read_text_csv(
        io.BytesIO("\n".join(records.to_list()).encode("utf8")), has_header=False, new_columns=names, quote_char=None
    )
    # Stray spaces around names and designations are formatting (`Fleyta/Skorpion `), not data.
    return data.with_columns(pl.col(names).str.strip_chars()).with_columns(pl.col(names).replace("", None))


def _register_names(header: list[str], path: Path) -> list[str]:
    names: list[str] = []
    for position, cell in enumerate(header):
        key = cell.strip().casefold()
        if key in REGISTER_COLUMNS:
            names.append(REGISTER_COLUMNS[key])
        elif key == "" and names and names[-1] in FLAGGED_COLUMNS:
            names.append(f"{names[-1]}_flag")
        else:
            raise _fail(path, f"(header column {position + 1})", "is a known trade-register column", [cell])
    missing = sorted(set(REGISTER_COLUMNS.values()) - set(names))
    if missing:
        raise _fail(path, "(header)", "has every trade-register column", [f"missing: {missing}; header: {header}"])
    return names


def _host_iso3(frame: pl.DataFrame) -> pl.DataFrame:
    """Host country of a non-state/organisation recipient, from the country SIPRI names in its label.

    `Contras (Nicaragua)*` -> NIC, `Haiti rebels*` -> HTI; labels naming no country (`Regional Security System**`)
    get null. The extracted name goes through the crosswalk like any other, so an unknown one raises.
    """
    host = (
        pl.when(pl.col("recipient_entity_kind").is_in(["non_state", "organisation"]))
        .then(
            pl.coalesce(
                pl.col("recipient_name").str.extract(r"\(([^()]+)\)\s*\*+$"),
                pl.col("recipient_name").str.extract(r"^(.+?)\s+rebels\s*\*+$"),
            )
        )
        .alias("recipient_host_name")
    )
    frame = frame.with_columns(host)
    names = frame.select("recipient_host_name").drop_nulls().unique()
    if names.height:
        mapping = resolve(names, SOURCE, name_col="recipient_host_name").select(
            "recipient_host_name", recipient_host_iso3="iso3"
        )
    else:
        mapping = pl.DataFrame(schema={"recipient_host_name": pl.String, "recipient_host_iso3": pl.String})
    return frame.join(mapping, on="recipient_host_name", how="left", maintain_order="left").drop("recipient_host_name")


def _attach_party(frame: pl.DataFrame, party: str) -> pl.DataFrame:
    mapped = attach_iso3(frame, SOURCE, name_col=f"{party}_name")
    return mapped.rename(
        {"iso3": f"{party}_iso3", "entity_kind": f"{party}_entity_kind", "in_universe": f"{party}_in_universe"}
    )


def parse_register(path: Path) -> pl.DataFrame:
    lines = _read_lines(path)
    header_at = _find_header(
        lines,
        path,
        lambda cells: [c.strip().casefold() for c in cells[:2]] == ["recipient", "supplier"],
        "starting `Recipient,Supplier,`",
    )
    names = _register_names(lines[header_at].split(","), path)
    data = _read_data(lines, header_at, names, path)
    years = pl.col("delivery_years").str.split("; ").list.eval(pl.element().cast(pl.Int32, strict=False))
    data = data.with_columns(
        first_delivery_year=years.list.min(),
        last_delivery_year=years.list.max(),
        data_generated=pl.lit(_data_generated(lines[:header_at]), pl.String),
    )
    data = _host_iso3(_attach_party(_attach_party(data, "recipient"), "supplier"))
    return enforce(data, SipriArmsRegister, source=SOURCE, file=path.name)


def _tiv_parser(label: str):
    """Parser for a TIV table whose first header cell is `label` (`Recipient` for imports, `Exports by` for exports)."""

    def parse(path: Path) -> pl.DataFrame:
        lines = _read_lines(path)
        header_at = _find_header(
            lines,
            path,
            lambda cells: len(cells) > 1 and re.fullmatch(r"\d{4}", cells[1].strip()) is not None,
            "a first column label followed by year columns",
        )
        header = [c.strip() for c in lines[header_at].split(",")]
        if header[0].casefold() != label.casefold():
            raise _fail(path, "(header column 1)", f"is {label!r} (the other TIV table?)", [header[0]])
        names = ["country_name"]
        for position, cell in enumerate(header[1:], start=2):
            if re.fullmatch(r"\d{4}", cell):
                names.append(cell)
            elif re.fullmatch(r"\d{4}-\d{4}", cell):
                names.append("range_total_tiv_mn")
            elif cell.casefold() in TIV_TRAILING_COLUMNS:
                names.append(TIV_TRAILING_COLUMNS[cell.casefold()])
            else:
                raise _fail(
                    path, f"(header column {position})", "is a year, a year range or a known total column", [cell]
                )
        if len(set(names)) != len(names):
            raise _fail(path, "(header)", "has unique columns", [str(header)])
        year_cols = [n for n in names if n.isdigit()]
        wide = _read_data(lines, header_at, names, path)
        # A shorter export without the total/percentage columns is still usable: those stay null.
        for optional in ("range_total_tiv_mn", *TIV_TRAILING_COLUMNS.values()):
            if optional not in wide.columns:
                wide = wide.with_columns(pl.lit(None, pl.String).alias(optional))
        wide = wide.with_columns(
            pl.col("range_share_pct", "share_of_total_pct").str.strip_suffix("%"),
            data_generated=pl.lit(_data_generated(lines[:header_at]), pl.String),
        )
        # A year the table has not compiled yet is blank everywhere, the world total included (2024 here).
        totals = wide.filter(pl.col("country_name").str.starts_with("Total world"))
        basis = totals if totals.height else wide
        not_compiled = [y for y in year_cols if basis[y].is_null().all()]
        long = wide.unpivot(
            index=[c for c in wide.columns if c not in year_cols], on=year_cols, variable_name="year", value_name="cell"
        )
        long = long.with_columns(
            cell_status=pl.when(pl.col("cell").is_null() & pl.col("year").is_in(not_compiled))
            .then(pl.lit("not_compiled"))
            .when(pl.col("cell").is_null())
            .then(pl.lit("no_deliveries"))
            # `0 ` (sometimes `0`) is SIPRI's marker for 0-0.5 m: the value stays 0 and the status says why.
            .when(pl.col("cell").str.strip_chars() == "0")
            .then(pl.lit("below_half_mn"))
            .otherwise(pl.lit("reported")),
            tiv_mn=pl.col("cell").str.strip_chars(),
        ).drop("cell")
        long = long.sort("source_row", "year")
        mapped = attach_iso3(long, SOURCE, name_col="country_name")
        return enforce(mapped, SipriTivTable, source=SOURCE, file=path.name)

    return parse


parse_tiv_imports = _tiv_parser("Recipient")
parse_tiv_exports = _tiv_parser("Exports by")

REGISTER = RawTable(
    name="sipri_arms_register",
    source=SOURCE,
    cadence="yearly",
    snapshot=SNAPSHOT,
    default_file="trade-register_lac_us.csv",
    vintage=(
        "SIPRI Arms Transfers Database trade register, data generated 13 Mar 2025 (LAC/US extract; deliveries "
        "1950-2024)"
    ),
    parse=parse_register,
    description=(
        "SIPRI trade register: one row per arms deal (recipient, supplier, order, deliveries, SIPRI TIV in millions)."
    ),
)
TIV_IMPORTS = RawTable(
    name="sipri_tiv_imports",
    source=SOURCE,
    cadence="yearly",
    snapshot=SNAPSHOT,
    default_file="import-values_1950-2024_lac_us.csv",
    vintage="SIPRI TIV import table 1950-2024, data generated 13 Oct 2024 (2024 not yet compiled)",
    parse=parse_tiv_imports,
    description="SIPRI TIV of arms imports per recipient and year (millions of TIV), long form.",
)
TIV_EXPORTS = RawTable(
    name="sipri_tiv_exports",
    source=SOURCE,
    cadence="yearly",
    snapshot=SNAPSHOT,
    default_file="export-values_1950-2024_lac_us.csv",
    vintage="SIPRI TIV export table 1950-2024, data generated 13 Oct 2024 (2024 not yet compiled)",
    parse=parse_tiv_exports,
    description="SIPRI TIV of arms exports per supplier and year (millions of TIV), long form.",
)

RAW_TABLES = (REGISTER, TIV_IMPORTS, TIV_EXPORTS)
