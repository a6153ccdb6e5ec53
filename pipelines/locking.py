"""One build at a time per warehouse folder, whoever starts it: `hpw build`, the Dagster UI, or a scheduled run.

The lock is an OS lock (`flock`) on an open descriptor of the warehouse folder itself, not on a file inside it:
deleting `.build.lock` (or anything else) cannot release it, and it dies with its process (`kill -9` needs no
clean-up). `.build.lock` only tells a waiting user which process holds the lock. The process that holds it
remembers so, so that the Dagster run started by `hpw build` (which already holds it) does not wait on itself;
`still_held()` re-checks ownership right before the published file is swapped. Kept free of heavy imports.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import UserError

_HELD_HERE: dict[Path, int] = {}  # warehouse folder -> descriptor holding its lock
INFO_FILE = ".build.lock"


class BuildRunningError(UserError):
    pass


def held_here(warehouse_dir: Path) -> bool:
    return warehouse_dir.resolve() in _HELD_HERE


def still_held(warehouse_dir: Path) -> bool:
    """This process holds the lock, and the folder it locked is still the one at this path (not moved away)."""
    descriptor = _HELD_HERE.get(warehouse_dir.resolve())
    if descriptor is None:
        return False
    try:
        locked, current = os.fstat(descriptor), os.stat(warehouse_dir)
    except OSError:
        return False
    return (locked.st_dev, locked.st_ino) == (current.st_dev, current.st_ino)


def _holder(warehouse_dir: Path) -> str:
    try:
        pid = (warehouse_dir / INFO_FILE).read_text().strip()
    except OSError:
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextmanager
def build_lock(warehouse_dir: Path):
    warehouse_dir = warehouse_dir.resolve()
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(warehouse_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise BuildRunningError(
            f"a build is already running for this warehouse{_holder(warehouse_dir)}",
            f"wait for it to finish (the lock is held on the folder {warehouse_dir})",
        ) from None
    _HELD_HERE[warehouse_dir] = descriptor
    try:
        try:  # informational only: the lock itself is on the folder's descriptor
            (warehouse_dir / INFO_FILE).write_text(str(os.getpid()))
        except OSError:
            pass
        yield
    finally:
        _HELD_HERE.pop(warehouse_dir, None)
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
