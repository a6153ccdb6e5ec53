"""Publish is one atomic step, last, and only of a complete build of the same run (pipelines/publish.py).

Cases: the published asset materialised alone (Python API and the `dagster asset materialize` command) publishes
nothing and deletes nothing; a read-write connection held on the published file stops the build before any work
and stops a swap; a stale WAL beside the old file never attaches to the new one; the exports folder is swapped as a
whole and put back if the database cannot follow; "up to date" is said only of a published file that proves it.
(`.build.lock` deleted during a build and a half-written last line of the ingestion log: tests/faults/test_faults.py,
in the build that follows the killed one.)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from pipelines import fingerprint, warehouse
from pipelines.build import BuildError, run_build
from tests.conftest import PROJECT_ROOT
from tests.warehouse_copy import copy_warehouse

pytestmark = pytest.mark.e2e
HPW = [sys.executable, "-m", "pipelines.cli"]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def full_copy(built_warehouse: Path, root: Path) -> Path:
    """The session build's published file, exports and fingerprint, as a warehouse folder of its own."""
    return copy_warehouse(built_warehouse, root, with_fingerprint=True)


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HPW_WAREHOUSE_DIR": str(root),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
        **extra,
    }


def _marts(database: Path) -> dict[str, int]:
    with duckdb.connect(str(database), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        return {n: con.execute(f'select count(*) from marts."{n}"').fetchone()[0] for n in names}


# ------------------------------------------------------------------------------ the published asset on its own


def test_materialising_the_published_asset_alone_publishes_and_deletes_nothing(built_warehouse, tmp_path):
    from dagster import DagsterInstance, materialize

    from pipelines.dbt import dbt_resource
    from pipelines.publish import published_warehouse
    from pipelines.resources import WarehouseResource

    root = full_copy(built_warehouse, tmp_path / "warehouse")
    # even a complete build database left in the build folder (an earlier run's) must not be published
    (root / ".build").mkdir()
    shutil.copyfile(built_warehouse / "partnership.duckdb", root / ".build" / "partnership.duckdb")
    before, exports = hashlib.sha256((root / "partnership.duckdb").read_bytes()).hexdigest(), _digest(root / "exports")
    result = materialize(
        [published_warehouse],
        instance=DagsterInstance.ephemeral(),
        raise_on_error=False,
        resources={"warehouse_db": WarehouseResource(warehouse_dir=str(root)), "dbt": dbt_resource()},
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.event_specific_data.error.message
    assert "publish refused: this run did not build" in message and "nothing was published or deleted" in message
    assert hashlib.sha256((root / "partnership.duckdb").read_bytes()).hexdigest() == before
    assert _digest(root / "exports") == exports
    assert sum(n.endswith(".parquet") for n in exports) == len(_marts(root / "partnership.duckdb"))


def test_dagster_asset_materialize_select_published_publishes_nothing(built_warehouse, tmp_path):
    root = full_copy(built_warehouse, tmp_path / "warehouse")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PROJECT_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    before, exports = hashlib.sha256((root / "partnership.duckdb").read_bytes()).hexdigest(), _digest(root / "exports")
    dagster = Path(sys.executable).parent / "dagster"
    out = subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "pipelines.definitions",
            "--select",
            "published/partnership_warehouse",
        ],
        cwd=PROJECT_ROOT,
        env=_env(root, DAGSTER_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode != 0
    assert "publish refused" in out.stdout + out.stderr
    assert hashlib.sha256((root / "partnership.duckdb").read_bytes()).hexdigest() == before
    assert _digest(root / "exports") == exports


# ------------------------------------------------------------------------------ a writer on the published file

HOLD_READ_WRITE = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])  # read-write, as DBeaver or a careless script would
    con.execute("create or replace table main.analyst_scratch as select 1 as x")
    print("holding", flush=True)
    sys.stdin.readline()
    con.execute("insert into main.analyst_scratch values (2)")  # a write after the build: must not break anything
    print("wrote", flush=True)
    sys.stdin.readline()
""")


def test_a_read_write_connection_on_the_published_file_stops_the_build_and_the_swap(built_warehouse, tmp_path):
    from pipelines.publish import PublishRefused, publish_build

    root = full_copy(built_warehouse, tmp_path / "warehouse")
    database = root / "partnership.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_WRITE, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert warehouse.writer_pid(database) == holder.pid
        # `hpw build` refuses before any work, naming the process
        out = subprocess.run(
            [*HPW, "build", "--force"], cwd=PROJECT_ROOT, env=_env(root), capture_output=True, text=True, timeout=120
        )
        assert out.returncode == 1 and "hint:" in out.stderr
        assert f"open read-write by process {holder.pid}" in out.stderr
        assert not (root / ".build").exists()
        # and the swap itself refuses too (a writer that connected while a build was running)
        staged = root / ".build" / "partnership.duckdb"
        staged.parent.mkdir()
        shutil.copyfile(built_warehouse / "partnership.duckdb", staged)
        with pytest.raises(PublishRefused, match=f"open read-write by process {holder.pid}"):
            publish_build(
                root, staged, "test-run", set(_marts(built_warehouse / "partnership.duckdb")), log=lambda *_: None
            )
        holder.stdin.write("go\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "wrote"
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    # the analyst's file stays whole and readable by everyone once the writer is gone
    assert _marts(database) == _marts(built_warehouse / "partnership.duckdb")
    assert not database.with_name(database.name + ".wal").exists()


LEAVE_WAL = textwrap.dedent("""
    import os, sys, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("create table main.crashed_session as select 42 as answer")
    os._exit(0)  # a crash: no checkpoint, the WAL stays beside the file
