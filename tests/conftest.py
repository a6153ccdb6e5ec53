"""Shared fixtures. The end-to-end build runs once per test run into a temporary warehouse folder, shared by every
pytest-xdist worker (`make test` runs the suite on every core).

Markers (pyproject.toml): a test that needs the session build is marked `e2e` here automatically, whatever its
module says; `make test-fast` runs what is neither `e2e` nor `slow`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = PROJECT_ROOT / "data" / "snapshots"
BUILD_FIXTURE = "built_warehouse"


def _worker() -> str | None:
    """The pytest-xdist worker id (gw0, gw1, ...), None when the suite runs in one process."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def shared_temp(tmp_path_factory) -> Path:
    """A folder of this test run that every xdist worker sees (each worker's own base folder lies inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if _worker() else base


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Path:
    """The whole warehouse built from the bundled snapshots, once per test run; returns the warehouse folder.

    The first xdist worker to ask builds it under a file lock; the others wait for it instead of building their own.
    Each worker then gets a byte copy, so what one worker's tests do to the folder no other worker sees."""
    from filelock import FileLock

    shared = shared_temp(tmp_path_factory)
    root, done, failed = (shared / f"session_warehouse{suffix}" for suffix in ("", ".done", ".failed"))
    with FileLock(str(shared / "session_warehouse.lock")):
        if not done.exists() and not failed.exists():
            from pipelines.build import run_build

            result = run_build(force=True, warehouse_dir=root, log_level="WARNING", echo=lambda *_: None)
            (done if result.success else failed).write_text(result.error or "", encoding="utf-8")
    assert not failed.exists(), f"the session build failed: {failed.read_text(encoding='utf-8')}"
    if _worker() is None:
        return root
    own = tmp_path_factory.mktemp("warehouse")
    shutil.copytree(root, own, symlinks=True, dirs_exist_ok=True)  # copy2: mtimes kept, the fingerprint holds
    return own


@pytest.fixture()
def marts(built_warehouse):
    """A read-only connection to the published file of the session build."""
    con = duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True)
    yield con
    con.close()


def _module_scoped(item) -> bool:
    """Does the test use a fixture set up once per module (or class)? Splitting such a module over workers would
    set that fixture up again on each worker."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return False
    return any(
        definitions[-1].scope in ("module", "class", "package")
        for name, definitions in info.name2fixturedefs.items()
        if definitions and name in info.names_closure
    )


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if BUILD_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
        # pytest-xdist (--dist loadgroup): a module's tests that share a module-scoped fixture go to one worker,
        # unless the module groups them more finely itself (xdist_group marks, e.g. one group per build round)
        if item.get_closest_marker("xdist_group") is None and _module_scoped(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
