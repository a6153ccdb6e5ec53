"""The same pandera contracts, checked as DuckDB SQL on a table too big to hold as one frame.

`enforce()` in `_base.py` validates an eager polars frame. For multi-GB files the frame itself is what costs
memory, so a streaming loader lands the file (Parquet read by a DuckDB view) and calls `sql_failures()`: every rule of
the pandera model (nullability, `isin`, ranges, string length, column and row uniqueness) becomes one
`count(*) FILTER (WHERE ...)` in a single scan, and only failing rules fetch their first offending values and
row numbers. The failures are the same `Failure` objects, so the error message has the same shape:
`[source] file breaks its contract ... column 'x' failed isin([...]): value(s) 'y' at row(s) 4`.

A check this module does not know raises NotImplementedError: a rule is never skipped silently.
"""

from __future__ import annotations

import duckdb
import pandera.polars as pa

from data_contracts import _drift
from data_contracts._base import MAX_EXAMPLES, Failure


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def _condition(column: str, check: pa.Check) -> str:
    """SQL that is TRUE on a row breaking `check` (NULLs are the nullability rule's business, as in pandera)."""
    # built-in checks always carry their statistics; a custom check without them has no SQL form (raised below)
    col, stats = quote(column), check.statistics or {}
    if check.name == "isin":
        return f"{col} not in ({', '.join(literal(v) for v in stats['allowed_values'])})"
    if check.name == "notin":
        return f"{col} in ({', '.join(literal(v) for v in stats['forbidden_values'])})"
    if check.name == "greater_than_or_equal_to":
        return f"{col} < {literal(stats['min_value'])}"
    if check.name == "greater_than":
        return f"{col} <= {literal(stats['min_value'])}"
    if check.name == "less_than_or_equal_to":
        return f"{col} > {literal(stats['max_value'])}"
    if check.name == "less_than":
        return f"{col} >= {literal(stats['max_value'])}"
    if check.name == "equal_to":
        return f"{col} <> {literal(stats['value'])}"
    if check.name == "not_equal_to":
        return f"{col} = {literal(stats['value'])}"
    if check.name == "in_range":
        low = ">=" if stats.get("include_min", True) else ">"
        high = "<=" if stats.get("include_max", True) else "<"
        return f"not ({col} {low} {literal(stats['min_value'])} and {col} {high} {literal(stats['max_value'])})"
    if check.name == "str_length":
        parts = []
        if stats.get("exact_value") is not None:
            parts.append(f"length({col}) <> {stats['exact_value']}")
        if stats.get("min_value") is not None:
            parts.append(f"length({col}) < {stats['min_value']}")
        if stats.get("max_value") is not None:
            parts.append(f"length({col}) > {stats['max_value']}")
        return " or ".join(parts) or "false"
    if check.name == "str_matches":
        return f"not regexp_matches({col}, {literal('^(?:' + stats['pattern'] + ')')})"
    raise NotImplementedError(
        f"contract check {check.name!r} on column {column!r} has no SQL translation in data_contracts/_sql.py"
    )


def type_failures(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    bad_columns: dict[str, str],
    model: type[pa.DataFrameModel],
    row_col: str = "source_row",
) -> list[Failure]:
    """Cells that did not fit their contract type. `bad_columns` maps a contract column to the column of `relation`
    holding the original text where the cast failed (see data_contracts._base.unfit_expr), NULL elsewhere."""
    if not bad_columns:
        return []

    counts = con.execute(
        "select "
        + ", ".join(
            f"count({quote(bad)}), count({quote(bad)}) + count({quote(col)})" for col, bad in bad_columns.items()
        )
        + f" from {relation}"
    ).fetchall()[0]
    failures = []
    for i, (column, bad) in enumerate(bad_columns.items()):
        count, present = counts[2 * i], counts[2 * i + 1]
        if count:
            changed = _drift.type_change(int(count), int(present))  # every value text: a type change, as enforce() says
            rows = con.execute(
                f"select {quote(bad)}, {quote(row_col)} from {relation} where {quote(bad)} is not null "
                f"order by {quote(row_col)} limit {MAX_EXAMPLES}"
            ).fetchall()
            failures.append(
                Failure(
                    column,
                    f"type {model.to_schema().columns[column].dtype}"
                    + (" (schema drift: type changed, every value is text)" if changed else ""),
                    values=[str(r[0]) for r in rows],
                    rows=[int(r[1]) for r in rows],
                    count=int(count),
                )
            )
    return failures


def sql_failures(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    model: type[pa.DataFrameModel],
    *,
    row_col: str = "source_row",
    unique_by_construction: frozenset[str] = frozenset(),
) -> list[Failure]:
    """Every rule of `model` checked on `relation` in one scan; the failing ones with values and row numbers.

    `unique_by_construction` names columns the loader made unique itself (a row number), whose uniqueness
    check would cost a hash of every row and could not fail.
    """
    schema = model.to_schema()
    rules: list[tuple[str, str, str]] = []  # (column, check name as pandera prints it, SQL true on a bad row)
    for name, column in schema.columns.items():
        if not column.nullable:
            rules.append((name, "not_nullable", f"{quote(name)} is null"))
        for check in column.checks:
            rules.append(
                (name, check.error or check.name, f"{quote(name)} is not null and ({_condition(name, check)})")
            )
    if not rules:
        return []
    counts = con.execute(
        "select " + ", ".join(f"count(*) filter (where {sql})" for _, _, sql in rules) + f" from {relation}"
    ).fetchall()[0]
    failures = []
    for (column, label, sql), count in zip(rules, counts):
        if count:
            rows = con.execute(
                f"select {quote(column)}::varchar, {quote(row_col)} from {relation} where {sql} "
                f"order by {quote(row_col)} limit {MAX_EXAMPLES}"
            ).fetchall()
            failures.append(
                Failure(
                    column, label, values=[str(r[0]) for r in rows], rows=[int(r[1]) for r in rows], count=int(count)
                )
            )

    unique_sets = [
        [name] for name, column in schema.columns.items() if column.unique and name not in unique_by_construction
    ]
    unique_sets += [list(schema.unique)] if isinstance(schema.unique, list) and schema.unique else []
    for keys in unique_sets:
        key_sql = ", ".join(quote(k) for k in keys)
        dupes = con.execute(
            f"select {quote(row_col)}, concat_ws(', ', {', '.join(f'{quote(k)}::varchar' for k in keys)}) from ("
            f"select {quote(row_col)}, {key_sql}, count(*) over (partition by {key_sql}) as n from {relation}) "
            f"where n > 1 order by {quote(row_col)}"
        ).fetchall()
        if dupes:
            failures.append(
                Failure(
                    ", ".join(keys),
                    "unique" if len(keys) == 1 else f"multiple_fields_uniqueness({keys})",
                    values=[d[1] for d in dupes[:MAX_EXAMPLES]],
                    rows=[int(d[0]) for d in dupes[:MAX_EXAMPLES]],
                    count=len(dupes),
                )
            )
    return failures
