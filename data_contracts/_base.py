"""Shared machinery for the pandera contracts: typed casting with row-level errors, and readable failures.

A parser hands over a frame whose columns are still text where the file had text, plus `source_row`
(1-based data-record number in the file). `enforce()` casts every column to the dtype the contract
declares, reporting any value that does not fit (`wrong type`) with its row, then runs the pandera
model lazily so that every failing check is reported at once.

Reliability rules applied here, to every source (see docs/reliability.md):
- a file with a header but no data rows breaks its contract (an empty download is never an empty table);
- schema drift (data_contracts/_drift.py): a missing contract column fails with a diff of expected versus found
  columns, a column whose every value has another type fails as a type change, a new column passes with a warning;
- every rule has a class. *Structural* rules (columns, types, keys, required values, units, sane year ranges,
  anything a parser relies on) block the build. *Plausibility* rules (cross-column relations and ranges a publisher
  can legitimately break) are declared with `@plausible(Plausibility(...), ...)` on the contract: a row breaking
  one is kept as published, listed in `meta.plausibility_flags` with the rule, and reported by a WARN check;
- a column the contract marks tolerable (`pa.Field(nullable=True, metadata={"tolerable": "<why>"})`) keeps the
  build going when one of its values does not parse: the value becomes NULL and the row goes to
  `meta.quarantine`, counted in `meta.loads.rows_rejected` — never silently dropped.

What a contract finds without failing (quarantined rows, plausibility flags, additive-drift warnings) is data:
`check()` returns it in a `ContractFindings`. Parsers call `enforce()`, which returns the frame and adds the
findings to the `ContractRun` the caller opened with `contract_run()` (the raw asset opens one per file, with the
drift baseline it read from the published warehouse, and emits the findings as metadata and checks). Without an
open run, findings are discarded and there is no baseline (only the contract's own columns are known).
A source that reads a folder of files stacks them and calls `enforce_files()`: one validation of the stack, the
errors and findings of file-by-file enforcement. A clean frame's data checks run in one polars query
(data_contracts/_onepass.py); pandera validates, and reports, whatever that query does not pass.
This package is a leaf: it imports nothing from `pipelines`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import pandera.polars as pa
import polars as pl

from data_contracts import _drift, _onepass

MAX_EXAMPLES = 5

# One row per quarantined value or plausibility flag: where it is in the file, and why.
FINDING_SCHEMA = {
    "source": pl.String,
    "file": pl.String,
    "source_row": pl.Int64,
    "column_name": pl.String,
    "value": pl.String,
    "reason": pl.String,
}


def _findings_frame(rows: pl.DataFrame | None = None) -> pl.DataFrame:
    if rows is None:
        return pl.DataFrame(schema=FINDING_SCHEMA)
    return rows.select([pl.col(c).cast(t) for c, t in FINDING_SCHEMA.items()])


@dataclass
class ContractFindings:
    """What contracts found without stopping: tolerable values set to NULL (`quarantined`), rows kept but breaking
    a plausibility rule (`flags`), and additive schema drift (`drift_warnings`)."""

    quarantined: pl.DataFrame = field(default_factory=_findings_frame)
    flags: pl.DataFrame = field(default_factory=_findings_frame)
    drift_warnings: list[str] = field(default_factory=list)

    def add(self, other: ContractFindings) -> None:
        if other.quarantined.height:
            self.quarantined = pl.concat([self.quarantined, _findings_frame(other.quarantined)])
        if other.flags.height:
            self.flags = pl.concat([self.flags, _findings_frame(other.flags)])
        self.drift_warnings.extend(w for w in other.drift_warnings if w not in self.drift_warnings)


@dataclass(frozen=True)
class Contracted:
    """A frame that met its contract, and what the contract found on the way."""

    frame: pl.DataFrame
    findings: ContractFindings


@dataclass
class ContractRun:
    """The findings of every contract enforced while parsing one file, and the drift baseline they are held to:
    source -> the columns the previous published build landed for it."""

    baseline: Mapping[str, set[str]] = field(default_factory=dict)
    findings: ContractFindings = field(default_factory=ContractFindings)


_RUN: ContextVar[ContractRun | None] = ContextVar("contract_run", default=None)


@contextmanager
def contract_run(baseline: Mapping[str, set[str]] | None = None) -> Iterator[ContractRun]:
    """Collect the findings of the contracts enforced inside the block (one parse), held to `baseline`."""
    run = ContractRun(baseline=dict(baseline or {}))
    token = _RUN.set(run)
    try:
        yield run
    finally:
        _RUN.reset(token)


def _run_baseline(source: str) -> set[str] | None:
    run = _RUN.get()
    return None if run is None else run.baseline.get(source)


def _report(findings: ContractFindings) -> None:
    run = _RUN.get()
    if run is not None:
        run.findings.add(findings)


def check_columns(
    source: str, file: str, found: list[str], contract_columns: list[str], required: list[str]
) -> tuple[list[str], str]:
    """Schema-drift rule for a loader that checks columns itself (the streaming path): (missing, column diff).
    An additive-drift warning goes to the open contract run, as `enforce()`'s does."""
    missing, columns_diff, warning = _drift.check(
        source, file, found, contract_columns, required, _run_baseline(source)
    )
    if warning:
        _report(ContractFindings(drift_warnings=[warning]))
    return missing, columns_diff


