"""Every data check of a pandera (polars) contract in one polars query: the common case, a clean frame, made cheap.

pandera's polars backend collects once per check and column (a 30-column contract costs ~60 collects). `passes()`
asks the same questions of the frame in one query: pandera's own check functions (built-in and the contracts'
custom checks) build the same lazy outputs, with the same null rules, and one `collect` evaluates them all.

It only ever says whether pandera would pass the frame unchanged: True when every check holds (`validate()` would
then return the frame as given), False when any fails or the contract uses a feature handled only by pandera
(coercion, strict or ordered columns, regex columns, parsers, defaults, element-wise checks, ...). On False the
caller runs pandera itself, so every failure is reported by pandera, exactly as before.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData


def _plain(schema: pa.DataFrameSchema) -> bool:
    """No pandera feature that changes the frame or that `passes` does not evaluate."""
    if (
        schema.coerce
        or schema.strict
        or schema.ordered
        or schema.add_missing_columns
        or schema.drop_invalid_rows
        or schema.unique_column_names
        or schema.dtype is not None
        or getattr(schema, "parsers", None)
    ):
        return False
    return not any(
        column.coerce
        or column.regex
        or column.default is not None
        or column.drop_invalid_rows
        or getattr(column, "parsers", None)
        or any(check.element_wise for check in column.checks)
        for column in schema.columns.values()
    ) and not any(check.element_wise for check in schema.checks)


def _check_output(check, lazy: pl.LazyFrame, key: str, name: str) -> pl.LazyFrame | bool:
    """One check as pandera's check backend evaluates it: one row, TRUE when every row passes."""
    function = check._check_fn
    builtin = getattr(function, "__name__", None)
    if builtin is not None and check.is_builtin_check(builtin):
        # pandera's Check.__call__ reloads a built-in check so the types registered since it was made count
        function = check.get_builtin_check_fn(builtin)
    out = function(PolarsData(lazy, key), **check._check_kwargs)
    if isinstance(out, bool):
        return out
    columns = out.collect_schema().names()
    value = pl.all_horizontal(pl.col(columns)) if len(columns) > 1 else pl.col(columns[0])
    value = (value | value.is_null()) if check.ignore_na else value.fill_null(False)
    return out.select(value.all().alias(name))


def passes(frame: pl.DataFrame, model: type[pa.DataFrameModel]) -> bool:
    """True only if `model.validate(frame, lazy=True)` passes and returns the frame unchanged."""
    from pandera.config import CONFIG

    schema = model.to_schema()
    if CONFIG.use_narwhals_backend or not _plain(schema):  # checks written for another backend's data type
        return False
    schema.register_default_backends(pl.DataFrame)  # pandera's built-in checks for polars, as validate() does
    lazy = frame.lazy()
    dtypes = frame.schema
    outputs: list[pl.LazyFrame] = []
    try:
        for name, column in schema.columns.items():
            if name not in dtypes:
                if column.required:
                    return False
                continue
            if column.dtype is not None and not column.dtype.check(dtypes[name], PolarsData(lazy.select(name), name)):
                return False
            if not column.nullable:
                present = pl.col(name).is_not_null()
                if dtypes[name] in (pl.Float32, pl.Float64):
                    present = present & pl.col(name).is_not_nan()
                outputs.append(lazy.select(present.all().alias(f"{len(outputs)}")))
            if column.unique:
                outputs.append(lazy.select(pl.col(name).is_duplicated().not_().all().alias(f"{len(outputs)}")))
            for check in column.checks:
                out = _check_output(check, lazy, name, f"{len(outputs)}")
                if out is False:
                    return False
                if out is not True:
                    outputs.append(out)
        for check in schema.checks:
            out = _check_output(check, lazy, "*", f"{len(outputs)}")
            if out is False:
                return False
            if out is not True:
                outputs.append(out)
        if schema.unique:
            keys = [schema.unique] if all(isinstance(k, str) for k in schema.unique) else schema.unique
            for subset in keys:
                if frame.select([k for k in subset if k in dtypes]).is_duplicated().any():
                    return False
        if not outputs:
            return True
        verdicts = pl.concat(outputs, how="horizontal").collect().row(0)
    except Exception:  # noqa: BLE001 - a check that cannot run here is pandera's to report
        return False
    return all(v is True for v in verdicts)
