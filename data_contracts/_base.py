"""Shared machinery for the pandera contracts: typed casting with row-level errors, and readable failures.

A parser hands over a frame whose columns are still text where the file had text, plus `source_row`
(1-based data-record number in the file). `enforce()` casts every column to the dtype the contract
declares, reporting any value that does not fit (`wrong type`) with its row, then runs the pandera
model lazily so that every failing check is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

MAX_EXAMPLES = 5


@dataclass
class Failure:
    column: str
    check: str
    values: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    count: int = 0

    def describe(self) -> str:
        where = f" at row(s) {', '.join(map(str, self.rows[:MAX_EXAMPLES]))}" if self.rows else ""
        vals = f" value(s) {', '.join(repr(v) for v in self.values[:MAX_EXAMPLES])}" if self.values else ""
        more = f" ({self.count} failing rows)" if self.count > MAX_EXAMPLES else ""
        return f"column '{self.column}' failed {self.check}:{vals}{where}{more}"


class ContractViolation(ValueError):
    """Raised when a source file breaks its contract; the message names source, file, column, values and rows."""

    def __init__(self, source: str, file: str, failures: list[Failure]):
        self.source = source
        self.file = file
        self.failures = failures
        lines = "\n  - ".join(f.describe() for f in failures)
        super().__init__(f"[{source}] {file} breaks its contract ({len(failures)} problem(s)):\n  - {lines}")


def contract_dtypes(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


def required_columns(model: type[pa.DataFrameModel]) -> list[str]:
    return [name for name, col in model.to_schema().columns.items() if col.required]


def _cast_expr(column: str, dtype: pl.DataType, source_dtype: pl.DataType) -> pl.Expr:
    expr = pl.col(column)
    if source_dtype == pl.String and dtype.is_numeric():
        # Surrounding spaces are formatting (SIPRI writes `0 `); anything else non-numeric is a type error.
        expr = expr.str.strip_chars()
    if source_dtype == pl.String and dtype == pl.Boolean:
        expr = expr.str.to_lowercase().replace_strict(
            {"true": True, "false": False, "1": True, "0": False}, default=None, return_dtype=pl.Boolean
        )
    return expr.cast(dtype, strict=False)


def enforce(frame: pl.DataFrame, model: type[pa.DataFrameModel], *, source: str, file: str) -> pl.DataFrame:
    """Cast to the contract's dtypes and validate; raise ContractViolation listing every problem."""
    dtypes = contract_dtypes(model)
    failures: list[Failure] = []
    missing = [c for c in required_columns(model) if c not in frame.columns]
    for column in missing:
        failures.append(Failure(column, "required column present", values=[f"found columns: {sorted(frame.columns)}"]))
    if missing:
        raise ContractViolation(source, file, failures)

    row_ids = frame["source_row"] if "source_row" in frame.columns else pl.Series(range(1, frame.height + 1))
    casts = {c: _cast_expr(c, t, frame.schema[c]) for c, t in dtypes.items() if c in frame.columns and frame.schema[c] != t}
    typed = frame.with_columns(**casts) if casts else frame
    for column in casts:
        bad = frame[column].is_not_null() & typed[column].is_null()
        if frame.schema[column] == pl.String:
            bad = bad & (frame[column].str.strip_chars() != "")
        if bad.any():
            failures.append(
                Failure(
                    column,
                    f"type {dtypes[column]}",
                    values=frame.filter(bad)[column].head(MAX_EXAMPLES).cast(pl.String).to_list(),
                    rows=row_ids.filter(bad).head(MAX_EXAMPLES).to_list(),
                    count=int(bad.sum()),
                )
            )
    if failures:
        raise ContractViolation(source, file, failures)

    try:
        return model.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        for (column, check), group in cases.group_by(["column", "check"], maintain_order=True):
            indices = [i for i in group["index"].to_list() if i is not None]
            failures.append(
                Failure(
                    str(column),
                    str(check),
                    values=[str(v) for v in group["failure_case"].head(MAX_EXAMPLES).to_list()],
                    rows=[int(row_ids[i]) for i in indices[:MAX_EXAMPLES]],
                    count=group.height,
                )
            )
        raise ContractViolation(source, file, failures) from None