# What a country-mapped row describes (pipelines/countries.py resolves names to these; contracts check them).
ENTITY_KINDS = ("country", "aggregate", "non_state", "organisation", "unresolved")


@dataclass(frozen=True)
class Plausibility:
    """A plausibility rule: `bad` is TRUE on a row that breaks it (NULL counts as not breaking it)."""

    name: str
    column: str  # the column whose value is shown in the flag
    bad: pl.Expr


_PLAUSIBILITY: dict[type, tuple[Plausibility, ...]] = {}


def plausible(*rules: Plausibility):
    """Class decorator declaring a contract's plausibility rules (pandera models take only fields and checks)."""

    def register(model):
        _PLAUSIBILITY[model] = rules
        return model

    return register


def plausibility_rules(model) -> tuple[Plausibility, ...]:
    return tuple(rule for klass in getattr(model, "__mro__", (model,)) for rule in _PLAUSIBILITY.get(klass, ()))


def flag_implausible(frame: pl.DataFrame, model, *, source: str, file: str) -> pl.DataFrame:
    """The rows breaking the model's plausibility rules, one flag per row and rule (FINDING_SCHEMA)."""
    flagged = [_findings_frame()]
    for rule in plausibility_rules(model):
        rows = frame.filter(rule.bad.fill_null(False))
        if rows.height:
            flagged.append(
                rows.select(
                    source=pl.lit(source),
                    file=pl.lit(file),
                    source_row=(
                        pl.col("source_row").cast(pl.Int64) if "source_row" in rows.columns else pl.lit(None, pl.Int64)
                    ),
                    column_name=pl.lit(rule.column),
                    value=pl.col(rule.column).cast(pl.String),
                    reason=pl.lit(f"plausibility: {rule.name}"),
                )
            )
    return pl.concat([_findings_frame(f) for f in flagged])


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


def row_failure(
    frame: pl.DataFrame, bad: pl.Expr, column: str, check: str, shown: pl.Expr | None = None
) -> Failure | None:
    """Cross-column rule helper: a Failure naming the offending values (`column`, or the `shown` expression) and
    file rows, or None."""
    offending = frame.filter(bad.fill_null(False))
    if offending.is_empty():
        return None
    return Failure(
        column,
        check,
        values=offending.select((pl.col(column) if shown is None else shown).cast(pl.String))
        .to_series()
        .head(MAX_EXAMPLES)
        .to_list(),
        rows=offending["source_row"].head(MAX_EXAMPLES).to_list(),
        count=offending.height,
    )


class ContractViolation(ValueError):
    """Raised when a source file breaks its contract; the message names source, file, column, values and rows."""

    def __init__(self, source: str, file: str, failures: list[Failure]):
        self.source = source
        self.file = file
        self.failures = failures
        lines = "\n  - ".join(f.describe() for f in failures)
        super().__init__(f"[{source}] {file} breaks its contract ({len(failures)} problem(s)):\n  - {lines}")

    @property
    def file_name(self) -> str:
        """The file's name without the ` [sheet]` a workbook's contract adds to `file`."""
        name, bracket, sheet = self.file.rpartition(" [")
        return name if bracket and len(sheet) > 1 and sheet.endswith("]") and "]" not in sheet[:-1] else self.file


def contract_dtypes(model: type[pa.DataFrameModel]) -> dict[str, pl.DataType]:
    return {name: col.dtype.type for name, col in model.to_schema().columns.items()}


def required_columns(model: type[pa.DataFrameModel]) -> list[str]:
    return [name for name, col in model.to_schema().columns.items() if col.required]


