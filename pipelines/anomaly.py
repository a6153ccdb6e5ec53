"""The anomaly gate: a new vintage of a raw table is compared with the one the published warehouse holds.

A file can meet its contract and still be wrong: a download cut at a line end, a column exported blank, a row
repeated, codes shuffled between countries, amounts re-saved rounded. Each raw table, as it is landed in the build
database (`warehouse.record_load`), is compared with the same raw table of the published file; a change beyond
these tolerances stops the build, naming the source, the file and what changed:

- row count: rows fall by more than `ROW_DROP` (20 %);
- column gone NULL: a column with values before is now entirely NULL, or its share of values fell by more than
  half (from at least 20 %);
- duplicated rows: more rows repeated exactly (all columns but the row number) than in the published vintage;
- values moved between countries: at least `MOVED_MIN_ROWS` (3) rows, and `MOVED_SHARE` (20 %) of a country's
  previous rows, reappear unchanged under another country;
- lost precision: a numeric column with decimals in at least 10 % of values keeps them in less than a quarter as
  many, or one with at most half its values in round thousands has more than 95 %.

The same file as the published vintage (same sha256) is not compared. A first build, or a raw table the published
file lacks, has nothing to compare with. A change that is real (a publisher really dropped years) is let through
with `hpw build --accept-change RAW_TABLE=REASON` (or `HPW_ACCEPT_CHANGE=RAW_TABLE=REASON;...`): the build
goes on, and the reason and what was accepted are recorded in `meta.ingestions.accepted_change`.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path

import duckdb

from pipelines.warehouse import scalar

log = logging.getLogger("hpw.anomaly")

ROW_DROP = 0.20
NULL_SHARE_MIN = 0.20
MOVED_MIN_ROWS = 3
MOVED_SHARE = 0.20
DECIMALS_MIN = 0.10
ROUND_THOUSANDS = 0.95

# Columns that say which country a row is about (or are derived from it): the "moved" check compares the rest.
COUNTRY_COLUMN = re.compile(
    r"(^|_)(iso[23]?|country|countries|cty|partner|recipient|supplier|cow|entity|universe|region|income|location|"
    r"counterpart|m49)(_|$)|^code$",
    re.I,
)
BOOKKEEPING = re.compile(r"^(source_row|_source_\w+|_loaded_at)$")
NUMERIC = (
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "FLOAT",
    "DOUBLE",
    "DECIMAL",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
)

_accepted_now: dict[str, str] = {}


class AnomalyError(ValueError):
    """A new vintage that differs from the published one beyond the gate's tolerance."""


def accepted_changes() -> dict[str, str]:
    """Raw table -> reason, from HPW_ACCEPT_CHANGE (`hpw build --accept-change` sets it)."""
    accepted = {}
    for item in (os.environ.get("HPW_ACCEPT_CHANGE") or "").split(";"):
        name, _, reason = item.partition("=")
        if name.strip():
            accepted[name.strip()] = reason.strip() or "(no reason given)"
    return accepted


def accepted_now(raw_table: str) -> str | None:
    """What the gate let through for `raw_table` in this process's current build (recorded in the ingestion log)."""
    return _accepted_now.get(raw_table)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(con, relation: str) -> dict[str, str]:
    return {name: kind for name, kind, *_ in con.execute(f"describe select * from {relation}").fetchall()}


def _profile(con, relation: str, columns: dict[str, str]) -> dict:
    """Row count, values per column, distinct values per column, exact duplicates, decimals and round thousands."""
    names = list(columns)
    numeric = [c for c in names if columns[c].split("(")[0] in NUMERIC]
    parts = ["count(*)"] + [f"count({_quote(c)})" for c in names]
    parts += [f"approx_count_distinct({_quote(c)})" for c in names]
    for c in numeric:
        q = _quote(c)
        parts += [
            f"count(*) filter (where {q} <> round({q}))",
            f"count(*) filter (where {q} <> 0)",
            f"count(*) filter (where {q} <> 0 and {q} % 1000 = 0)",
        ]
    values = con.execute(f"select {', '.join(parts)} from {relation}").fetchone()
    rows, rest = values[0], list(values[1:])
    filled, rest = dict(zip(names, rest[: len(names)])), rest[len(names) :]
    distinct, rest = dict(zip(names, rest[: len(names)])), rest[len(names) :]
    numbers = {c: rest[i * 3 : i * 3 + 3] for i, c in enumerate(numeric)}
    return {"rows": rows, "filled": filled, "distinct": distinct, "numbers": numbers}


