"""A user's warehouse folder made from another build's: its published file, exports and (optionally) fingerprint.

Tests that need a warehouse which already exists (a refresh, a reader during a build, a failed build that must leave
the published file alone) start from a copy of the session build instead of building one."""

from __future__ import annotations

import shutil
from pathlib import Path

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