def tolerable_columns(model: type[pa.DataFrameModel]) -> dict[str, str]:
    """Columns whose unparsable values are quarantined instead of failing the build, with the contract's reason."""
    return {
        name: str((col.metadata or {}).get("tolerable"))
        for name, col in model.to_schema().columns.items()
        if (col.metadata or {}).get("tolerable") and col.nullable
    }


def cast_expr(column: str, dtype: pl.DataType, source_dtype: pl.DataType) -> pl.Expr:
    """`column` cast to the contract's dtype; NULL where the value does not fit (e.g. '12.5' or '1,000' as Int64)."""
    expr = pl.col(column)
    if source_dtype == pl.String and dtype.is_numeric():
        # Surrounding spaces are formatting (SIPRI writes `0 `); anything else non-numeric is a type error.
        expr = expr.str.strip_chars()
    if source_dtype == pl.String and dtype.is_integer():
        # Spreadsheets re-save whole numbers as `1234.0`: the same integer. `12.5` still does not fit.
        expr = expr.str.replace(r"^([+-]?\d+)\.0*$", "${1}")
    if source_dtype == pl.String and dtype == pl.Boolean:
        expr = expr.str.to_lowercase().replace_strict(
            {"true": True, "false": False, "1": True, "0": False}, default=None, return_dtype=pl.Boolean
        )
    return expr.cast(dtype, strict=False)


def unfit_expr(column: str, dtype: pl.DataType, source_dtype: pl.DataType) -> pl.Expr:
    """True on a cell that has a value (not blank) which `cast_expr` turns into NULL: a type error of the contract."""
    unfit = pl.col(column).is_not_null() & cast_expr(column, dtype, source_dtype).is_null()
    return unfit & (pl.col(column).str.strip_chars() != "") if source_dtype == pl.String else unfit


def enforce(frame: pl.DataFrame, model: type[pa.DataFrameModel], *, source: str, file: str) -> pl.DataFrame:
    """`check()` with the open contract run's baseline; its findings go to that run. Returns the validated frame."""
    result = check(frame, model, source=source, file=file, baseline=_run_baseline(source))
    _report(result.findings)
    return result.frame


def enforce_files(
    parts: Sequence[tuple[str, pl.DataFrame]],
    model: type[pa.DataFrameModel],
    *,
    source: str,
    preceding: Sequence[ContractFindings] | None = None,
) -> pl.DataFrame:
    """`enforce()` of each file's frame on its own, stacked in order: the rows, findings and errors of one `enforce`
    per (file, frame) pair, for the cost of one validation when the stack is clean.

    For contracts whose rules all hold row by row (column checks, row-wise dataframe checks, uniqueness keys that
    include the file): a stack that passes then means every file passes. The stack is validated once; only if it
    fails or quarantines a value (whose type-change rule counts per file) is every file enforced on its own, in
    order, so the error names the first file at fault and its rows exactly as file-by-file enforcement does.
    `preceding`: per file, the findings of its earlier contracts (`held_findings`), reported just before its own,
    in the order a file-by-file parse reports them."""
    baseline = _run_baseline(source)
    before = list(preceding) if preceding is not None else [ContractFindings() for _ in parts]
    if len(parts) > 1 and all(frame.height for _, frame in parts):
        try:
            stacked = check(pl.concat([f for _, f in parts], how="vertical"), model, source=source, file=parts[0][0])
        except Exception:  # noqa: BLE001 - the file-by-file pass below says what and where
            stacked = None
        if stacked is not None and not stacked.findings.quarantined.height:
            dtypes, required = list(contract_dtypes(model)), required_columns(model)
            offset = 0
            for (file, frame), earlier in zip(parts, before):  # what each file's own enforce() reports, in order
                _report(earlier)
                warning = _drift.check(source, file, frame.columns, dtypes, required, baseline)[2]
                rows = stacked.frame.slice(offset, frame.height)
                offset += frame.height
                flags = flag_implausible(rows, model, source=source, file=file)
                _report(ContractFindings(flags=flags, drift_warnings=[warning] if warning else []))
            return stacked.frame
    checked = []
    for (file, frame), earlier in zip(parts, before):
        _report(earlier)
        checked.append(enforce(frame, model, source=source, file=file))
    return pl.concat(checked, how="vertical")


@contextmanager
def held_findings() -> Iterator[ContractFindings]:
    """The findings of the contracts enforced inside the block, under the open run's baseline but held back from
    it: the caller hands them on (`report`, `enforce_files(preceding=...)`) in the order a file-by-file parse
    reports them."""
    outer = _RUN.get()
    with contract_run(outer.baseline if outer is not None else None) as inner:
        yield inner.findings