def _duplicates(con, relation: str, columns: list[str]) -> int:
    if not columns:
        return 0
    group = ", ".join(_quote(c) for c in columns)
    return con.execute(
        f"select coalesce(sum(n - 1), 0) from "
        f"(select count(*) as n from {relation} group by {group} having count(*) > 1)"
    ).fetchone()[0]


def _row_hashes(con, relation: str, columns: list[str], numeric: list[str]):
    """(iso3, hash of the row's non-country values) of rows that carry at least one number."""
    carried = " or ".join(f"{_quote(c)} is not null" for c in numeric) or "true"
    values = ", ".join(_quote(c) for c in columns)
    import warnings

    with warnings.catch_warnings():  # the copy it warns about is two narrow columns
        warnings.simplefilter("ignore", UserWarning)
        return con.execute(
            f"select iso3, hash(row({values})) as h from {relation} where iso3 is not null and ({carried})"
        ).to_arrow_table()


def compare(new, old, relation_new: str, relation_old: str) -> list[str]:
    """What changed beyond tolerance between the published raw table (`old` connection) and the new one."""
    new_columns, old_columns = _columns(new, relation_new), _columns(old, relation_old)
    common = {c: k for c, k in new_columns.items() if c in old_columns and not BOOKKEEPING.match(c)}
    before, after = _profile(old, relation_old, common), _profile(new, relation_new, common)
    findings = []
    if before["rows"] and after["rows"] < before["rows"] * (1 - ROW_DROP):
        findings.append(
            f"rows fell from {before['rows']:,} to {after['rows']:,} "
            f"({(after['rows'] - before['rows']) / before['rows']:+.0%})"
        )
    for c in common:
        was = before["filled"][c] / before["rows"] if before["rows"] else 0
        now = after["filled"][c] / after["rows"] if after["rows"] else 0
        if before["filled"][c] and after["rows"] and after["filled"][c] == 0:
            findings.append(f"column {c} is now entirely empty (had {before['filled'][c]:,} values)")
        elif was >= NULL_SHARE_MIN and now < was / 2:
            findings.append(f"column {c} has values in {now:.0%} of rows (was {was:.0%})")
    # Columns holding one value throughout (a file date, a vintage label) say nothing about rows.
    varying = [c for c in common if (before["distinct"][c] or 0) > 1 or (after["distinct"][c] or 0) > 1]
    duplicates = (_duplicates(old, relation_old, varying), _duplicates(new, relation_new, varying))
    if duplicates[1] > duplicates[0]:
        findings.append(f"{duplicates[1]:,} row(s) repeat another row exactly (published vintage: {duplicates[0]:,})")
    for c, (frac_old, nonzero_old, thousands_old) in before["numbers"].items():
        frac_new, nonzero_new, thousands_new = after["numbers"][c]
        filled_old, filled_new = before["filled"][c], after["filled"][c]
        had = frac_old / filled_old if filled_old else 0
        if filled_new and had >= DECIMALS_MIN and frac_new / filled_new < had / 4:
            findings.append(
                f"column {c} lost its decimals ({frac_new / filled_new:.0%} of values have any, "
                f"was {frac_old / filled_old:.0%})"
            )
        elif (
            nonzero_old >= 20
            and nonzero_new >= 20
            and thousands_old / nonzero_old <= 0.5
            and thousands_new / nonzero_new > ROUND_THOUSANDS
        ):
            findings.append(
                f"column {c} is rounded to thousands ({thousands_new / nonzero_new:.0%} of values, "
                f"was {thousands_old / nonzero_old:.0%})"
            )
    if "iso3" in common:
        values = [c for c in varying if not COUNTRY_COLUMN.search(c)]
        numeric = [c for c in values if common[c].split("(")[0] in NUMERIC]
        if values:
            findings.extend(_moved(new, old, relation_new, relation_old, values, numeric))
    return findings


