"""dbt's partial-parse state, one for the builds of every warehouse folder, so every build parses incrementally.

Imports nothing heavy: the build seeds the state before the warm dbt process (pipelines/dbt_worker.py) parses.
"""

import os
import shutil
from pathlib import Path

from pipelines import settings

# dbt reuses its parse only when the profile is unchanged, and the profile's `path` is the build database. dbt runs
# with the build area as its working directory and the database named relative to it (dbt_worker.in_build_area),
# so the profile is the same in every warehouse folder: the state any build leaves serves the next one anywhere,
# a first build in a new folder included (instead of a full parse).
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
BUILD_PARSE_STATE_FILE = "build_partial_parse.msgpack"


def build_parse_state() -> Path:
    """Where the builds' parse state is kept (beside `make manifest`'s own, models/target/partial_parse.msgpack)."""
    return settings.DBT_PROJECT_DIR / "target" / BUILD_PARSE_STATE_FILE


def kept_parse_state() -> Path:
    """The newer of the builds' parse state and the manifest parse's (`make manifest`, or `hpw build` when the
    manifest was stale): both are parsed with the profile a build's dbt gets, and the newer one has seen the latest
    project files (a changed dbt_project.yml forces a full parse of any older state)."""
    build, manifest = build_parse_state(), build_parse_state().with_name(PARTIAL_PARSE_FILE)
    try:
        return build if build.stat().st_mtime >= manifest.stat().st_mtime else manifest
    except FileNotFoundError:
        return build if build.is_file() else manifest


def seed_partial_parse(target: Path) -> None:
    """The kept parse state, as dbt's own in its target folder (unless that has one)."""
    cached = kept_parse_state()
    if cached.is_file() and not (target / PARTIAL_PARSE_FILE).exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target / PARTIAL_PARSE_FILE)


def keep_partial_parse(target: Path) -> None:
    """The parse state dbt left in `target`, kept for the next build or `hpw docs` in any folder."""
    produced, cached = target / PARTIAL_PARSE_FILE, build_parse_state()
    if not produced.is_file():
        return
    try:  # a cache: failing to keep it costs the next run a full parse, never this one
        cached.parent.mkdir(parents=True, exist_ok=True)
        scratch = cached.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(produced, scratch)
        os.replace(scratch, cached)  # atomic: a run reading the cache never sees half a file
    except OSError:
        pass
