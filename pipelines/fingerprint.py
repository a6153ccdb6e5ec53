"""A cheap fingerprint of everything a build reads, so an unchanged re-run returns in about a second.

It covers the input files (path, size, modification time), the project's code and models, the reference
tables and every HPW_* setting. Kept free of heavy imports: `hpw build` checks it before loading Dagster.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from pipelines import settings

CODE_DIRS = ("pipelines", "data_contracts", "models", "data/reference")
SKIP_PARTS = {"target", "logs", "__pycache__", "dbt_packages", ".user.yml"}
FILE_NAME = ".fingerprint.json"


def _stat_line(path: Path) -> str:
    stat = path.stat()
    return f"{path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path}|{stat.st_size}|{stat.st_mtime_ns}"


def current() -> str:
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((settings.PROJECT_ROOT / folder).rglob("*")):
            if path.is_file() and not SKIP_PARTS.intersection(path.parts):
                digest.update(path.read_bytes())
    for path in sorted(settings.SNAPSHOT_DIR.rglob("*")):
        if path.is_file():
            digest.update(_stat_line(path).encode())
    for key in sorted(k for k in os.environ if k.startswith("HPW_") and k != "HPW_BUILD_DB"):
        value = os.environ[key]
        digest.update(f"{key}={value}".encode())
        if key.endswith("_PATH") and Path(value).is_file():
            digest.update(_stat_line(Path(value).resolve()).encode())
    return digest.hexdigest()


def record(warehouse_dir: Path) -> None:
    temporary = warehouse_dir / (FILE_NAME + ".tmp")
    temporary.write_text(json.dumps({"fingerprint": current()}))
    os.replace(temporary, warehouse_dir / FILE_NAME)


def is_up_to_date(warehouse_dir: Path) -> bool:
    marker = warehouse_dir / FILE_NAME
    if not marker.is_file() or not (warehouse_dir / "partnership.duckdb").is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("fingerprint") == current()
    except (OSError, ValueError):
        return False
