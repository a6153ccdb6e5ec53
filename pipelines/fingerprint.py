"""A cheap fingerprint of everything a build reads, so an unchanged re-run returns in about a second.

It covers the input files (path, size, modification time), the project's code and models, the reference
tables and every HPW_* setting. Kept free of heavy imports: `hpw build` checks it before loading Dagster.

"Up to date" is said only of a published file that proves it: it opens, it holds every mart the models define,
its `meta.build` carries the same fingerprint, and every mart has its Parquet export and datapackage.json.
A truncated file, a missing mart or export, or a file held open read-write by someone makes the next build run.
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
# Settings of how dbt is started (pipelines/dbt_worker.py), not of what the build makes.
RUN_SETTINGS = ("HPW_DBT_WORKER", "HPW_DBT_WORKER_SOCKET")


def stat_line(path: Path) -> str:
    stat = path.stat()
    shown = path.relative_to(settings.PROJECT_ROOT) if path.is_relative_to(settings.PROJECT_ROOT) else path
    return f"{shown}|{stat.st_size}|{stat.st_mtime_ns}"


def current() -> str:
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((settings.PROJECT_ROOT / folder).rglob("*")):
            if path.is_file() and not SKIP_PARTS.intersection(path.parts):
                digest.update(path.read_bytes())
    for path in sorted(settings.SNAPSHOT_DIR.rglob("*")):
        if path.is_file():
            digest.update(stat_line(path).encode())
    for key in sorted(k for k in os.environ if k.startswith("HPW_") and k not in ("HPW_BUILD_DB", *RUN_SETTINGS)):
        value = os.environ[key]
        digest.update(f"{key}={value}".encode())
        if key.endswith("_PATH") and Path(value).is_file():
            digest.update(stat_line(Path(value).resolve()).encode())
    return digest.hexdigest()


# Settings that choose a raw table's input file, not how it is processed: a refresh compares the files themselves.
INPUT_SETTINGS = ("HPW_BUILD_DB", "HPW_ACCEPT_CHANGE", "HPW_WAREHOUSE_DIR")


def code() -> str:
    """What a build does with its inputs: the code, models, reference tables, the dbt manifest's nodes, the dbt and
    DuckDB versions and every HPW_* setting except the file choices (`HPW_<KEY>_PATH`). A refresh is sound, and
    dbt's unit tests need not run again, only while this is unchanged."""
    digest = hashlib.sha256()
    for folder in CODE_DIRS:
        for path in sorted((settings.PROJECT_ROOT / folder).rglob("*")):
            if path.is_file() and not SKIP_PARTS.intersection(path.parts):
                digest.update(str(path.relative_to(settings.PROJECT_ROOT)).encode())
                digest.update(path.read_bytes())
    for key in sorted(k for k in os.environ if k.startswith("HPW_")):
        if key not in INPUT_SETTINGS and key not in RUN_SETTINGS and not key.endswith("_PATH"):
            digest.update(f"{key}={os.environ[key]}".encode())
    manifest = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    try:
        parsed = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no dbt manifest"
    digest.update(str(parsed.get("metadata", {}).get("dbt_version")).encode())
    # the engine that runs the SQL: an upgrade can change what the same models compute
    import duckdb

    digest.update(f"duckdb {duckdb.__version__}".encode())
    for kind in ("nodes", "sources", "macros"):
        for unique_id, node in sorted(parsed.get(kind, {}).items()):
            checksum = node.get("checksum", {}).get("checksum") if kind == "nodes" else node.get("macro_sql")
            digest.update(f"{unique_id}|{checksum}".encode())
    return digest.hexdigest()


def record(warehouse_dir: Path, value: str | None = None) -> None:
    temporary = warehouse_dir / (FILE_NAME + ".tmp")
    temporary.write_text(json.dumps({"fingerprint": value or current()}))
    os.replace(temporary, warehouse_dir / FILE_NAME)


def expected_marts(manifest: Path | None = None) -> set[str]:
    """The public tables the models define (dbt manifest: models under models/marts/)."""
    path = manifest or settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"].values()
    return {
        n["name"]
        for n in nodes
        if n["resource_type"] == "model" and n["original_file_path"].replace("\\", "/").startswith("marts/")
    }


def published_problem(warehouse_dir: Path, fingerprint: str | None = None) -> str | None:
    """Why the published warehouse in `warehouse_dir` cannot be trusted as up to date, or None if it can."""
    import duckdb

    database = warehouse_dir / "partnership.duckdb"
    if not database.is_file():
        return "no published file"
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            marts = {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts' "
                    "and table_catalog = current_database()"
                ).fetchall()
            }
            row = con.execute("select max(input_fingerprint) from meta.build").fetchone()
            recorded = row[0] if row else None
            for name in marts:  # reads every mart: a truncated file fails here
                con.execute(f'select count(*) from marts."{name}"').fetchone()
    except duckdb.Error as err:
        return f"the published file does not open ({str(err).splitlines()[0][:160]})"
    try:
        missing = expected_marts() - marts
    except (OSError, ValueError, KeyError):
        return "no dbt manifest"
    if missing:
        return f"the published file lacks marts {sorted(missing)}"
    if fingerprint is not None and recorded != fingerprint:
        return "inputs, code or settings changed"
    exports = warehouse_dir / "exports"
    absent = [m for m in sorted(marts) if not (exports / f"{m}.parquet").is_file()]
    if absent or not (exports / "datapackage.json").is_file():
        return f"exports missing ({', '.join(absent[:3]) or 'datapackage.json'})"
    return None


def is_up_to_date(warehouse_dir: Path) -> bool:
    marker = warehouse_dir / FILE_NAME
    if not marker.is_file() or not (warehouse_dir / "partnership.duckdb").is_file():
        return False
    try:
        value = current()
        if json.loads(marker.read_text()).get("fingerprint") != value:
            return False
    except (OSError, ValueError):
        return False
    return published_problem(warehouse_dir, value) is None
