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

`landing/census_intltrade_country` does the same for the US Census Bureau international trade API: one partition per
country of the universe that has a Census Schedule C code in data/reference/census_cty_codes.csv (ISO3 -> `CTY_CODE`;
the USA itself and the US territories are not trade partners and have no partition). A partition adds
`&CTY_CODE=<code>` to the exports and imports addresses and lands only that country's rows
(`<data dir>/landing/census_<flow>/<ISO3>/<sha256>/`); `census_country_job` runs it. Adding a country is one line
in that CSV (plus `HPW_EXTRA_COUNTRIES` when it is outside Latin America & Caribbean).
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

from pipelines import countries, fetch, settings
from pipelines.assets import DUCKDB_POOL
from pipelines.resources import WarehouseResource
from pipelines.sources import RAW_TABLES_BY_NAME
from pipelines.sources.base import RawTable

WORLDBANK_JSON = RAW_TABLES_BY_NAME["worldbank_wdi_json"]
COUNTRY_PARTITIONS = StaticPartitionsDefinition(sorted(countries.universe_iso3()))

CENSUS_TABLES = (RAW_TABLES_BY_NAME["census_exports"], RAW_TABLES_BY_NAME["census_imports"])
CENSUS_CODES_FILE = settings.REFERENCE_DIR / "census_cty_codes.csv"


def census_cty_codes() -> dict[str, str]:
    """ISO3 -> Census Schedule C `CTY_CODE` of the trade partners listed in data/reference/census_cty_codes.csv."""
    table = pl.read_csv(CENSUS_CODES_FILE, schema_overrides={"cty_code": pl.String, "is_partner": pl.Boolean})
    bad = table.filter(~pl.col("cty_code").str.contains(r"^[1-9][0-9]{3}$") | pl.col("iso3").is_duplicated())
    if bad.height:
        raise ValueError(
            f"{CENSUS_CODES_FILE.name}: bad or duplicated rows {bad.select('iso3', 'cty_code').rows()}; "
            "hint: one row per ISO3 with a 4-digit Schedule C code"
        )
    partners = table.filter(pl.col("is_partner"))
    return dict(zip(partners["iso3"], partners["cty_code"]))


CENSUS_PARTITIONS = StaticPartitionsDefinition(sorted(countries.universe_iso3() & census_cty_codes().keys()))


def country_table(table: RawTable, iso3: str) -> RawTable:
    """The raw table narrowed to one country: its own landing folder, same contract and parser."""
    return dataclasses.replace(table, file_key=f"{table.fetch_key}/{iso3}")


def country_url(table: RawTable, iso3: str) -> str:
    url = fetch.live_url(table)
    if url is None or "/country/all/" not in url:
        raise ValueError(f"[{table.source}] {table.name}: live address {url!r} has no /country/all/ segment to narrow")
    return url.replace("/country/all/", f"/country/{iso3}/")


def census_country_url(table: RawTable, iso3: str) -> str:
    url = fetch.live_url(table)
    code = census_cty_codes().get(iso3)
    if url is None or code is None:
        raise ValueError(
            f"[{table.source}] {table.name}: no live address or no CTY_CODE for {iso3}; "
            f"hint: add a row to {CENSUS_CODES_FILE.name}"
        )
    return f"{url}{'&' if '?' in url else '?'}CTY_CODE={code}"


def fetch_country(
    table: RawTable, iso3: str, warehouse_root, logger=None, url: str | None = None
) -> tuple[fetch.Acquired, pl.DataFrame]:
    narrowed = country_table(table, iso3)
    root = fetch.data_dir(warehouse_root)
    acquired = fetch.fetch_live(narrowed, url or country_url(table, iso3), root, logger, partition=iso3)
    try:
        frame = narrowed.parse(acquired.file.path)
    except Exception as err:
        fetch.record(acquired, root, rows=None, outcome="contract_failed", error=str(err).splitlines()[0])
        raise
    foreign = frame.filter(pl.col("iso3").is_null() | (pl.col("iso3") != iso3))
    if foreign.height:
        message = (
            f"[{table.source}] {table.name}: the slice for {iso3} holds rows of "
            f"{sorted(set(foreign['iso3'].drop_nulls()))}; hint: check HPW_LIVE_BASE_URL / the address"
        )
        fetch.record(acquired, root, rows=frame.height, outcome="contract_failed", error=message)
        raise ValueError(message)
    fetch.record(acquired, root, rows=frame.height)
    return acquired, frame


@asset(
    key=AssetKey(["landing", "worldbank_wdi_json_country"]),
    group_name="landing",
    partitions_def=COUNTRY_PARTITIONS,
    kinds={"http", "polars"},
    pool=DUCKDB_POOL,
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


@asset(
    key=AssetKey(["landing", "census_intltrade_country"]),
    group_name="landing",
    partitions_def=CENSUS_PARTITIONS,
    kinds={"http", "polars"},
    pool=DUCKDB_POOL,
    description="US Census Bureau international trade API, monthly US exports and imports with one partner country "
    "(`&CTY_CODE=<Schedule C code>`, data/reference/census_cty_codes.csv): lands that country's rows only, as a new "
    "vintage when they changed (pipelines/partitions.py).",
    metadata={"live_url": CENSUS_TABLES[0].live_url, "cadence": CENSUS_TABLES[0].cadence},
)
def census_intltrade_country(context: AssetExecutionContext, warehouse_db: WarehouseResource) -> MaterializeResult:
    iso3 = context.partition_key
    metadata = {"iso3": iso3, "cty_code": census_cty_codes()[iso3]}
    for table in CENSUS_TABLES:
        try:
            acquired, frame = fetch_country(
                table, iso3, warehouse_db.root, context.log, url=census_country_url(table, iso3)
            )
        except fetch.FetchError as err:
            raise Failure(description=str(err)) from err
        metadata[f"{table.name}_rows"] = MetadataValue.int(frame.height)
        metadata[f"{table.name}_outcome"] = acquired.ingestion.outcome
        metadata[f"{table.name}_vintage"] = acquired.ingestion.vintage
    return MaterializeResult(metadata=metadata)


PARTITIONED_ASSETS = [worldbank_wdi_json_country, census_intltrade_country]
worldbank_country_job = define_asset_job(
    "worldbank_country_job",
    selection=[AssetKey(["landing", "worldbank_wdi_json_country"])],
    executor_def=in_process_executor,
)
census_country_job = define_asset_job(
    "census_country_job",
    selection=[AssetKey(["landing", "census_intltrade_country"])],
    executor_def=in_process_executor,
)
