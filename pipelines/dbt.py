"""dbt in Dagster: one DbtProject, one @dbt_assets streaming `dbt build`, a translator for keys and groups.

The manifest is prepared ahead of time (`make manifest`, run by `make run` / `make test`), never parsed at
import time; `hpw` prepares it on first use if it is missing.
"""


import os
import sys
from pathlib import Path
from typing import Any, Mapping, Optional

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from pipelines import settings
from pipelines.assets import DUCKDB_POOL
from pipelines.resources import WarehouseResource

DBT_PROJECT = DbtProject(project_dir=settings.DBT_PROJECT_DIR, profiles_dir=settings.DBT_PROJECT_DIR)
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


class LayeredTranslator(DagsterDbtTranslator):
    """Asset keys follow the DuckDB schema (`staging/stg_x`, `marts/fct_y`); groups follow the layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        layer = dbt_resource_props["original_file_path"].replace("\\", "/").split("/")[0]
        return AssetKey([layer, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> Optional[str]:
        return dbt_resource_props["original_file_path"].replace("\\", "/").split("/")[0]


TRANSLATOR = LayeredTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(settings.DBT_PROJECT_DIR), dbt_executable=DBT_EXECUTABLE)


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR, pool=DUCKDB_POOL)
def warehouse_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource, warehouse_db: WarehouseResource):
    # dbt runs as a subprocess and reads its database path from the environment (models/profiles.yml).
    os.environ["HPW_BUILD_DB"] = str(warehouse_db.build_database)
    # dbt's run artefacts (logs, compiled SQL, run_results) go beside the build database, not into models/target.
    target = warehouse_db.build_database.parent / "dbt_target"
    yield from dbt.cli(["build"], context=context, target_path=target).stream()
