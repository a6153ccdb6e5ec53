"""Cold build or refresh: what a build has to redo, decided before Dagster loads.

A **refresh** starts from a copy of the published database and runs only the raw tables whose input changed, the
dbt models (and their tests) downstream of them, and the publish step; everything else is carried over from the
published build, whose checks all passed (publish refuses anything less). A **cold build** starts from an empty
database and runs every asset. The build is cold when:

- `--force` asks for it;
- there is no published file, or it does not prove itself (pipelines/fingerprint.py `published_problem`);
- the published file records no code fingerprint or input digests (published by a UI run or an older version);
- the code fingerprint differs: pipelines/, data_contracts/, models/, data/reference/, the dbt manifest or an
  HPW_* setting changed (anything but the `HPW_<KEY>_PATH` file choices, which are inputs);
- a raw table's input is only known after a download (live or landed mode, an `HPW_<KEY>_URL`).

A raw table's input digest covers what lands with its rows: the file's sha256, name and vintage, and the names,
sizes and modification times of the files beside it (folder sources read their neighbours). The digests of the
build's inputs are recorded in the published `meta.build`; a raw table whose digest differs, or which
`--accept-change` names, is re-landed.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines import fetch, fingerprint

BUILD_KIND_TAG = "hpw/build"  # run tag: "cold" or "refresh"
# run tag "true": the published build was made by this very code, so dbt's unit tests (the SQL on fixed fixtures,
# not the data) passed with it and are not run again (pipelines/dbt.py)
CODE_TESTED_TAG = "hpw/code-tested"
SIBLINGS_LIMIT = 500  # a file in a crowded folder (Downloads): its neighbours are not hashed, the file always re-lands


@dataclass
class Plan:
    cold: bool
    reason: str  # one line: why cold, or what the refresh redoes
    changed: list[str] = field(default_factory=list)  # raw tables to land (every one when cold)
    inputs: dict[str, str] = field(default_factory=dict)  # raw table -> input digest, recorded by publish
    code_tested: bool = False  # the published build's code is this code: its dbt unit tests passed with it

    def line(self) -> str:
        # a refresh always has the published build's code; a cold build says why its unit tests are left out
        tested = (
            "; dbt unit tests passed with this code (published build): not repeated"
            if self.cold and self.code_tested
            else ""
        )
        return f"{'cold build' if self.cold else 'refresh'}: {self.reason}{tested}"


def _neighbours(path: Path) -> str | None:
    entries = []
    for i, other in enumerate(sorted(path.parent.iterdir())):
        if i >= SIBLINGS_LIMIT:
            return None
        if other != path and other.is_file():
            stat = other.stat()
            entries.append(f"{other.name}|{stat.st_size}|{stat.st_mtime_ns}")
    return "\n".join(entries)


def input_digests(tables, file_overrides: dict[str, str] | None = None) -> dict[str, str]:
    """raw table -> digest of the input it would read now (run-config file, `HPW_<KEY>_PATH`, or the snapshot)."""
    overrides = file_overrides or {}
    by_path: dict[tuple, str] = {}
    digests = {}
    for table in tables:
        configured = next((p for k, p in overrides.items() if k in (table.name, table.file_key)), None)
        source_file = table.locate(configured)
        key = (source_file.path, source_file.vintage, source_file.bundled)
        if key not in by_path:
            neighbours = _neighbours(source_file.path)
            if neighbours is None:
                by_path[key] = f"unhashable:{source_file.sha256}:{id(key)}"
            else:
                text = f"{source_file.path.name}\n{source_file.sha256}\n{source_file.vintage}\n{source_file.bundled}"
                by_path[key] = hashlib.sha256(f"{text}\n{neighbours}".encode()).hexdigest()
        digests[table.name] = by_path[key]
    return digests


def _recorded(published: Path) -> tuple[str | None, dict[str, str] | None]:
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        columns = {
            r[0]
            for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'meta' "
                "and table_name = 'build' and table_catalog = current_database()"
            ).fetchall()
        }
        if not {"code_fingerprint", "input_digests"} <= columns:
            return None, None
        row = con.execute("select code_fingerprint, input_digests from meta.build").fetchone()
    if row is None:
        return None, None
    code, inputs = row
    return code, json.loads(inputs) if inputs else None


def plan(
    root: Path,
    *,
    force: bool = False,
    file_overrides: dict[str, str] | None = None,
    accept_changes: dict[str, str] | None = None,
) -> Plan:
    from pipelines.sources import RAW_TABLES

    inputs = input_digests(RAW_TABLES, file_overrides)
    every = sorted(inputs)
    try:
        code, recorded = (
            _recorded(root / "partnership.duckdb") if (root / "partnership.duckdb").is_file() else (None, None)
        )
        unreadable = None
    except Exception as err:  # noqa: BLE001 - whatever is wrong with it, a cold build replaces it
        code, recorded, unreadable = None, None, str(err).splitlines()[0][:120]
    # a published build's checks all passed, its unit tests with the code it records included
    code_tested = code is not None and code == fingerprint.code()

    def cold(reason: str) -> Plan:
        return Plan(True, reason, every, inputs, code_tested=code_tested)

    if force:
        return cold("--force")
    if any(fetch.wants_live(t) or fetch.wants_landed(t) for t in RAW_TABLES):
        return cold("live or landed mode: the inputs are known only after the downloads")
    problem = fingerprint.published_problem(root)
    if problem:
        return cold(problem)
    if unreadable:
        return cold(f"the published file's meta.build does not read ({unreadable})")
    if code is None or recorded is None:
        return cold("the published build records no inputs (published by a UI run or an older version)")
    if not code_tested:
        return cold("code, models, dbt manifest, reference data or settings changed since the published build")
    changed = sorted({t for t in every if recorded.get(t) != inputs[t]} | set(accept_changes or ()))
    what = ", ".join(changed[:6]) + (f", +{len(changed) - 6} more" if len(changed) > 6 else "")
    return Plan(False, f"{len(changed)} raw table(s) changed ({what or 'none'})", changed, inputs, code_tested=True)


def seed(published: Path, build_database: Path, changed: list[str]) -> None:
    """The build database of a refresh: a copy of the published one without the raw tables about to be re-landed
    (a streamed raw table comes back as a view over Parquet where the published file holds a table)."""
    import duckdb

    scratch = build_database.with_name(build_database.name + ".copy")
    shutil.copyfile(published, scratch)
    with duckdb.connect(str(scratch)) as con:
        objects = dict(
            con.execute(
                "select table_name, table_type from information_schema.tables where table_schema = 'raw' "
                "and table_catalog = current_database()"
            ).fetchall()
        )
        for name in changed:
            if name in objects:
                kind = "view" if objects[name] == "VIEW" else "table"
                con.execute(f'drop {kind} raw."{name}"')
        con.execute("checkpoint")
    scratch.replace(build_database)


def selection(changed: list[str]):
    """Asset keys a refresh runs: the changed raw tables, everything downstream of them in the build job."""
    from dagster import AssetKey, AssetSelection

    from pipelines.definitions import BUILD_SELECTION, defs

    graph = defs.resolve_asset_graph()
    chosen = AssetSelection.assets(*(AssetKey(["raw", name]) for name in changed)).downstream() & BUILD_SELECTION
    return sorted(chosen.resolve(graph), key=lambda k: k.to_user_string())


# The published file held open read-only by `hpw build` (pipelines/build.py) until its publish step starts.
_HELD: dict[Path, Any] = {}


@contextmanager
def published_held_open(published: Path):
    """Keep the published file open read-only while the block runs, or until `release_published`.

    DuckDB shares one open database between the connections a process makes to the same file (with the same
    settings), so the build's readers of the published file before publishing (the plan, the anomaly gate, the
    drift baseline, publish's carry-over check: each a connection of its own) load its catalog once instead of
    each time. Publishing releases it before the swap: a connection opened while it is still held would get the
    old file. No file, or one that does not open: nothing is held (the readers say what is wrong)."""
    import duckdb

    key = published.resolve()
    if key not in _HELD and published.is_file():
        try:
            _HELD[key] = duckdb.connect(str(published), read_only=True)
        except duckdb.Error:
            pass
    try:
        yield
    finally:
        release_published(published)


def release_published(published: Path) -> None:
    held = _HELD.pop(published.resolve(), None)
    if held is not None:
        held.close()
