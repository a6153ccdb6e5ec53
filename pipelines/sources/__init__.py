"""Registry of sources. Adding a source: write its module here, its contract, and its staging model."""

from __future__ import annotations

from pipelines.sources import country_reference, imf_dots_us_trade, us_foreign_aid
from pipelines.sources.base import RawTable

RAW_TABLES: tuple[RawTable, ...] = (
    *country_reference.RAW_TABLES,
    *us_foreign_aid.RAW_TABLES,
    *imf_dots_us_trade.RAW_TABLES,
)
RAW_TABLES_BY_NAME = {table.name: table for table in RAW_TABLES}
