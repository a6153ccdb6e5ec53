"""The two dbt start-up savings of pipelines/dbt.py still hold with the pinned dagster-dbt and dbt-core."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster_dbt import DbtCliResource

from pipelines import dbt_worker, settings
from pipelines.dbt import dbt_resource
from pipelines.dbt_parse_state import PARTIAL_PARSE_FILE, build_parse_state, kept_parse_state, seed_partial_parse

DBT = Path(sys.executable).parent / "dbt"
FULL_PARSE_MESSAGES = ("Unable to do partial parsing", "Starting full parse")


def test_the_overridden_dagster_dbt_hooks_are_still_the_ones_cli_calls():
    # If dagster-dbt renamed them, the overrides would silently stop saving anything.
    cli_source = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in cli_source
    assert "self._initialize_dbt_core_adapter(" in cli_source
    assert list(inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters) == ["self", "args"]


@pytest.mark.slow  # starts dbt
def test_the_dbt_version_without_running_dbt_is_the_executables():
    printed = subprocess.run([str(DBT), "--version"], capture_output=True, text=True, check=True).stdout
    assert f"installed: {dbt_resource()._cli_version}" in printed


def _parse(build_database: Path, target: Path, as_a_build_does: bool = True) -> str:
    """`dbt parse` for a build of `build_database` into `target`; returns what dbt said, one message a line. As a
    build's dbt runs (`as_a_build_does`): in the database's folder, the database named relative to it
    (dbt_worker.in_build_area); else from here, named by its absolute path. dbt runs in this process (dbtRunner, as
    the build's warm dbt process runs it): the parse state, not the process, is the subject here."""
    from dbt.cli.main import dbtRunner

    cwd, environ = os.getcwd(), {"HPW_BUILD_DB": str(build_database)}
    if as_a_build_does:
        cwd, environ = dbt_worker.in_build_area(cwd, environ)
    said: list[str] = []
    with pytest.MonkeyPatch.context() as env:
        env.chdir(cwd)
        for name, value in {**environ, "DBT_TARGET_PATH": str(target), "DO_NOT_TRACK": "1"}.items():
            env.setenv(name, value)
        project = str(settings.DBT_PROJECT_DIR)
        result = dbtRunner(callbacks=[lambda event: said.append(event.info.msg)]).invoke(
            ["parse", "--project-dir", project, "--profiles-dir", project]
        )
    assert result.success, "\n".join(said[-20:])
    return "\n".join(said)


def test_a_build_leaves_dbt_parse_state_a_build_in_any_folder_reuses(session_build_folder, tmp_path):
    assert build_parse_state().is_file(), "the session build kept no dbt parse state"
    cached = kept_parse_state()

    # a folder no build ran in (a user's second warehouse, a fresh clone's): dbt runs there with the database named
    # relative to it, so the profile is the one the state was parsed with and dbt parses only what changed
    area = tmp_path / "new_warehouse" / ".build"
    area.mkdir(parents=True)
    seeded = area / "dbt_target"
    before = cached.read_bytes()
    seed_partial_parse(seeded)
    # another worker's build may keep its state meanwhile: the copy is the state before or after it
    assert (seeded / PARTIAL_PARSE_FILE).read_bytes() in (before, cached.read_bytes())
    assert dbt_worker.in_build_area("/elsewhere", {"HPW_BUILD_DB": str(area / "partnership.duckdb")}) == (
        str(area),
        {"HPW_BUILD_DB": "partnership.duckdb"},
    )
    output = _parse(area / "partnership.duckdb", seeded)
    assert not any(message in output for message in FULL_PARSE_MESSAGES), output
    assert "Partial parsing enabled" in output, output

    # control: the same state is not reusable by a dbt that names the database by its absolute path (the profile
    # differs; dbt says so and parses fully), as every new folder's first build did before
    unseeded = tmp_path / "unseeded"
    unseeded.mkdir()
    (unseeded / PARTIAL_PARSE_FILE).write_bytes((seeded / PARTIAL_PARSE_FILE).read_bytes())
    output = _parse(area / "partnership.duckdb", unseeded, as_a_build_does=False)
    assert any(message in output for message in FULL_PARSE_MESSAGES), output


# The Dagster process loads dagster-dbt without dbt-core (pipelines/dbt.py): the dbt assets it builds must be
# those it builds with dbt-core loaded. A subprocess each, because the choice is made once per interpreter.
DESCRIBE_DBT_ASSETS = """
import json, sys
if sys.argv[1] == "dbt-core":
    import dbt.version  # loaded first: pipelines.dbt leaves dagster-dbt its dbt-core branch
from pipelines.definitions import defs
from pipelines.dbt import warehouse_dbt_assets as assets
import dagster_dbt.compat
job = defs.resolve_job_def("build_warehouse")
print(json.dumps({
    "dbt_core_in_dagster": dagster_dbt.compat.DBT_PYTHON_VERSION is not None,
    "dbt_modules": sorted(m for m in sys.modules if m == "dbt" or m.startswith("dbt.")),
    "specs": sorted(
        [s.key.to_user_string(), sorted(d.asset_key.to_user_string() for d in s.deps), s.group_name,
         s.description, sorted(s.tags.items()), sorted(s.kinds), s.code_version, sorted(s.metadata)]
        for s in assets.specs
    ),
    "checks": sorted(
        [c.key.to_user_string(), c.blocking, c.description, sorted(d.asset_key.to_user_string()
         for d in c.additional_deps)]
        for c in assets.check_specs
    ),
    "op": [assets.op.name, sorted(assets.op.tags.items()), sorted(assets.op.required_resource_keys)],
    "job_assets": len(job.asset_layer.asset_graph.executable_asset_keys),
}, default=str))
"""


@pytest.mark.slow  # two interpreters
def test_the_dbt_assets_are_the_same_without_dbt_core_in_the_dagster_process():
    described = {}
    for mode in ("hidden", "dbt-core"):
        completed = subprocess.run(
            [sys.executable, "-c", DESCRIBE_DBT_ASSETS, mode],
            capture_output=True,
            text=True,
            cwd=settings.PROJECT_ROOT,
            env={**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"},
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        described[mode] = json.loads(completed.stdout.splitlines()[-1])
    hidden, with_core = described["hidden"], described["dbt-core"]
    assert not hidden.pop("dbt_core_in_dagster") and hidden.pop("dbt_modules") == []  # the saving holds
    assert with_core.pop("dbt_core_in_dagster") and len(with_core.pop("dbt_modules")) > 100
    assert len(hidden["specs"]) >= 50 and len(hidden["checks"]) >= 20  # every model, its tests
    assert hidden == with_core
