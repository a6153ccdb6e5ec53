"""Where things live, and the few knobs users turn (all overridable by environment variables).

Paths are resolved relative to the project root so the repo never holds machine-specific paths.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = PROJECT_ROOT / "data" / "snapshots"
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
DBT_PROJECT_DIR = PROJECT_ROOT / "models"

# Default country universe: Latin America & Caribbean (UN M49 sub-region) plus the USA itself.
DEFAULT_UNIVERSE_SUBREGIONS = ("Latin America and the Caribbean",)
DEFAULT_UNIVERSE_EXTRA_ISO3 = ("USA",)
FOCUS_COUNTRIES = ("PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV")


def warehouse_dir() -> Path:
    """Folder holding the published warehouse, its exports and the scratch build area."""
    return Path(os.environ.get("HPW_WAREHOUSE_DIR", PROJECT_ROOT / "warehouse")).resolve()


def published_db_path() -> Path:
    return warehouse_dir() / "partnership.duckdb"


def exports_dir() -> Path:
    return warehouse_dir() / "exports"


def build_dir() -> Path:
    return warehouse_dir() / ".build"


def universe_extra_iso3() -> tuple[str, ...]:
    """Countries added to the universe beyond LAC: `HPW_EXTRA_COUNTRIES=CAN,ESP` (default USA)."""
    raw = os.environ.get("HPW_EXTRA_COUNTRIES")
    if raw is None:
        return DEFAULT_UNIVERSE_EXTRA_ISO3
    return tuple(code.strip().upper() for code in raw.split(",") if code.strip())


def env_key(name: str) -> str:
    return name.upper().replace("-", "_")


def source_file_override(raw_table: str) -> Path | None:
    """`HPW_<RAW_TABLE>_PATH` points one raw table at a file the user downloaded (no code change)."""
    value = os.environ.get(f"HPW_{env_key(raw_table)}_PATH")
    return Path(value).expanduser().resolve() if value else None
