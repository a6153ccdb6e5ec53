"""Issue 7, faults (cases 16-20): a killed build, two builds at once, a reader holding the file, an unwritable
warehouse folder, and determinism. The killed build is a real `hpw build` process killed with SIGKILL while dbt runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.build import BuildError, run_build
from tests.conftest import PROJECT_ROOT
from tests.faults.conftest import publish_copy
from tests.processes import dbt_workers, gone

pytestmark = pytest.mark.e2e
HPW = [sys.executable, "-m", "pipelines.cli"]
WAIT_FOR_DBT = 300  # seconds a loaded machine may need to reach the dbt step; the test ends as soon as it does


def _env(root: Path) -> dict[str, str]:
    return {**os.environ, "HPW_WAREHOUSE_DIR": str(root), "DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}


def mart_hashes(database: Path, round_doubles: int | None = None) -> dict[str, tuple[int, str]]:
    """Every mart's row count and an md5 over its rows in a total order (independent of physical row order).

    `round_doubles` only serves the failure message (does a difference sit in the last bits of floats?)."""
    with duckdb.connect(str(database), read_only=True) as con:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        hashes = {}
        for name in names:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns where table_schema = 'marts' "
                "and table_name = ? order by ordinal_position",
                [name],
            ).fetchall()
            row = ", ".join(
                f'round("{c}", {round_doubles})'
                if round_doubles is not None and kind in ("DOUBLE", "FLOAT")
                else f'"{c}"'
                for c, kind in columns
            )
            hashes[name] = con.execute(
                f"select count(*), md5(coalesce(string_agg(r, chr(10) order by r), '')) "
                f'from (select cast(row({row}) as varchar) as r from marts."{name}")'
            ).fetchone()
        return hashes


ANALYST = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    before = con.execute("select count(*), max(published_at) from meta.build").fetchone()
    rows = con.execute("select count(*) from marts.dim_country").fetchone()[0]
    print("ready", rows, flush=True)
    sys.stdin.readline()  # hold the file open until the build is over
    after = con.execute("select count(*), max(published_at) from meta.build").fetchone()
    countries = con.execute("select count(*) from marts.dim_country").fetchone()[0]
    print("same" if before == after else "changed", countries, flush=True)
""")


