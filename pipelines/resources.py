"""Dagster resources: where the build database and the published warehouse live."""

from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, InitResourceContext
from pydantic import PrivateAttr

from pipelines import locking, settings, warehouse


class WarehouseResource(ConfigurableResource):
    """Paths of the scratch build database (the only file builds write) and of the published copy."""

    warehouse_dir: str | None = None
    """Default: HPW_WAREHOUSE_DIR when the run starts (not when the code location loads), else warehouse/."""
    _lock: Any = PrivateAttr(default=None)

    def setup_for_execution(self, context: InitResourceContext) -> None:
        # Runs launched by the UI or a schedule take the same build lock as `hpw build`, so two writers never
        # meet on the build database; a run started by `hpw build` already holds it.
        settings.check_environment()  # a typo in an HPW_* setting stops the run before any asset starts
        if not locking.held_here(self.root):
            self._lock = locking.build_lock(self.root)
            self._lock.__enter__()

    def teardown_after_execution(self, context: InitResourceContext) -> None:
        warehouse.release(self.build_database)  # held open by the raw assets, if no later step released it
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None

    @property
    def root(self) -> Path:
        return Path(self.warehouse_dir) if self.warehouse_dir else settings.warehouse_dir()

    @property
    def build_database(self) -> Path:
        return self.root / ".build" / "partnership.duckdb"

    @property
    def published_database(self) -> Path:
        return self.root / "partnership.duckdb"

    @property
    def exports_dir(self) -> Path:
        return self.root / "exports"


def default_warehouse() -> WarehouseResource:
    return WarehouseResource()
