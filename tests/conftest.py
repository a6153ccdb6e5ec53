"""Shared fixtures. The end-to-end build runs once per test run into a temporary warehouse folder, shared by every
pytest-xdist worker (`make test` runs the suite on every core).

Markers (pyproject.toml): a test that needs the session build is marked `e2e` here automatically, whatever its
module says; `make test-fast` runs what is neither `e2e` nor `slow`.
"""

from __future__ import annotations

import atexit
import gc
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOTS = PROJECT_ROOT / "data" / "snapshots"
BUILD_FIXTURE = "built_warehouse"

# Builds are runs on the Dagster instance of DAGSTER_HOME (the Makefile points it at the repository's dagster_home/):
# tests use a temporary one per process with the project's dagster.yaml, so they never write run storage into the
# repository, and parallel workers never share an instance (its `duckdb_write` pool would serialise their builds).
DAGSTER_HOME = Path(tempfile.mkdtemp(prefix="hpw-dagster-home-"))
shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", DAGSTER_HOME / "dagster.yaml")
os.environ["DAGSTER_HOME"] = str(DAGSTER_HOME)
atexit.register(shutil.rmtree, DAGSTER_HOME, True)


def _worker() -> str | None:
    """The pytest-xdist worker id (gw0, gw1, ...), None when the suite runs in one process."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def shared_temp(tmp_path_factory) -> Path:
    """A folder of this test run that every xdist worker sees (each worker's own base folder lies inside it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if _worker() else base


def session_build(shared: Path) -> Path:
    """Build the session warehouse under `shared` unless done already; whoever holds the lock first builds, the
    others wait for it. Called by the fixture and by the background build process."""
    from filelock import FileLock

    root, done, failed = (shared / f"session_warehouse{suffix}" for suffix in ("", ".done", ".failed"))
    with FileLock(str(shared / "session_warehouse.lock")):
        if not done.exists() and not failed.exists():
            from pipelines.build import run_build

            # the session build's run lives in an instance of its own that every worker can read
            home = session_dagster_home(shared)
            home.mkdir(exist_ok=True)
            shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
            previous, os.environ["DAGSTER_HOME"] = os.environ.get("DAGSTER_HOME"), str(home)
            try:
                result = run_build(force=True, warehouse_dir=root, log_level="WARNING", echo=lambda *_: None)
            finally:
                if previous is not None:
                    os.environ["DAGSTER_HOME"] = previous
            (done if result.success else failed).write_text(result.error or "", encoding="utf-8")
    assert not failed.exists(), f"the session build failed: {failed.read_text(encoding='utf-8')}"
    return root


def session_dagster_home(shared: Path) -> Path:
    """The DAGSTER_HOME of the session build's run."""
    return shared / "session_dagster_home"


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> Path:
    """The whole warehouse built from the bundled snapshots, once per test run; returns the warehouse folder.

    Usually already under way in a background process (pytest_collection_finish) while tests that need no build
    run. Under xdist each worker gets a byte copy, so what one worker's tests do to the folder no other sees."""
    root = session_build(shared_temp(tmp_path_factory))
    if _worker() is None:
        return root
    own = tmp_path_factory.mktemp("warehouse")
    shutil.copytree(root, own, symlinks=True, dirs_exist_ok=True)  # copy2: mtimes kept, the fingerprint holds
    return own


_background_build: subprocess.Popen | None = None


def pytest_collection_finish(session):
    """Start the session build in a background process as soon as the selected tests are known to need it, so it
    runs beside the tests that do not (those run first, see the ordering below). One process per test run: the
    first worker to create the marker starts it."""
    global _background_build
    if session.config.option.collectonly or not any(
        BUILD_FIXTURE in getattr(i, "fixturenames", ()) for i in session.items
    ):
        return
    shared = shared_temp(session.config._tmp_path_factory)
    try:
        (shared / "session_warehouse.started").open("x").close()
    except FileExistsError:
        return
    # the build's own output is in its log file; a crash of the process leaves its traceback here
    script = f"from pathlib import Path; from tests.conftest import session_build; session_build(Path({str(shared)!r}))"
    with (shared / "session_warehouse.stderr").open("w") as errors:
        _background_build = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=PROJECT_ROOT,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
        )


def pytest_sessionfinish(session):
    if _background_build is not None and _background_build.poll() is None:  # the run was cut short
        os.killpg(_background_build.pid, signal.SIGKILL)
        _background_build.wait()


@pytest.fixture(scope="session")
def session_build_folder(built_warehouse, tmp_path_factory) -> Path:
    """The folder the session build ran in; under xdist `built_warehouse` is a copy of it. Only to be read."""
    return shared_temp(tmp_path_factory) / "session_warehouse"


@pytest.fixture(scope="session")
def session_build_instance_home(built_warehouse, tmp_path_factory) -> Path:
    """The DAGSTER_HOME whose instance holds the session build's run (read it, never build into it)."""
    return session_dagster_home(shared_temp(tmp_path_factory))


