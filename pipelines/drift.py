"""Schema-drift baseline: the columns the previous published build landed, by source.

The rules themselves (missing column, type change, additive drift) belong to the contracts
(data_contracts/_drift.py). Each raw asset reads the baseline with `load_baseline()` from the published warehouse
and hands it to the contracts (`data_contracts._base.contract_run`), so every kind of run (`hpw build`, the UI,
a schedule or sensor) applies the same gate.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from data_contracts._drift import STAMPS

LOG = logging.getLogger(__name__)


def load_baseline(published_db: Path) -> dict[str, set[str]]:
    """Columns of the previous build's raw tables, by source (from `meta.loads` + information_schema)."""
    if not published_db.is_file():
        return {}
    stat = published_db.stat()
    # every raw asset of a build asks; the file changes only when a build publishes, so its identity is the key
    return {source: set(columns) for source, columns in _columns_by_source(published_db, stat.st_mtime_ns).items()}


@functools.lru_cache(maxsize=4)
def _columns_by_source(published_db: Path, mtime_ns: int) -> dict[str, frozenset[str]]:
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
    baseline: dict[str, set[str]] = {}
    for source, column in rows:
        if column not in STAMPS:
            baseline.setdefault(source, set()).add(column)
    return {source: frozenset(columns) for source, columns in baseline.items()}
