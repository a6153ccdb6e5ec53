"""Schema-drift gate: every source file's columns are compared with what the warehouse expects, before dbt runs.

`data_contracts._base.enforce()` (which every parser ends with, so every raw asset passes it before any dbt model
runs) calls `check()`:
- expected columns = the contract's columns, plus the columns the previous published build landed for that
  source (`raw.*` of the published warehouse; `hpw build` loads them with `load_baseline()` before it starts);
- a contract column that is missing (removed or renamed) stops the build with a diff of expected versus found;
- a column whose values are *all* of another type (numbers became text) stops the build as a type change
  (reported by `enforce()`, see `type_change()`);
- a column that is new (in neither the contract nor the previous build) passes, with a warning naming it.
"""

from __future__ import annotations

import logging
from pathlib import Path

LOG = logging.getLogger(__name__)
STAMPS = {"_source_file", "_source_sha256", "_source_vintage", "_loaded_at", "source_row"}

_baseline: dict[str, set[str]] = {}
_warnings: list[str] = []


def load_baseline(published_db: Path) -> dict[str, set[str]]:
    """Columns of the previous build's raw tables, by source (from `meta.loads` + information_schema)."""
    _baseline.clear()
    if not published_db.is_file():
        return {}
    import duckdb

    try:
        with duckdb.connect(str(published_db), read_only=True) as con:
            rows = con.execute(
                "select l.source, c.column_name from meta.loads l join information_schema.columns c "
                "on c.table_schema = 'raw' and c.table_name = l.raw_table"
            ).fetchall()
    except duckdb.Error as err:  # an older warehouse without meta.loads: no baseline, the contract still applies
        LOG.warning("schema-drift baseline not readable from %s (%s)", published_db.name, err)
        return {}
    for source, column in rows:
        if column not in STAMPS:
            _baseline.setdefault(source, set()).add(column)
    return dict(_baseline)


def reset() -> None:
    _baseline.clear()
    _warnings.clear()


def warnings() -> list[str]:
    return list(_warnings)


def diff(expected: list[str], found: list[str]) -> str:
    """`expected [...]; found [...]; missing [...]; new [...]` — the lines a user compares with the file's header."""
    expected_set, found_set = set(expected), set(found)
    missing = [c for c in expected if c not in found_set]
    new = [c for c in found if c not in expected_set]
    return f"missing {missing}; new {new}; expected {sorted(expected_set)}; found {sorted(found_set)}"


def new_columns(source: str, found: list[str], contract_columns: list[str]) -> list[str]:
    baseline = _baseline.get(source)
    if baseline is None:  # no previous build of this source: only the contract is known
        return []
    known = set(contract_columns) | baseline | STAMPS
    return [c for c in found if c not in known]


def check(source: str, file: str, found: list[str], contract_columns: list[str], required: list[str]):
    """Return (missing required columns, drift message) and record a warning for additive columns."""
    missing = [c for c in required if c not in found]
    added = new_columns(source, found, contract_columns)
    if added and not missing:
        message = f"[{source}] {file}: new column(s) {added} not in the contract or the previous build (additive drift, kept in raw)"
        LOG.warning(message)
        if message not in _warnings:
            _warnings.append(message)
    visible = [c for c in found if c not in STAMPS]
    return missing, diff([c for c in contract_columns if c not in STAMPS], visible)


def type_change(values_failing: int, values_present: int) -> bool:
    """A whole column failing its type (more than one value, all of them) is a type change, not a bad cell."""
    return values_present > 1 and values_failing == values_present
