"""A publisher's small revision of a bundled file, written as a modified copy (the snapshots are never edited): what
a refresh test feeds `hpw build --file` so one raw table changes and the rest carry over."""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.sources import RAW_TABLES_BY_NAME

if TYPE_CHECKING:
    from pipelines.build import BuildResult

TROOPS = RAW_TABLES_BY_NAME["us_troops_dmdc"]


def changed_troops_file(folder: Path) -> Path:
    """The bundled DMDC file with Paraguay's June 1953 total raised by 100 (one value), in the real layout."""
    lines = TROOPS.bundled_path.read_text(encoding="utf-8").splitlines(keepends=True)
    total = lines[0].rstrip("\n").split(",").index("Total")
    target = next(i for i, line in enumerate(lines) if ",Paraguay," in line and ",1953,June," in line)
    cells = lines[target].rstrip("\n").split(",")
    cells[total] = str(int(cells[total]) + 100)
    lines[target] = ",".join(cells) + "\n"
    folder.mkdir()
    changed = folder / TROOPS.default_file
    changed.write_text("".join(lines), encoding="utf-8")
    return changed


# The refresh after that revision is the same build in test_refresh, test_refresh_exports and test_dbt_worker: it
# runs once per test run (session fixtures in tests/conftest.py), and the tests that read it are one xdist group
# so that the one worker running them builds it once.
TROOPS_REFRESH_GROUP = "troops_refresh"


@dataclass
class TroopsRefresh:
    """A whole copy of the session build (published file, exports, fingerprint) refreshed with `changed`, and what
    was seen on the way. Read it; a test that builds again works in a copy (`troops_refresh_back`)."""

    changed: Path  # the revised DMDC file given with --file
    root: Path  # the refreshed warehouse folder
    exports_before: dict[str, tuple[int, str]]  # its export files before the refresh (inode, sha256)
    result: BuildResult
    lines: list[str]  # what the refresh echoed
    events: list  # the Dagster events its progress hook saw, as they happened
    workers_after: list[int]  # warm dbt processes of this process still alive right after the refresh returned
    again: BuildResult  # the same file once more, right after: nothing to redo


@dataclass
class TroopsRefreshBack:
    """A copy of the refreshed folder with one carried-over mart's CSV edited since publishing, then built with
    the bundled files again: a refresh back to the published original."""

    root: Path
    edited: str  # the mart whose CSV was edited
    tampered: dict[str, tuple[int, str]]  # the copy's export files after the edit, before the build
    result: BuildResult
    lines: list[str]


def export_files(exports: Path) -> dict[str, tuple[int, str]]:
    """File name -> (inode, sha256) of every CSV and Parquet export."""
    return {
        p.name: (p.stat().st_ino, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(exports.iterdir())
        if p.suffix in {".csv", ".parquet"}
    }


def refresh_troops(built_warehouse: Path, folder: Path) -> TroopsRefresh:
    from pipelines.build import run_build
    from tests.processes import dbt_workers
    from tests.warehouse_copy import copy_warehouse

    changed = changed_troops_file(folder / "input")
    root = copy_warehouse(built_warehouse, folder / "refreshed", with_fingerprint=True)
    before = export_files(root / "exports")
    lines: list[str] = []
    events: list = []
    result = run_build(
        file_overrides={"us_troops_dmdc": str(changed)},
        warehouse_dir=root,
        log_level="WARNING",
        echo=lines.append,
        on_event=events.append,
    )
    workers = dbt_workers(os.getpid())
    again = run_build(file_overrides={"us_troops_dmdc": str(changed)}, warehouse_dir=root, echo=lambda *_: None)
    return TroopsRefresh(changed, root, before, result, lines, events, workers, again)


def refresh_troops_back(refreshed: TroopsRefresh, edited: str, folder: Path) -> TroopsRefreshBack:
    from pipelines.build import run_build

    root = folder / "back"
    shutil.copytree(refreshed.root, root, symlinks=True)  # copy2: mtimes kept, the fingerprint holds
    with (root / "exports" / f"{edited}.csv").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    tampered = export_files(root / "exports")
    lines: list[str] = []
    result = run_build(warehouse_dir=root, log_level="WARNING", echo=lines.append)
    return TroopsRefreshBack(root, edited, tampered, result, lines)
