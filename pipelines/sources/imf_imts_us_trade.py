"""IMF IMTS, "International Trade in Goods (by partner country)": the successor of the retired DOTS, reporter USA.

Live only: the IMF SDMX 2.1 REST API (`https://api.imf.org/external/sdmx/2.1/data/IMF.STA,IMTS/<key>`) with the key
`COUNTRY.INDICATOR.COUNTERPART_COUNTRY.FREQUENCY` = `USA.XG_FOB_USD+MG_CIF_USD..A` (US goods exports FOB and imports
CIF, every counterpart, annual), asked for as SDMX-CSV 1.0 (`Accept: application/vnd.sdmx.data+csv;version=1.0.0`).
Offline, the source reads a small **synthetic** fixture in that response shape (data/fixtures/imf_imts_us_trade/,
see its SOURCE.md); rows read from it are `is_synthetic = true`, recognised by sha256, so they never pass for IMF data.

Quirks handled:
- One row per observation, columns by name: `DATAFLOW` (`IMF.STA:IMTS(1.0.0)`), the four key dimensions,
  `TIME_PERIOD`, `OBS_VALUE`, then attributes (`SCALE`, `UNIT`, `STATUS`, ...). Columns are read by name, never
  position.
- `OBS_VALUE` is in US dollars (not millions: `SCALE` only says how the IMF displays it). Blank or `NaN` = not
  available: NULL, never zero.
- Counterparts are ISO3 codes; IMF groups are `G` + 3 digits (`G001` world): aggregates, iso3 NULL.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

from data_contracts._base import ContractViolation, Failure, enforce
from data_contracts.imf_imts_us_trade import ImfImtsUsTrade
from pipelines.countries import attach_iso3
from pipelines.sources.base import RawTable, file_sha256, read_text_csv

SOURCE = "imf_imts_us_trade"
API = "https://api.imf.org/external/sdmx/2.1/data/IMF.STA,IMTS"
SDMX_CSV = "application/vnd.sdmx.data+csv;version=1.0.0"
REQUIRED = ("DATAFLOW", "COUNTRY", "INDICATOR", "COUNTERPART_COUNTRY", "FREQUENCY", "TIME_PERIOD", "OBS_VALUE")
AGGREGATE_CODE = r"^G[0-9]{3}$"


@cache
def _fixture_hashes() -> frozenset[str]:
    return frozenset(file_sha256(t.bundled_path) for t in RAW_TABLES)


def _optional(raw: pl.DataFrame, column: str) -> pl.Expr:
    return pl.col(column) if column in raw.columns else pl.lit(None, pl.String)


def parse(path: Path) -> pl.DataFrame:
    raw = read_text_csv(path, encoding="utf8-lossy")
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise ContractViolation(
            SOURCE,
            path.name,
            [
                Failure(
                    ", ".join(missing),
                    "required SDMX-CSV column present (ask for Accept: " + SDMX_CSV + ")",
                    values=[f"found columns: {raw.columns}"],
                )
            ],
        )
    indicator = pl.col("INDICATOR").str.strip_chars()
    tidy = raw.select(
        "source_row",
        dataflow=pl.col("DATAFLOW"),
        reporter_code=pl.col("COUNTRY").str.strip_chars(),
        indicator=indicator,
        flow=pl.when(indicator.str.starts_with("XG_"))
        .then(pl.lit("exports"))
        .when(indicator.str.starts_with("MG_"))
        .then(pl.lit("imports")),
        valuation=indicator.str.extract(r"_(FOB|CIF)_", 1),
        counterpart_code=pl.col("COUNTERPART_COUNTRY").str.strip_chars(),
        frequency=pl.col("FREQUENCY"),
        year=pl.col("TIME_PERIOD"),
        value_usd=pl.col("OBS_VALUE").replace("NaN", None),
        unit=_optional(raw, "UNIT"),
        status=_optional(raw, "STATUS"),
        is_synthetic=pl.lit(file_sha256(path) in _fixture_hashes()),
    )
    is_aggregate = pl.col("counterpart_code").str.contains(AGGREGATE_CODE).fill_null(False)
    countries = attach_iso3(tidy.filter(~is_aggregate), SOURCE, code_col="counterpart_code", code_is_iso3=True)
    aggregates = tidy.filter(is_aggregate).with_columns(
        iso3=pl.lit(None, pl.String), entity_kind=pl.lit("aggregate"), in_universe=pl.lit(False)
    )
    frame = pl.concat([countries, aggregates], how="vertical").sort("source_row")
    return enforce(frame, ImfImtsUsTrade, source=SOURCE, file=path.name)


IMTS = RawTable(
    name="imf_imts_us_trade",
    source=SOURCE,
    snapshot="imf_imts_us_trade",
    default_file="imts_us_synthetic.csv",
    bundled_root="data/fixtures",
    vintage="SYNTHETIC offline fixture (invented numbers, IMF SDMX-CSV response shape), not IMF data",
    parse=parse,
    description="IMF IMTS (successor of DOTS): US goods exports (FOB) and imports (CIF) by counterpart and year, USD. "
    "Live mode reads the IMF SDMX API (2020 onwards); offline a labelled synthetic fixture (is_synthetic = true).",
    live_url=f"{API}/USA.XG_FOB_USD+MG_CIF_USD..A?startPeriod=2020",
    cadence="monthly",
    accept=SDMX_CSV,
)

RAW_TABLES = (IMTS,)
