"""The build's warm dbt process (pipelines/dbt_worker.py): a real build runs dbt in it; without it (turned off, gone
before the request, a request it did not parse for) the hpw-dbt client runs the real dbt and the build is the same;
a failing dbt test is explained the same through it; it never outlives the build that started it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import dbt_worker
from pipelines.build import explain_dbt_failure, run_build
from tests.conftest import PROJECT_ROOT, reused_build_area
from tests.processes import gone
from tests.revisions import TROOPS_REFRESH_GROUP
from tests.test_dbt_startup import FULL_PARSE_MESSAGES
from tests.warehouse_copy import copy_warehouse, mart_differences, mart_names

pytestmark = pytest.mark.e2e

MODELS = PROJECT_ROOT / "models"
CLIENT = dbt_worker.client_executable()
WORKER_GONE_SECONDS = 30  # generous for a loaded machine; the test ends as soon as the process is gone


def _build_log(result) -> str:
    return result.log_file.read_text(encoding="utf-8")


def test_the_session_cold_build_ran_dbt_in_the_warm_process(session_build_folder):
    logs = sorted((session_build_folder / "logs").glob("build-*.log"))
    assert logs, "the session build left no log"
    said = [line for line in logs[-1].read_text(encoding="utf-8").splitlines() if "warm dbt process" in line]
    assert len(said) == 1, said
    assert said[0].startswith("dbt: the warm dbt process ran it (served build: exit 0"), said[0]


@pytest.mark.builds  # a refresh of its own; the one through the warm process is the shared one (tests/revisions.py)
@pytest.mark.xdist_group(TROOPS_REFRESH_GROUP)
def test_a_refresh_through_the_warm_process_equals_one_without_it(
    built_warehouse, troops_refresh, reused_root, monkeypatch
):
    warm, with_worker = troops_refresh.root, troops_refresh.result
    fresh = copy_warehouse(built_warehouse, reused_root, with_fingerprint=True)
    overrides = {"us_troops_dmdc": str(troops_refresh.changed)}

    assert with_worker.success, with_worker.error
    log = _build_log(with_worker)
    assert "refresh: 1 raw table(s) changed (us_troops_dmdc)" in log
    assert "dbt: the warm dbt process ran it (served build: exit 0" in log
    assert not troops_refresh.workers_after, "a worker outlived its build"
    # its folder is new (no build ran there before): dbt reused the parse state other folders' builds left
    assert_parsed_incrementally(log)

    monkeypatch.setenv(dbt_worker.SWITCH_ENV, "0")
    without = run_build(file_overrides=overrides, warehouse_dir=fresh, echo=lambda *_: None)
    assert without.success, without.error
    log = _build_log(without)
    assert "refresh: 1 raw table(s) changed (us_troops_dmdc)" in log
    assert "dbt: no warm dbt process: HPW_DBT_WORKER=0" in log
    assert_parsed_incrementally(log)  # the real dbt, run by the client in the build folder

    assert len(mart_names(warm / "partnership.duckdb")) >= 20
    assert mart_differences(warm / "partnership.duckdb", fresh / "partnership.duckdb") == {}

    def landed(result):
        return [(a.asset, a.rows_landed, a.checks_passed, a.checks_failed) for a in result.assets]

    assert landed(with_worker) == landed(without)


def assert_parsed_incrementally(build_log: str) -> None:
    """dbt's messages in the build log (its dbt.log section) show a partial parse, not a full one."""
    assert "Partial parsing enabled" in build_log
    assert not any(message in build_log for message in FULL_PARSE_MESSAGES), [
        line for line in build_log.splitlines() if any(message in line for message in FULL_PARSE_MESSAGES)
    ][:3]


def _build_area(built_warehouse: Path, folder: Path, corruption: str | None = None) -> tuple[Path, Path]:
    """A build folder holding a copy of the built database (optionally corrupted); returns (database, target).
    The cases that run dbt use a folder their worker reuses (`reused_build_area`): dbt then parses the project from
    scratch once per folder, not once per case."""
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "partnership.duckdb"
    shutil.copyfile(built_warehouse / "partnership.duckdb", database)
    if corruption:
        with duckdb.connect(str(database)) as con:
            con.execute(corruption)
    return database, folder / "dbt_target"