def report(findings: ContractFindings) -> None:
    """Add held findings to the open contract run (none open: discarded, as enforce() does)."""
    _report(findings)


def check(
    frame: pl.DataFrame,
    model: type[pa.DataFrameModel],
    *,
    source: str,
    file: str,
    baseline: set[str] | None = None,
) -> Contracted:
    """Cast to the contract's dtypes and validate; raise ContractViolation listing every problem. Returns the
    validated frame with what the contract found (quarantined values, plausibility flags, additive drift against
    `baseline`, the columns of the previous build of this source)."""
    dtypes = contract_dtypes(model)
    failures: list[Failure] = []
    findings = ContractFindings()
    missing, columns_diff, warning = _drift.check(
        source, file, frame.columns, list(dtypes), required_columns(model), baseline
    )
    if warning:
        findings.drift_warnings.append(warning)
    for column in missing:
        failures.append(
            Failure(column, "required column present (schema drift: removed or renamed)", values=[columns_diff])
        )
    if missing:
        raise ContractViolation(source, file, failures)
    if frame.height == 0:
        raise ContractViolation(
            source,
            file,
            [Failure("(data rows)", "at least one data row", values=["the file has a header but no data rows"])],
        )

    row_ids = frame["source_row"] if "source_row" in frame.columns else pl.Series(range(1, frame.height + 1))
    found = frame.schema  # built anew by each `frame.schema`
    casts = {c: cast_expr(c, t, found[c]) for c, t in dtypes.items() if c in found and found[c] != t}
    typed = frame.with_columns(**casts) if casts else frame
    tolerable = tolerable_columns(model)

    def unfit(column: str) -> pl.Expr:
        return unfit_expr(column, dtypes[column], found[column])

    held = []
    # One pass counts unfit cells in every cast column (wide files have dozens); only columns with some go on.
    unfit_counts = frame.select([unfit(c).sum().alias(c) for c in casts]).row(0) if casts else ()
    for column, unfit_count in zip(casts, unfit_counts):
        if not unfit_count:
            continue
        bad = frame.select(unfit(column)).to_series()
        present = frame[column].is_not_null()
        if found[column] == pl.String:
            present = present & (frame[column].str.strip_chars() != "")
        if bad.any() and column in tolerable and not _drift.type_change(int(bad.sum()), int(present.sum())):
            # Tolerable: the value is unknown (NULL, already so in `typed`), and the row is quarantined, not dropped.
            held.append(
                frame.with_columns(_quarantine_row=row_ids)
                .filter(bad)
                .select(
                    source=pl.lit(source),
                    file=pl.lit(file),
                    source_row=pl.col("_quarantine_row").cast(pl.Int64),
                    column_name=pl.lit(column),
                    value=pl.col(column).cast(pl.String),
                    reason=pl.lit(f"not a {dtypes[column]}; set to NULL ({tolerable[column]})"),
                )
            )
            continue
        if bad.any():
            changed = _drift.type_change(int(bad.sum()), int(present.sum()))
            failures.append(
                Failure(
                    column,
                    f"type {dtypes[column]}"
                    + (" (schema drift: type changed, every value is text)" if changed else ""),
                    values=frame.filter(bad)[column].head(MAX_EXAMPLES).cast(pl.String).to_list(),
                    rows=row_ids.filter(bad).head(MAX_EXAMPLES).to_list(),
                    count=int(bad.sum()),
                )
            )
    if failures:
        raise ContractViolation(source, file, failures)
    if held:
        findings.quarantined = pl.concat([_findings_frame(h) for h in held])

    try:
        # One query answers every data check of a clean frame; otherwise pandera validates and reports.
        validated = typed if _onepass.passes(typed, model) else model.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases
        for (column, check_name), group in cases.group_by(["column", "check"], maintain_order=True):
            indices = [i for i in group["index"].to_list() if i is not None]
            failures.append(
                Failure(
                    str(column),
                    str(check_name),
                    values=[str(v) for v in group["failure_case"].head(MAX_EXAMPLES).to_list()],
                    rows=[int(row_ids[i]) for i in indices[:MAX_EXAMPLES]],
                    count=group.height,
                )
            )
        raise ContractViolation(source, file, failures) from None
    findings.flags = flag_implausible(validated, model, source=source, file=file)
    return Contracted(validated, findings)