def _moved(new, old, relation_new: str, relation_old: str, values: list[str], numeric: list[str]) -> list[str]:
    previous = _row_hashes(old, relation_old, values, numeric)  # noqa: F841 - scanned by name below
    current = _row_hashes(new, relation_new, values, numeric)  # noqa: F841
    moved = new.execute(
        """
        with was as (select iso3, h from previous), now as (select iso3, h from current),
        lost as (select w.iso3, w.h from was w
                 where not exists (select 1 from now n where n.h = w.h and n.iso3 = w.iso3)),
        pairs as (select l.iso3 as was_iso3, n.iso3 as now_iso3, count(distinct l.h) as rows
                  from lost l join now n on n.h = l.h and n.iso3 <> l.iso3 group by all),
        sizes as (select iso3, count(*) as rows from was group by iso3)
        select was_iso3, now_iso3, p.rows, s.rows from pairs p join sizes s on s.iso3 = p.was_iso3
        where p.rows >= ? and p.rows >= ? * s.rows order by p.rows desc limit 5
        """,
        [MOVED_MIN_ROWS, MOVED_SHARE],
    ).fetchall()
    return [
        f"{rows:,} of {was_rows:,} rows of {was} now appear unchanged under {now} (values moved between countries)"
        for was, now, rows, was_rows in moved
    ]


def published_database(con) -> Path | None:
    """The published file beside the build database open as `con`, when `con` is a warehouse's build database."""
    path = con.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()[0]
    if not path:
        return None
    path = Path(path).resolve()
    if path.parent.name != ".build":
        return None
    published = path.parent.parent / "partnership.duckdb"
    return published if published.is_file() else None


def check(con, raw_table: str, source: str, file_name: str, sha256: str) -> None:
    """Stop `raw_table`'s new vintage (already in `con`'s raw schema) if it differs from the published one beyond
    tolerance; let it through, recorded, when the user accepted the change."""
    _accepted_now.pop(raw_table, None)
    published = published_database(con)
    if published is None:
        return
    stat = published.stat()
    try:
        tables, previous_loads = _published_loads(published, stat.st_mtime_ns, stat.st_size, stat.st_ino)
    except _Unreadable as err:  # an unreadable published file is no baseline; the build will replace it
        log.warning(f"anomaly gate: the published file does not open ({err}); not compared")
        return
    if raw_table not in tables:
        return
    previous = previous_loads.get(raw_table) if previous_loads is not None else None
    if previous and previous[1] == sha256:  # the same file as the published vintage: nothing to compare
        return
    try:
        old = duckdb.connect(str(published), read_only=True)
    except duckdb.Error as err:
        log.warning(f"anomaly gate: the published file does not open ({str(err).splitlines()[0][:120]}); not compared")
        return
    with old:
        relation = f"raw.{_quote(raw_table)}"
        findings = compare(con, old, relation, relation)
    if not findings:
        return
    against = previous[0] if previous else "(unnamed file)"
    summary = "; ".join(findings)
    accepted = accepted_changes().get(raw_table)
    if accepted:
        _accepted_now[raw_table] = f"{accepted} [accepted: {summary}]"[:2000]
        log.warning(f"[{source}] {raw_table}: change accepted ({accepted}): {summary}")
        return
    raise AnomalyError(
        f"[{source}] {file_name}: anomaly gate stopped {raw_table} against the published vintage {against}: "
        f"{summary}; hint: if this change is real, build with --accept-change {raw_table}=REASON"
    )


class _Unreadable(Exception):
    """The published file does not open (carries the first line of DuckDB's error)."""


@functools.lru_cache(maxsize=4)
def _published_loads(
    published: Path, mtime_ns: int, size: int, inode: int
) -> tuple[frozenset[str], dict[str, tuple] | None]:
    """The published file's raw tables and its meta.loads (raw table -> file_name, sha256, vintage; None without
    meta.loads). Read once per published file: every raw asset of a build asks, and the file changes only when a
    build publishes, so its identity is the key. A raw table whose file is the published vintage's is then let
    through without opening the published database. Raises _Unreadable (not cached: the next asset tries again)."""
    try:
        old = duckdb.connect(str(published), read_only=True)
    except duckdb.Error as err:
        raise _Unreadable(str(err).splitlines()[0][:120]) from err
    with old:
        tables = frozenset(
            r[0]
            for r in old.execute(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            ).fetchall()
        )
        has_loads = scalar(
            old, "select count(*) from information_schema.tables where table_schema = 'meta' and table_name = 'loads'"
        )
        if not has_loads:
            return tables, None
        loads: dict[str, tuple] = {}
        for raw_table, *previous in old.execute(
            "select raw_table, file_name, sha256, vintage from meta.loads"
        ).fetchall():
            loads.setdefault(raw_table, tuple(previous))  # the first row, as a lookup by raw table would give
    return tables, loads