def _dbt(args: list[str], database: Path, target: Path, worker: dbt_worker.Worker | None):
    """`hpw-dbt ARGS` with the environment dagster-dbt gives dbt in a build of `database`."""
    env = dbt_worker.parse_environment(database, target, MODELS)
    env.pop(dbt_worker.SOCKET_ENV, None)
    if worker is not None:
        env[dbt_worker.SOCKET_ENV] = worker.name
    return subprocess.run([str(CLIENT), *args], cwd=MODELS, env=env, capture_output=True, text=True, timeout=600)


def _finished_nodes(stdout: str) -> dict[str, str]:
    """unique_id -> status of every node dbt reported finished, from its JSON event stream."""
    finished = {}
    for line in stdout.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        node = event.get("data", {}).get("node_info", {})
        if node.get("node_finished_at") and node.get("unique_id"):
            finished[node["unique_id"]] = node.get("node_status")
    return finished


@pytest.mark.parametrize(
    ("case", "args"),
    [
        ("gone", ["build", "--select", "stg_us_bases"]),
        ("declined", ["build", "--select", "stg_us_bases", "--vars", '{"panel_first_year": 1990}']),
    ],
)
def test_a_request_the_worker_cannot_take_runs_the_real_dbt(built_warehouse, tmp_path_factory, case, args):
    # --vars changes what dbt parses: the parse state that case leaves would make the next parse there a full one
    area = reused_build_area(tmp_path_factory, "dbt" if case == "gone" else "dbt_vars")
    database, target = _build_area(built_warehouse, area)
    worker = dbt_worker.start(database, target, MODELS)
    try:
        if case == "gone":
            worker.process.kill()  # before the request: the client finds nobody and runs dbt itself
            worker.process.wait()
        run = _dbt(args, database, target, worker)
    finally:
        line = worker.outcome()
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    finished = _finished_nodes(run.stdout)
    assert finished.get("model.hemisphere_partnership.stg_us_bases") == "success", finished
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    assert results and all(r["status"] in ("success", "pass") for r in results)
    if case == "gone":
        assert line.startswith("dbt: the warm dbt process was not used: it ended before dbt asked"), line
    else:
        assert line == "dbt: the warm dbt process was not used: declined: option --vars may change what dbt parses"


US_BASES_TWO_COUNTRIES_LOST = "update raw.us_bases set iso3 = null where source_row in (3, 7)"


def test_a_failing_dbt_test_is_explained_the_same_through_the_worker(built_warehouse, tmp_path_factory):
    args = ["build", "--select", "stg_us_bases"]
    warm_area, fresh_area = (reused_build_area(tmp_path_factory, name) for name in ("dbt", "dbt_fresh"))
    warm_db, warm_target = _build_area(built_warehouse, warm_area, US_BASES_TWO_COUNTRIES_LOST)
    fresh_db, fresh_target = _build_area(built_warehouse, fresh_area, US_BASES_TWO_COUNTRIES_LOST)
    worker = dbt_worker.start(warm_db, warm_target, MODELS)
    try:
        warm = _dbt(args, warm_db, warm_target, worker)
    finally:
        line = worker.outcome()
    fresh = _dbt(args, fresh_db, fresh_target, None)
    assert line.startswith("dbt: the warm dbt process ran it (served build: exit 1"), line
    assert warm.returncode == fresh.returncode == 1  # dbt's code for a failed node, not an exception
    assert _finished_nodes(warm.stdout) == _finished_nodes(fresh.stdout)
    assert "fail" in _finished_nodes(warm.stdout).values()
    explained = explain_dbt_failure(warm_db.parent)
    assert explained == explain_dbt_failure(fresh_db.parent)
    assert len(explained) == 1 and explained[0].startswith(
        "dbt test column_rules_stg_us_bases on stg_us_bases failed: Got 2 results"
    ), explained
    # the explanation is one readable line (this case was faults/test_messages.py's, the same real dbt build):
    # the model's column rules are one test; its failing rows lead with the rule they break
    line = explained[0]
    assert "; e.g. iso3 is null, " in line and "fed by raw us_bases (us_bases: basedata_lac.csv)" in line
    assert "\n" not in line and len(line) <= 600


