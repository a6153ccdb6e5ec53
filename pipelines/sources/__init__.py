"""Registry of sources, discovered from the modules in this package.

Adding a source: write `pipelines/sources/<source>.py` exposing `RAW_TABLES`, its contract in
`data_contracts/<source>.py`, and its staging model(s) in `models/staging/` (see docs/adding_a_source.md).
"""

from __future__ import annotations

import importlib
import pkgutil

from pipelines.sources.base import RawTable

_NOT_SOURCES = {"base"}


def _discover() -> tuple[RawTable, ...]:
    tables: list[RawTable] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module_info.name in _NOT_SOURCES or module_info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        tables.extend(getattr(module, "RAW_TABLES", ()))
    names = [t.name for t in tables]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"raw table names declared twice: {sorted(duplicates)}")
    return tuple(tables)


RAW_TABLES: tuple[RawTable, ...] = _discover()
RAW_TABLES_BY_NAME = {table.name: table for table in RAW_TABLES}
