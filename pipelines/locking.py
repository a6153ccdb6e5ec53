"""One build at a time per warehouse folder, whoever starts it: `hpw build`, the Dagster UI, or a scheduled run.

An advisory lock on `<warehouse>/.build.lock`. The process that holds it remembers so, so that the Dagster run
started by `hpw build` (which already holds it) does not wait on itself. Kept free of heavy imports.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import UserError

_HELD_HERE: set[Path] = set()


class BuildRunningError(UserError):
    pass


def held_here(warehouse_dir: Path) -> bool:
    return warehouse_dir.resolve() in _HELD_HERE


@contextmanager
def build_lock(warehouse_dir: Path):
    warehouse_dir = warehouse_dir.resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    handle = (warehouse_dir / ".build.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BuildRunningError(
            "a build is already running for this warehouse",
            f"wait for it to finish (lock: {warehouse_dir / '.build.lock'})",
        ) from None
    _HELD_HERE.add(warehouse_dir)
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        _HELD_HERE.discard(warehouse_dir)
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
