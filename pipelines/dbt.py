"""dbt in Dagster: one DbtProject, one @dbt_assets streaming `dbt build`, a translator for keys and groups.

The manifest is prepared ahead of time, never parsed at import time: by `make manifest` (`make test`, `make dev`)
or by `hpw build` when it is missing or stale (beside the build's other imports: pipelines/build.py).
"""

import importlib.metadata
import os
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from packaging import version

from pipelines import dbt_worker, settings, warehouse
from pipelines.assets import DUCKDB_POOL
from pipelines.dbt_parse_state import keep_partial_parse, seed_partial_parse
from pipelines.refresh import CODE_TESTED_TAG
from pipelines.resources import WarehouseResource


def _import_dagster_dbt_without_dbt_core():
    """dagster-dbt imports dbt-core (~240 modules, ~1.3 s CPU per process) only to learn its version and a few
    enums, unless `dbt.version` is not importable: then it uses its own copies of them (the branch it keeps for
    an environment without dbt-core, dagster_dbt/compat.py). dbt runs as a subprocess here and
    WarehouseDbtCliResource tells the version itself, so `dbt.version` is hidden while dagster_dbt loads, and
    importable again afterwards. What that branch lacks is dbt-core's selector: a `select=` other than the
    default on @dbt_assets fails at import (DagsterDbtCoreNotInstalledError), never silently.
    tests/test_dbt_startup.py checks the dbt assets and checks are the same either way."""
    hidden = "dagster_dbt" not in sys.modules and "dbt.version" not in sys.modules
    if hidden:
        sys.modules["dbt.version"] = None  # None: "not importable", in the import system's terms
    try:
        import dagster_dbt
    finally:
        if hidden:
            del sys.modules["dbt.version"]
    return dagster_dbt


_import_dagster_dbt_without_dbt_core()
from dagster_dbt import (  # noqa: E402 - loaded just above
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

DBT_PROJECT = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
# The hpw-dbt client hands `dbt ...` to the build's warm dbt process when there is one, else execs dbt itself
# (pipelines/dbt_worker.py); an environment installed before it existed runs dbt directly.
DBT_EXECUTABLE = (
    str(dbt_worker.client_executable()) if dbt_worker.client_executable().is_file() else dbt_worker.real_dbt()
)


class LayeredTranslator(DagsterDbtTranslator):
    """Asset keys follow the DuckDB schema (`staging/stg_x`, `marts/fct_y`); groups follow the layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        layer = dbt_resource_props["original_file_path"].replace("\\", "/").split("/")[0]
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["original_file_path"].replace("\\", "/").split("/")[0]


TRANSLATOR = LayeredTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


class WarehouseDbtCliResource(DbtCliResource):
    """`DbtCliResource` without two start-up costs this project never uses (~3 s of every build):

    - dagster-dbt learns the dbt version by running `dbt --version` (a second interpreter start, ~1.5 s):
      the dbt executable is the one installed beside this interpreter, so the installed dbt-core says it;
    - it imports dbt-core into the Dagster process and opens an adapter (~1.5 s) only for
      `fetch_column_metadata` / `fetch_row_counts`, which the warehouse does not call.

    Both are private hooks of dagster-dbt, pinned in uv.lock; tests/test_dbt_startup.py checks they still exist.
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - same signature as the hook it replaces
        return None


def dbt_resource() -> DbtCliResource:
    # DbtCliResource.__init__ takes a DbtProject; mypy sees only the pydantic field's `str`
    return WarehouseDbtCliResource(
        project_dir=DBT_PROJECT,  # type: ignore[arg-type]
        profiles_dir=str(settings.DBT_PROJECT_DIR),
        dbt_executable=DBT_EXECUTABLE,
    )


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR, pool=DUCKDB_POOL
)
def warehouse_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, warehouse_db: WarehouseResource):
    # dbt runs as a subprocess and reads its database path from the environment (models/profiles.yml); the hpw-dbt
    # client runs it in the database's folder with the path made relative (dbt_worker.in_build_area).
    os.environ["HPW_BUILD_DB"] = str(warehouse_db.build_database)
    # DuckDB allows one writing process per file: the raw assets' held connection closes before dbt opens it.
    warehouse.release(warehouse_db.build_database)
    # dbt's run artefacts (logs, compiled SQL, run_results) go beside the build database, not into models/target.
    target = warehouse_db.build_database.parent / "dbt_target"
    seed_partial_parse(target)
    args = ["build"]
    if context.run.tags.get(CODE_TESTED_TAG) == "true":
        # unit tests test the SQL on fixed fixtures, not the data: they ran and passed in a build of this very code
        # (the published one records its code fingerprint; pipelines/refresh.py), so they run once per code version
        args += ["--exclude-resource-type", "unit_test"]
    invocation = dbt.cli(args, context=context, target_path=target)
    yield from invocation.stream()
    keep_partial_parse(target)
