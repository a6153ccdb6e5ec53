"""Dagster resources: where the build database and the published warehouse live."""


from pathlib import Path

from dagster import ConfigurableResource

from pipelines import settings


class WarehouseResource(ConfigurableResource):
    """Paths of the scratch build database (the only file builds write) and of the published copy."""

    warehouse_dir: str

    @property
    def root(self) -> Path:
        return Path(self.warehouse_dir)

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
    return WarehouseResource(warehouse_dir=str(settings.warehouse_dir()))