def reused_folder(tmp_path_factory, name: str) -> Path:
    """`<this worker's temporary folder>/reused/<name>`, removed if a test before left it: the same path for every
    test of this worker that asks for `name` (fewer temporary folders; dbt's parse state no longer depends on the
    folder: pipelines/dbt_parse_state.py). Only for a folder that does not outlive its test,
    or its module's tests when a module-scoped fixture holds it (those run one after another on one worker, and
    pytest tears the fixture down before the next module's first test)."""
    folder = tmp_path_factory.getbasetemp() / "reused" / name
    # DuckDB hands a new connection to a path the database instance still open there in this process: a connection
    # an earlier test dropped without closing (freed only by the cycle collector, which builds switch off while
    # importing) would serve the deleted file's contents to this test
    gc.collect()
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture()
def reused_root(tmp_path_factory) -> Path:
    """A warehouse folder (not yet created) at a path this worker reuses from test to test (`reused_folder`)."""
    return reused_folder(tmp_path_factory, "warehouse")


def reused_build_area(tmp_path_factory, name: str) -> Path:
    """A build folder (created, empty but for dbt's partial-parse state in dbt_target/, seeded as a build seeds
    it) at a path this worker reuses: for tests that run dbt themselves on a database they put there."""
    from pipelines.dbt_parse_state import PARTIAL_PARSE_FILE, seed_partial_parse

    area = tmp_path_factory.getbasetemp() / "reused_dbt" / name / "warehouse" / ".build"
    target = area / "dbt_target"
    if target.exists():
        for leftover in target.iterdir():
            if leftover.name != PARTIAL_PARSE_FILE:
                shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    for leftover in area.iterdir() if area.exists() else ():
        if leftover.name != "dbt_target":
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
    area.mkdir(parents=True, exist_ok=True)
    seed_partial_parse(target)
    return area


def as_a_builds_dbt(env: pytest.MonkeyPatch, database: Path, target: Path) -> None:
    """dbt run in this process (dbtRunner) as a build's dbt runs: in the database's folder with the database named
    relative to it (pipelines/dbt_worker.in_build_area) and the kept parse state seeded into `target`, so dbt
    parses only what changed instead of the whole project."""
    from pipelines import dbt_worker
    from pipelines.dbt_parse_state import seed_partial_parse

    # dbt-duckdb keeps its last database open for the life of the process, and would serve it again for the same
    # profile: a run in another folder names its database the same way (DuckDB's instance cache too)
    dbt_worker._close_database("")
    cwd, environ = dbt_worker.in_build_area(os.getcwd(), {"HPW_BUILD_DB": str(database)})
    env.chdir(cwd)
    env.setenv("HPW_BUILD_DB", environ["HPW_BUILD_DB"])
    seed_partial_parse(target)


@pytest.fixture(scope="session")
def troops_refresh(built_warehouse, tmp_path_factory):
    """The session build refreshed with one changed DMDC value, once per worker (tests/revisions.py): only for tests
    in xdist group TROOPS_REFRESH_GROUP, which run on one worker."""
    from tests.revisions import refresh_troops

    return refresh_troops(built_warehouse, tmp_path_factory.mktemp("troops_refresh"))


@pytest.fixture(scope="session")
def troops_refresh_back(troops_refresh, tmp_path_factory):
    """A copy of `troops_refresh` with one carried-over mart's CSV edited, built again from the bundled files."""
    from tests.revisions import refresh_troops_back
    from tests.test_refresh import _dbt_descendants_of_source
    from tests.warehouse_copy import mart_names

    rebuilt = {k.path[-1] for k in _dbt_descendants_of_source("us_troops_dmdc") if k.path[0] == "marts"}
    edited = next(m for m in mart_names(troops_refresh.root / "partnership.duckdb") if m not in rebuilt)
    return refresh_troops_back(troops_refresh, edited, tmp_path_factory.mktemp("troops_refresh_back"))


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


def _module(item) -> str:
    return item.nodeid.split("::")[0]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "builds: runs a build (cold or refresh) of its own, tens of seconds: scheduled first within its part",
    )


def _unit(item) -> str:
    """What pytest-xdist (--dist loadgroup) sends to one worker as a whole: the item's group, else the item."""
    group = item.get_closest_marker("xdist_group")
    return f"group:{group.args[0] if group.args else group.kwargs.get('name')}" if group else item.nodeid


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if BUILD_FIXTURE in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)
        # pytest-xdist (--dist loadgroup): a module's tests that share a module-scoped fixture go to one worker,
        # unless the module groups them more finely itself (xdist_group marks, e.g. one group per build round)
        if item.get_closest_marker("xdist_group") is None and _module_scoped(item):
            item.add_marker(pytest.mark.xdist_group(_module(item)))
    # Order (stable; a group's tests kept together): units needing no session build first, the slow ones first, so
    # both workers have long work while the background session build runs and it is done by the time the tests
    # that read it start. Within each part, units that run builds of their own first, then groups, then single
    # tests: the wall time is the later worker's end, so the long units must not come last.
    needs_build, heavy, builds = set(), set(), set()
    for item in items:
        unit = _unit(item)
        if BUILD_FIXTURE in getattr(item, "fixturenames", ()):
            needs_build.add(unit)
        if item.get_closest_marker("e2e") or item.get_closest_marker("slow"):
            heavy.add(unit)
        if item.get_closest_marker("builds"):
            builds.add(unit)

    def rank(item) -> tuple[int, bool, bool]:
        unit = _unit(item)
        part = 2 if unit in needs_build else 0 if unit in heavy else 1
        return part, unit not in builds, item.get_closest_marker("xdist_group") is None

    items.sort(key=rank)
