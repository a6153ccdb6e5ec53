"""Fault-suite fixtures: a copy of the session's published warehouse, and a quiet build against it."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Published:
    root: Path  # HPW_WAREHOUSE_DIR of this test
    sha256: str  # of partnership.duckdb before the test's build

    @property
    def database(self) -> Path:
        return self.root / "partnership.duckdb"

    def unchanged(self) -> bool:
        return sha256(self.database) == self.sha256

    def build(self, **overrides: str):
        from pipelines.build import run_build

        return run_build(
            force=True, warehouse_dir=self.root, log_level="CRITICAL", echo=lambda *_: None, file_overrides=overrides
        )


def publish_copy(built_warehouse: Path, root: Path) -> Published:
    """A warehouse folder holding a byte copy of the session build's published file (and its fingerprint)."""
    root.mkdir(parents=True)
    shutil.copyfile(built_warehouse / "partnership.duckdb", root / "partnership.duckdb")
    return Published(root, sha256(root / "partnership.duckdb"))


@pytest.fixture()
def published(built_warehouse, tmp_path) -> Published:
    return publish_copy(built_warehouse, tmp_path / "warehouse")
