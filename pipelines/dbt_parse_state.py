"""dbt's partial-parse state kept per build database, so every build folder parses incrementally.

Imports nothing heavy: the build seeds the state before the warm dbt process (pipelines/dbt_worker.py) parses.
"""

import hashlib
import os
import shutil
import time
from pathlib import Path

from pipelines import settings

# dbt reuses its parse only when the profile is unchanged, and the profile's `path` is the build database: a
# manifest parsed for one warehouse folder forces a full parse (~2.5 s) on every build in another. So the
# parse state each build leaves behind is kept per build-database path and handed to the next build there.
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
PARTIAL_PARSE_KEEP = 8
PARTIAL_PARSE_KEEP_SECONDS = 3600


def _partial_parse_cache(build_database: Path) -> Path:
    key = hashlib.sha256(str(build_database.resolve()).encode()).hexdigest()[:16]
    return settings.DBT_PROJECT_DIR / "target" / "partial_parse_by_database" / f"{key}.msgpack"


def seed_partial_parse(build_database: Path, target: Path) -> None:
    seed_from(_partial_parse_cache(build_database), target)
    # otherwise dagster-dbt copies models/target's (parsed for the default warehouse)


def seed_from(cached: Path, target: Path) -> None:
    """The parse state kept in `cached`, as dbt's own in its target folder (unless that has one)."""
    if cached.is_file() and not (target / PARTIAL_PARSE_FILE).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target / PARTIAL_PARSE_FILE)


def keep_as(target: Path, cached: Path) -> bool:
    """The parse state dbt left in `target`, kept as `cached` for the next run; whether there was one to keep."""
    produced = target / PARTIAL_PARSE_FILE
    if not produced.is_file():
        return False
    try:  # a cache: failing to keep it costs the next run a full parse, never this one
        cached.parent.mkdir(parents=True, exist_ok=True)
        scratch = cached.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(produced, scratch)
        os.replace(scratch, cached)  # atomic: a run reading the cache never sees half a file
    except OSError:
        return False
    return True


def keep_partial_parse(build_database: Path, target: Path) -> None:
    cached = _partial_parse_cache(build_database)
    if not keep_as(target, cached):
        return
    try:
        # ~1.3 MB each: keep the folders built most recently, and every one built within the hour (a parallel
        # test run builds in dozens of temporary folders and reads the state of its first build at the end)
        kept = sorted(cached.parent.glob("*.msgpack"), key=lambda f: f.stat().st_mtime, reverse=True)
        recent = time.time() - PARTIAL_PARSE_KEEP_SECONDS
        for stale in kept[PARTIAL_PARSE_KEEP:]:
            if stale.stat().st_mtime < recent:
                stale.unlink(missing_ok=True)
    except OSError:
        pass