""")


def test_publish_swaps_exports_as_a_whole_and_no_stale_wal_attaches_to_the_new_file(built_warehouse, tmp_path):
    from pipelines.publish import publish_build

    root = full_copy(built_warehouse, tmp_path / "warehouse")
    database = root / "partnership.duckdb"
    subprocess.run([sys.executable, "-c", LEAVE_WAL, str(database)], check=True, timeout=60)
    wal = database.with_name(database.name + ".wal")
    assert wal.exists()
    (root / "exports" / "fct_dropped_mart.parquet").write_bytes(b"an export of a mart that no longer exists")
    old_exports_inode = (root / "exports").stat().st_ino
    staged = root / ".build" / "partnership.duckdb"
    staged.parent.mkdir()
    shutil.copyfile(built_warehouse / "partnership.duckdb", staged)
    expected = _marts(built_warehouse / "partnership.duckdb")
    messages = []
    outcome = publish_build(root, staged, "test-run", set(expected), log=messages.append)
    assert not wal.exists() and not staged.exists()
    assert _marts(database) == expected  # opens: no foreign WAL replayed
    with duckdb.connect(str(database), read_only=True) as con:
        assert con.execute("select run_id, storage_version from meta.build").fetchone() == ("test-run", "v1.0.0")
    assert warehouse.storage_number(database) == warehouse.STORAGE_NUMBER
    exports = sorted(p.stem for p in (root / "exports").glob("*.parquet"))
    assert exports == sorted(expected) and (root / "exports").stat().st_ino != old_exports_inode
    assert not (root / ".build" / "exports").exists() and not (root / ".build" / "exports.previous").exists()
    assert messages == [outcome.message(database)]
    assert f"replaced partnership.duckdb ({len(expected)} marts)" in messages[0] and "exports/ replaced" in messages[0]
    assert fingerprint.published_problem(root) is None


def test_exports_are_put_back_when_the_database_cannot_be_swapped(tmp_path):
    published, exports = tmp_path / "partnership.duckdb", tmp_path / "exports"
    published.write_bytes(b"old database")
    exports.mkdir()
    (exports / "a.parquet").write_bytes(b"old export")
    staged_exports = tmp_path / ".build" / "exports"
    staged_exports.mkdir(parents=True)
    (staged_exports / "a.parquet").write_bytes(b"new export")
    missing_database = tmp_path / ".build" / "partnership.duckdb"  # the rename fails: the file is not there
    with pytest.raises(FileNotFoundError):
        warehouse.swap_in(missing_database, staged_exports, published, exports)
    assert (exports / "a.parquet").read_bytes() == b"old export" and published.read_bytes() == b"old database"


def test_an_exports_path_that_is_not_a_folder_fails_before_any_work(built_warehouse, tmp_path):
    root = tmp_path / "warehouse"
    root.mkdir()
    shutil.copyfile(built_warehouse / "partnership.duckdb", root / "partnership.duckdb")
    (root / "exports").write_text("not a folder")
    with pytest.raises(BuildError, match="exports is not a folder"):
        run_build(force=True, warehouse_dir=root, echo=lambda *_: None)
    assert not (root / ".build").exists()


# ------------------------------------------------------------------------------ "up to date" must be proven


def test_up_to_date_only_when_the_published_file_proves_it(built_warehouse, tmp_path):
    root = full_copy(built_warehouse, tmp_path / "warehouse")
    assert fingerprint.is_up_to_date(root)
    assert run_build(warehouse_dir=root, echo=lambda *_: None).up_to_date
    export = root / "exports" / "dim_country.parquet"
    export.unlink()
    assert not fingerprint.is_up_to_date(root) and "exports missing" in fingerprint.published_problem(root)
    shutil.copyfile(built_warehouse / "exports" / "dim_country.parquet", export)
    data = (root / "partnership.duckdb").read_bytes()
    (root / "partnership.duckdb").write_bytes(data[: len(data) // 3])  # truncated
    assert not fingerprint.is_up_to_date(root)
    assert "does not open" in fingerprint.published_problem(root)
