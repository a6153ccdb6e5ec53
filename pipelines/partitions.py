"""Per-country partitions for the sources that serve per-country slices (World Bank API v2).

`landing/worldbank_wdi_json_country` has one static partition per country of the configured universe (Latin America
& Caribbean + `HPW_EXTRA_COUNTRIES`, default USA; adding a country is one entry in that variable). Materialising one
partition downloads only that country's slice
(`https://api.worldbank.org/v2/country/<ISO3>/indicator/NY.GDP.MKTP.KD?format=json&per_page=20000`) with the same
client, retries, conditional request and content-addressed landing as every live download
(`<data dir>/landing/worldbank_wdi_json/<ISO3>/<sha256>/`), checks it against the source's contract, and records
one `meta.ingestions` row with `partition = <ISO3>`. A backfill of some countries or the refresh of one country
touches nothing else.

These assets live in group `landing`, outside the `build_warehouse` job (they do not write the build database, and
a partitioned asset cannot share a run with the unpartitioned build); `worldbank_country_job` runs them:
`dagster asset materialize --select landing/worldbank_wdi_json_country --partition PRY -m pipelines.definitions`.
"""


import dataclasses

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetKey,
    Failure,
    MaterializeResult,
    MetadataValue,
    StaticPartitionsDefinition,
    asset,
    define_asset_job,
    in_process_executor,
)

from pipelines import countries, fetch
from pipelines.resources import WarehouseResource
from pipelines.sources import RAW_TABLES_BY_NAME
from pipelines.sources.base import RawTable

WORLDBANK_JSON = RAW_TABLES_BY_NAME["worldbank_wdi_json"]
COUNTRY_PARTITIONS = StaticPartitionsDefinition(sorted(countries.universe_iso3()))


def country_table(table: RawTable, iso3: str) -> RawTable:
    """The raw table narrowed to one country: its own landing folder, same contract and parser."""
    return dataclasses.replace(table, file_key=f"{table.fetch_key}/{iso3}")


def country_url(table: RawTable, iso3: str) -> str:
    url = fetch.live_url(table)
    if url is None or "/country/all/" not in url:
        raise ValueError(f"[{table.source}] {table.name}: live address {url!r} has no /country/all/ segment to narrow")
    return url.replace("/country/all/", f"/country/{iso3}/")


def fetch_country(table: RawTable, iso3: str, warehouse_root, logger=None) -> tuple[fetch.Acquired, pl.DataFrame]:
    narrowed = country_table(table, iso3)
    root = fetch.data_dir(warehouse_root)
    acquired = fetch.fetch_live(narrowed, country_url(table, iso3), root, logger, partition=iso3)
    try:
        frame = narrowed.parse(acquired.file.path)
    except Exception as err:
        fetch.record(acquired, root, rows=None, outcome="contract_failed", error=str(err).splitlines()[0])
        raise
    foreign = frame.filter(pl.col("iso3") != iso3)
    if foreign.height:
        message = (f"[{table.source}] {table.name}: the slice for {iso3} holds rows of "
                   f"{sorted(set(foreign['iso3'].drop_nulls()))}; hint: check HPW_LIVE_BASE_URL / the address")
        fetch.record(acquired, root, rows=frame.height, outcome="contract_failed", error=message)
        raise ValueError(message)
    fetch.record(acquired, root, rows=frame.height)
    return acquired, frame


@asset(
    key=AssetKey(["landing", "worldbank_wdi_json_country"]),
    group_name="landing",
    partitions_def=COUNTRY_PARTITIONS,
    kinds={"http", "polars"},
    pool="duckdb_write",
    description="World Bank API v2 JSON (NY.GDP.MKTP.KD), one partition per country of the universe: downloads and "
    "lands that country's slice only, as a new vintage when it changed (pipelines/partitions.py).",
    metadata={"live_url": WORLDBANK_JSON.live_url, "cadence": WORLDBANK_JSON.cadence},
)
def worldbank_wdi_json_country(context: AssetExecutionContext, warehouse_db: WarehouseResource) -> MaterializeResult:
    iso3 = context.partition_key
    try:
        acquired, frame = fetch_country(WORLDBANK_JSON, iso3, warehouse_db.root, context.log)
    except fetch.FetchError as err:
        raise Failure(description=str(err)) from err
    ingestion = acquired.ingestion
    return MaterializeResult(
        metadata={
            "iso3": iso3,
            "rows": MetadataValue.int(frame.height),
            "years": MetadataValue.int(frame["year"].n_unique()) if "year" in frame.columns else MetadataValue.int(0),
            "outcome": ingestion.outcome,
            "vintage": ingestion.vintage,
            "sha256": ingestion.sha256,
            "landed_path": ingestion.landed_path,
            "url": ingestion.url_or_path,
        },
    )


PARTITIONED_ASSETS = [worldbank_wdi_json_country]
worldbank_country_job = define_asset_job(
    "worldbank_country_job",
    selection=[AssetKey(["landing", "worldbank_wdi_json_country"])],
    partitions_def=COUNTRY_PARTITIONS,
    executor_def=in_process_executor,
)