def test_a_worker_whose_build_died_exits_by_itself(built_warehouse, tmp_path):
    """The build killed alone (not its process group): the waiting worker notices its parent is gone and exits."""
    database, target = _build_area(built_warehouse, tmp_path / ".build")
    script = (
        "import sys, time; from pathlib import Path; from pipelines import dbt_worker; "
        "w = dbt_worker.start(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])); "
        "print(w.process.pid, flush=True); time.sleep(600)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(database), str(target), str(MODELS)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        worker_pid = int(parent.stdout.readline())
        assert not gone(worker_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + WORKER_GONE_SECONDS
        while not gone(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(worker_pid), "the worker outlived the build that started it"
    finally:
        try:
            os.killpg(parent.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass


JINJA_SCRIPT = """
import sys
from pathlib import Path
from dbt_common.clients.jinja import get_template
from pipelines.dbt_worker import JinjaCodeCache

cache = JinjaCodeCache(Path(sys.argv[1]))
cache.install()
source = "hello {{ name | upper }}{% for i in range(2) %} {{ 6 * 7 + i }}{% endfor %}"
print(get_template(source, {}).render({"name": "x"}), cache.added, len(cache.codes), flush=True)
cache.save()
"""


def _run_twice(script: str, project_dir: Path) -> list[str]:
    """The stdout of `script` run in two fresh interpreters one after the other (a cache kept by the first)."""
    return [
        subprocess.run(
            [sys.executable, "-c", script, str(project_dir)],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for _ in range(2)
    ]


def test_the_worker_keeps_dbts_compiled_jinja_between_processes(tmp_path):
    """The second process renders from the code the first compiled (nothing compiled anew), with the same result."""
    runs = [out.strip() for out in _run_twice(JINJA_SCRIPT, tmp_path)]
    assert runs == ["hello X 42 43 1 1", "hello X 42 43 0 1"], runs
    assert [p.suffix for p in (tmp_path / "target" / dbt_worker.JinjaCodeCache.FOLDER).iterdir()] == [".marshal"]


SCHEMA_SCRIPT = """
import json, sys
from pathlib import Path
from dbt.contracts.project import Project, ProjectFlags
from dbt_common.dataclass_schema import dbtClassMixin
from pipelines.dbt_worker import JsonSchemaCache

original = dbtClassMixin.json_schema.__func__
cache = JsonSchemaCache(Path(sys.argv[1]))
loaded = len(cache.schemas)
cache.install()
same = all(cls.json_schema() == original(cls) for cls in (Project, ProjectFlags))
cache.save()
print(loaded, cache.added, same, flush=True)
"""


def test_the_worker_keeps_dbts_json_schemas_between_processes(tmp_path):
    """The second process validates with the schemas the first built (none built anew), equal to mashumaro's."""
    runs = [out.split() for out in _run_twice(SCHEMA_SCRIPT, tmp_path)]
    first_loaded, first_added, first_same = runs[0]
    second_loaded, second_added, second_same = runs[1]
    assert first_loaded == "0" and int(first_added) >= 2 and first_same == "True", runs
    assert second_loaded == first_added and second_added == "0" and second_same == "True", runs
    assert [p.suffix for p in (tmp_path / "target" / dbt_worker.JsonSchemaCache.FOLDER).iterdir()] == [".json"]


def test_a_class_made_at_run_time_is_not_cached():
    """Two classes made at run time may share a name: only a class importable under its name is cached."""
    from dbt.contracts.project import Project

    made = type("Project", (), {"__module__": Project.__module__, "__qualname__": Project.__qualname__})
    assert dbt_worker.JsonSchemaCache.key(Project) == f"{Project.__module__}:Project"
    assert dbt_worker.JsonSchemaCache.key(made) is None


FLAG_SOURCE_SCRIPT = """
from types import SimpleNamespace
from dbt.adapters.base.impl import BaseAdapter
from dbt.adapters.duckdb.impl import DuckDBAdapter
from pipelines import dbt_worker

def sources():
    adapter = DuckDBAdapter.__new__(DuckDBAdapter)
    adapter.config = SimpleNamespace(flags={})
    BaseAdapter.behavior.fset(adapter, [{"name": "some_flag", "default": False, "description": "d"}])
    return [flag._behavior_change_event.flag_source for flag in adapter._behavior._flags]

before = sources()
dbt_worker._quick_flag_source()
print(before == sources(), sorted(set(before)), flush=True)
"""


def test_the_workers_behaviour_flag_source_is_dbts():
    """dbt's flags name the module that registered them; the worker's quicker lookup names the same one."""
    out = subprocess.run(
        [sys.executable, "-c", FLAG_SOURCE_SCRIPT], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "True ['dbt.adapters.base.impl']", out
