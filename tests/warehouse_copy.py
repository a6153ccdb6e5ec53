"""A user's warehouse folder made from another build's: its published file, exports and (optionally) fingerprint;
and how two published files' marts differ.

Tests that need a warehouse which already exists (a refresh, a reader during a build, a failed build that must leave
the published file alone) start from a copy of the session build instead of building one."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines import fingerprint


def copy_warehouse(built: Path, root: Path, *, exports: bool = True, with_fingerprint: bool = False) -> Path:
    """`root` (created) holding a byte copy of `built`'s published file; its exports unless `exports=False`; its
    fingerprint with `with_fingerprint`, so that the copy is up to date and a build given other files re-lands only
    those (pipelines/refresh.py)."""
    root.mkdir(parents=True)
    shutil.copyfile(built / "partnership.duckdb", root / "partnership.duckdb")
    if exports:
        shutil.copytree(built / "exports", root / "exports")
    if with_fingerprint:
        shutil.copyfile(built / fingerprint.FILE_NAME, root / fingerprint.FILE_NAME)
    return root


def mart_names(database: Path) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as con:
        return sorted(
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        )


def mart_differences(left: Path, right: Path) -> dict[str, int]:
    """Mart of `left` -> rows in one file and not the other (`except all`, both ways); empty when they are equal."""
    differ = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{left}' as l (read_only)")
        con.execute(f"attach '{right}' as r (read_only)")
        for mart in mart_names(left):
            rows = con.execute(
                f'select (select count(*) from (from l.marts."{mart}" except all from r.marts."{mart}")) + '
                f'(select count(*) from (from r.marts."{mart}" except all from l.marts."{mart}"))'
            ).fetchone()[0]
            if rows:
                differ[mart] = rows
    return differ