@pytest.fixture(scope="module")
def killed_then_rebuilt(built_warehouse, tmp_path_factory):
    """Kill `hpw build` with SIGKILL in the middle of dbt; meanwhile start a second build; then build again
    while an analyst process holds the published file open read-only. Returns what was observed."""
    seen: dict = {}
    published = publish_copy(built_warehouse, tmp_path_factory.mktemp("killed") / "warehouse")
    root = published.root
    build = subprocess.Popen(
        [*HPW, "build", "--force", "--quiet"],
        cwd=PROJECT_ROOT,
        env=_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        dbt_run = root / ".build" / "dbt_target" / "run"  # dbt writes here as it materialises models
        deadline = time.monotonic() + WAIT_FOR_DBT
        while not dbt_run.exists() and build.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        seen["reached_dbt"] = dbt_run.exists() and build.poll() is None
        # case 17: a second build while the first is running
        second = subprocess.run(
            [*HPW, "build", "--force"], cwd=PROJECT_ROOT, env=_env(root), capture_output=True, text=True, timeout=120
        )
        seen["second"] = second
        try:
            run_build(force=True, warehouse_dir=root, echo=lambda *_: None)
            seen["second_in_process"] = None
        except BuildError as err:
            seen["second_in_process"] = err
        seen["first_still_running"] = build.poll() is None
        seen["dbt_workers"] = dbt_workers(build.pid)  # the build's warm dbt process, running dbt or waiting
    finally:
        os.killpg(build.pid, signal.SIGKILL)  # case 16: kill -9 the whole build (hpw, Dagster, dbt)
        build.wait()
    seen["dbt_workers_left"] = [pid for pid in seen.get("dbt_workers", []) if not gone(pid)]
    seen["returncode"] = build.returncode
    seen["leftovers"] = sorted(p.name for p in (root / ".build").glob("*")) if (root / ".build").exists() else []
    seen["intact_after_kill"] = published.unchanged()
    with duckdb.connect(str(published.database), read_only=True) as con:
        seen["readable_after_kill"] = con.execute("select count(*) from marts.dim_country").fetchone()[0]

    # case 18: an analyst process holds the published file open read-only during the next build
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(published.database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen["analyst_ready"] = analyst.stdout.readline().split()
    seen["rebuild"] = run_build(
        warehouse_dir=root, log_level="CRITICAL", echo=lambda *_: None
    )  # no --force, no clean-up
    out, err = analyst.communicate("done\n", timeout=60)
    seen["analyst_after"], seen["analyst_stderr"], seen["analyst_rc"] = out.split(), err, analyst.returncode
    seen["published"] = published
    return seen


def test_16_kill_9_during_dbt_leaves_published_intact(killed_then_rebuilt):
    seen = killed_then_rebuilt
    assert seen["reached_dbt"], "the build never reached the dbt step"
    assert seen["returncode"] == -signal.SIGKILL
    assert seen["intact_after_kill"], "the published file changed after kill -9"
    assert seen["readable_after_kill"] > 30
    assert "partnership.duckdb" in seen["leftovers"] or "dbt_target" in seen["leftovers"]  # a real half-done build
    assert len(seen["dbt_workers"]) == 1 and not seen["dbt_workers_left"], "the warm dbt process outlived the build"


def test_16_next_build_after_kill_succeeds_without_clean_up(killed_then_rebuilt):
    seen = killed_then_rebuilt
    result = seen["rebuild"]
    assert result.success and not result.up_to_date, result.error
    assert not seen["published"].unchanged()  # it really published a new build
    with duckdb.connect(str(seen["published"].database), read_only=True) as con:
        assert con.execute("select count(*) from marts.dim_country").fetchone()[0] == seen["readable_after_kill"]


def test_17_second_concurrent_build_exits_with_clear_message(killed_then_rebuilt):
    seen = killed_then_rebuilt
    assert seen["first_still_running"]
    second = seen["second"]
    assert second.returncode != 0
    assert "a build is already running" in second.stderr and "hint:" in second.stderr, second.stderr
    assert isinstance(seen["second_in_process"], BuildError) and "a build is already running" in str(
        seen["second_in_process"]
    )


def test_18_reader_holding_published_file_during_build(killed_then_rebuilt):
    seen = killed_then_rebuilt
    assert seen["analyst_ready"][0] == "ready"
    assert seen["rebuild"].success
    # the reader kept its consistent snapshot for the whole build, without an error on either side
    assert seen["analyst_rc"] == 0, seen["analyst_stderr"]
    assert seen["analyst_after"] == ["same", seen["analyst_ready"][1]]


def test_20_two_builds_from_same_inputs_give_identical_marts(killed_then_rebuilt, built_warehouse):
    rebuilt = mart_hashes(killed_then_rebuilt["published"].database)
    session = mart_hashes(built_warehouse / "partnership.duckdb")
    assert len(session) >= 5 and all(rows for rows, _ in session.values())
    differing = sorted(name for name in session if rebuilt.get(name) != session[name])
    if differing:
        rounded = (
            mart_hashes(killed_then_rebuilt["published"].database, 9),
            mart_hashes(built_warehouse / "partnership.duckdb", 9),
        )
        float_noise = [name for name in differing if rounded[0].get(name) == rounded[1][name]]
        pytest.fail(
            f"marts differ between two builds of the same inputs: {differing}; "
            f"of these, equal once doubles are rounded to 9 decimals (float aggregation order): {float_noise}"
        )
    assert rebuilt == session


def test_19_unwritable_warehouse_folder_fails_before_any_work(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a regular file where the warehouse folder should be")
    target = blocker / "warehouse"
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from pipelines.build import BuildError, run_build
        try:
            run_build(force=True, warehouse_dir=Path({str(target)!r}), echo=print)
        except BuildError as err:
            print("ERROR", err, "| hint:", err.hint)
        print("dagster imported" if "dagster" in sys.modules else "dagster not imported")
    """)
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert (
        "ERROR the warehouse folder" in out.stdout
        and "is not writable" in out.stdout
        and "HPW_WAREHOUSE_DIR" in out.stdout
    ), out
    assert "dagster not imported" in out.stdout  # nothing was started
    assert blocker.read_text().startswith("a regular file")  # nothing was written
    cli = subprocess.run(
        [*HPW, "build"], cwd=PROJECT_ROOT, env=_env(target), capture_output=True, text=True, timeout=120
    )
    assert cli.returncode != 0 and "not writable" in cli.stderr and "hint:" in cli.stderr, cli.stderr
