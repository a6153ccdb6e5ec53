"""Fault-suite fixtures: a copy of the session's published warehouse, and a quiet build against it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.warehouse_copy import copy_warehouse


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Published:
    root: Path  # HPW_WAREHOUSE_DIR of this test
    sha256: str  # of partnership.duckdb before the test's build
    whole: bool = False  # exports and fingerprint copied too: a build given --file is a refresh of those tables

    @property
    def database(self) -> Path:
        return self.root / "partnership.duckdb"

    def unchanged(self) -> bool:
        return sha256(self.database) == self.sha256

    def build(self, **overrides: str):
        """`hpw build --file TABLE=PATH ...`: a refresh of the tables given (only their raw assets and what is
        downstream of them run) on a whole copy, else a cold build of everything."""
        from pipelines.build import run_build

        lines: list[str] = []
        result = run_build(
            force=not self.whole,
            warehouse_dir=self.root,
            log_level="CRITICAL",
            echo=lines.append,
            file_overrides=overrides,
        )
        # a whole copy that silently fell back to a cold build would hide what the refresh path does
        assert not self.whole or any(line.strip().startswith("refresh:") for line in lines), lines
        return result


def publish_copy(built_warehouse: Path, root: Path, *, whole: bool = False) -> Published:
    """A warehouse folder holding a byte copy of the session build's published file; `whole`: its exports and
    fingerprint as well, so that a build given other files re-lands only those (pipelines/refresh.py)."""
    copy_warehouse(built_warehouse, root, exports=whole, with_fingerprint=whole)
    return Published(root, sha256(root / "partnership.duckdb"), whole)


@pytest.fixture()
def published(built_warehouse, tmp_path) -> Published:
    return publish_copy(built_warehouse, tmp_path / "warehouse")
