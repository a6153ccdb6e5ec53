"""Issue 7, faults (cases 16-20): a killed build, two builds at once, a reader holding the file, an unwritable
warehouse folder, and determinism. The killed build is a real `hpw build` process killed with SIGKILL while dbt runs.
The build after it also meets a deleted `.build.lock` and a half-written last line of the ingestion log.
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

from pipelines import fetch, fingerprint
from pipelines.build import BuildError, run_build
from tests.conftest import PROJECT_ROOT, reused_folder
from tests.faults.conftest import publish_copy
from tests.processes import dbt_workers, gone

pytestmark = [pytest.mark.e2e, pytest.mark.builds]  # a killed build and a whole one
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


def _wait_for_dbt(build: subprocess.Popen, root: Path, since_ns: int) -> bool:
    """Wait until `build` runs dbt (its target folder appears, newer than `since_ns`); False if it ended first."""
    dbt_run = root / ".build" / "dbt_target" / "run"  # dbt writes here as it materialises models
    deadline = time.monotonic() + WAIT_FOR_DBT

    def reached() -> bool:
        try:
            return dbt_run.stat().st_mtime_ns >= since_ns
        except FileNotFoundError:
            return False

    while not reached() and build.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    return reached() and build.poll() is None


@pytest.fixture(scope="module")
def killed_then_rebuilt(built_warehouse, tmp_path_factory):
    """Kill `hpw build` with SIGKILL in the middle of dbt; meanwhile start a second build; then `hpw build --quiet`
    again, without clean-up, while an analyst process holds the published file open read-only, the ingestion log
    ends in a half-written line, and, once it is in dbt, its `.build.lock` is deleted and another build is started.
    Returns what was observed."""
    seen: dict = {}
    published = publish_copy(built_warehouse, reused_folder(tmp_path_factory, "warehouse"))
    root = published.root
    clock = root / ".clock"  # file times of this file system, to tell a new dbt folder from the killed build's
    clock.touch()
    build = subprocess.Popen(
        [*HPW, "build", "--force", "--quiet"],
        cwd=PROJECT_ROOT,
        env=_env(root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        seen["reached_dbt"] = _wait_for_dbt(build, root, clock.stat().st_mtime_ns)
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

    # the ingestion log as a build killed while writing it leaves it: its last line cut in half
    good = (built_warehouse / "data" / "ingestions.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    log = root / "data" / "ingestions.jsonl"
    log.parent.mkdir(exist_ok=True)
    log.write_text("".join(good[:5]) + good[5][: len(good[5]) // 2], encoding="utf-8")
    seen["log_lines_before"] = 6

    # case 18: an analyst process holds the published file open read-only during the next build
    analyst = subprocess.Popen(
        [sys.executable, "-c", ANALYST, str(published.database)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen["analyst_ready"] = analyst.stdout.readline().split()
    clock.touch()
    rebuild = subprocess.Popen(  # no --force, no clean-up
        [*HPW, "build", "--quiet"],
        cwd=PROJECT_ROOT,
        env=_env(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        seen["rebuild_reached_dbt"] = _wait_for_dbt(rebuild, root, clock.stat().st_mtime_ns)
        # the lock file deleted under a running build must not let another build in
        (root / ".build.lock").unlink()
        seen["second_after_lock_deleted"] = subprocess.run(
            [*HPW, "build", "--force"], cwd=PROJECT_ROOT, env=_env(root), capture_output=True, text=True, timeout=120
        )
        seen["rebuild_out"], seen["rebuild_err"] = rebuild.communicate(timeout=900)
    finally:
        if rebuild.poll() is None:
            os.killpg(rebuild.pid, signal.SIGKILL)
            rebuild.wait()
    seen["rebuild_returncode"] = rebuild.returncode
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
    assert seen["rebuild_returncode"] == 0, seen["rebuild_err"]
    assert "build succeeded" in seen["rebuild_out"] and "up to date" not in seen["rebuild_out"], seen["rebuild_out"]
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
    assert seen["rebuild_returncode"] == 0, seen["rebuild_err"]
    # the reader kept its consistent snapshot for the whole build, without an error on either side
    assert seen["analyst_rc"] == 0, seen["analyst_stderr"]
    assert seen["analyst_after"] == ["same", seen["analyst_ready"][1]]


def test_deleting_the_lock_file_does_not_let_a_second_build_in(killed_then_rebuilt):
    seen = killed_then_rebuilt
    assert seen["rebuild_reached_dbt"]
    second = seen["second_after_lock_deleted"]
    assert second.returncode == 1 and "a build is already running" in second.stderr, second.stderr
    assert seen["rebuild_returncode"] == 0, seen["rebuild_err"]
    with duckdb.connect(str(seen["published"].database), read_only=True) as con:
        marts = con.execute("select count(*) from information_schema.tables where table_schema = 'marts'").fetchone()
    assert marts[0] > 0  # the first build published a complete warehouse
    assert fingerprint.published_problem(seen["published"].root) is None


def test_half_written_last_line_of_the_ingestion_log_is_tolerated_and_blames_nothing(killed_then_rebuilt):
    seen = killed_then_rebuilt
    root = seen["published"].root
    assert seen["rebuild_returncode"] == 0, seen["rebuild_err"]
    assert not (root / ".rejected").exists()  # no publisher file was blamed for the log
    lines = (root / "data" / "ingestions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > seen["log_lines_before"]
    assert fetch.read_log(root / "data").height == len(lines) - 1  # every line but the damaged one


def test_quiet_build_prints_at_most_three_lines(killed_then_rebuilt):
    seen = killed_then_rebuilt
    lines = (seen["rebuild_out"] + seen["rebuild_err"]).strip().splitlines()
    assert 1 <= len(lines) <= 3, lines
    assert "build succeeded" in lines[-1] and "log:" in lines[-1]
    log_file = Path(lines[-1].rsplit("log: ", 1)[1])
    assert log_file.is_file() and "dbt" in log_file.read_text(encoding="utf-8")


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
