"""Schema-drift rules of the contracts: every source file's columns compared with what the warehouse expects.

- expected columns = the contract's columns, plus the columns the previous published build landed for that
  source (the *baseline*: read from the published warehouse by the raw asset and handed to the contract);
- a contract column that is missing (removed or renamed) stops the build with a diff of expected versus found;
- a column whose values are *all* of another type (numbers became text) stops the build as a type change
  (reported by `enforce()`, see `type_change()`);
- a column that is new (in neither the contract nor the previous build) passes, with a warning naming it.

Pure functions: the warning is returned, never kept here.
"""

from __future__ import annotations

STAMPS = frozenset({"_source_file", "_source_sha256", "_source_vintage", "_loaded_at", "source_row"})


def diff(expected: list[str], found: list[str]) -> str:
    """`expected [...]; found [...]; missing [...]; new [...]` — the lines a user compares with the file's header."""
    expected_set, found_set = set(expected), set(found)
    missing = [c for c in expected if c not in found_set]
    new = [c for c in found if c not in expected_set]
    return f"missing {missing}; new {new}; expected {sorted(expected_set)}; found {sorted(found_set)}"


def new_columns(found: list[str], contract_columns: list[str], baseline: set[str] | None) -> list[str]:
    """Columns in neither the contract nor the previous build; none when there was no previous build."""
    if baseline is None:  # no previous build of this source: only the contract is known
        return []
    known = set(contract_columns) | baseline | STAMPS
    return [c for c in found if c not in known]


def check(
    source: str,
    file: str,
    found: list[str],
    contract_columns: list[str],
    required: list[str],
    baseline: set[str] | None,
) -> tuple[list[str], str, str | None]:
    """(missing required columns, column diff, additive-drift warning or None)."""
    missing = [c for c in required if c not in found]
    added = new_columns(found, contract_columns, baseline)
    warning = None
    if added and not missing:
        warning = (
            f"[{source}] {file}: new column(s) {added} not in the contract or the previous build "
            "(additive drift, kept in raw)"
        )
    visible = [c for c in found if c not in STAMPS]
    return missing, diff([c for c in contract_columns if c not in STAMPS], visible), warning


def type_change(values_failing: int, values_present: int) -> bool:
    """A whole column failing its type (more than one value, all of them) is a type change, not a bad cell."""
    return values_present > 1 and values_failing == values_present
