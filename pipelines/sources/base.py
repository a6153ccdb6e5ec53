"""What every source module declares, and the shared steps of reading a publisher file.

A source module exposes one or more `RawTable`s. Each knows its bundled snapshot file, how to parse it
into a tidy polars frame (real dialect, quirks handled), and which pandera contract the frame must meet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import polars as pl

from pipelines import settings


def file_sha256(path: Path) -> str:
    """sha256 of a file of any size, read in blocks (the one hash of provenance, landing and exports)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class SourceFile:
    """A file as read: which one, its checksum and size, and the vintage it represents."""

    path: Path
    sha256: str
    bytes: int
    vintage: str
    bundled: bool

    @classmethod
    def inspect(cls, path: Path, vintage: str, bundled: bool) -> SourceFile:
        return cls(path, file_sha256(path), path.stat().st_size, vintage, bundled)


# Live addresses, from each data/snapshots/<source>/SOURCE.md. Sources absent here have no stable single-file
# download (SIPRI web exports, the World Bank bulk zips, the hand-built agreements table, the retired IMF DOTS):
# in live mode they read their snapshot unless HPW_<KEY>_URL names an address.
LIVE_URLS: dict[str, str] = {
    "us_foreign_aid_summary": "https://s3.amazonaws.com/files.explorer.devtechlab.com/us_foreign_aid_country.csv",
    "country_codes": "https://raw.githubusercontent.com/datasets/country-codes/main/data/country-codes.csv",
    "mme_exercises": "https://raw.githubusercontent.com/meflynn/troopdata/master/data-raw/mme_v7.csv",
    "mme_exercise_participants": "https://raw.githubusercontent.com/meflynn/troopdata/master/data-raw/mme_v7.csv",
    "us_bases": "https://raw.githubusercontent.com/meflynn/troopdata/master/data-raw/basedata.csv",
    "us_troops_dmdc": "https://raw.githubusercontent.com/meflynn/troopdata/master/data-raw/troopdata-rebuild-reports.csv",
    "worldbank_wdi_json": "https://api.worldbank.org/v2/country/all/indicator/NY.GDP.MKTP.KD?format=json&per_page=20000",
}

# How often a publisher updates a source, declared by every RawTable (`cadence=`). It decides the schedule,
# the upstream sensor and the freshness check (pipelines/schedules.py): "never" is a hand-built table, "retired"
# a series the publisher discontinued (kept for history; nothing polls it, nothing expects it to be fresh).
CADENCES = ("monthly", "quarterly", "yearly", "never", "retired")


@dataclass(frozen=True)
class RawTable:
    """One raw table in DuckDB schema `raw`, fed by one publisher file."""

    name: str  # raw table name; the Dagster asset key is ["raw", name]
    source: str  # source name used in crosswalk aliases and error messages
    snapshot: str  # folder under data/snapshots/
    default_file: str  # bundled file name in that folder
    vintage: str  # the bundled file's data vintage, as given in its SOURCE.md
    parse: Callable[[Path], pl.DataFrame]  # file -> tidy frame that already meets its contract
    description: str
    cadence: str  # one of CADENCES: required, so a new source cannot silently inherit one
    group: str = "raw"
    tags: dict[str, str] = field(default_factory=dict)
    # Raw tables cut from one publisher file share one override (`HPW_<FILE_KEY>_PATH`); default: the table name.
    file_key: str | None = None
    # Optional streaming path for multi-GB files: (build database, SourceFile) -> counts incl. `rows_landed`.
    # It validates and writes `raw.<name>` itself (and meta.loads) instead of `parse` + warehouse.land_raw.
    land: Callable[[Path, SourceFile], dict[str, int]] | None = None
    # The publisher's live address of the same file (SOURCE.md); None when the source has no stable download.
    # Defaults to LIVE_URLS[name] so source modules need not repeat it.
    live_url: str | None = None
    # Folder (relative to the project root) holding `<snapshot>/<default_file>` when it is not data/snapshots/:
    # e.g. data/fixtures/ for a labelled synthetic offline fixture of a live-only source.
    bundled_root: str | None = None
    # The `Accept` header a live download sends (content negotiation, e.g. SDMX-CSV from the IMF API); None: any.
    accept: str | None = None

    def __post_init__(self) -> None:
        if self.live_url is None and self.name in LIVE_URLS:
            object.__setattr__(self, "live_url", LIVE_URLS[self.name])
        if self.cadence not in CADENCES:
            raise ValueError(
                f"[{self.source}] raw table {self.name}: cadence {self.cadence!r} is not one of {', '.join(CADENCES)}"
            )

    @property
    def fetch_key(self) -> str:
        """The key of the publisher file: `HPW_<KEY>_PATH` / `HPW_<KEY>_URL`, and the landing folder."""
        return self.file_key or self.name

    @property
    def bundled_path(self) -> Path:
        root = settings.PROJECT_ROOT / self.bundled_root if self.bundled_root else settings.SNAPSHOT_DIR
        return root / self.snapshot / self.default_file

    def chosen_path(self, configured_path: str | None = None) -> Path | None:
        """The file `locate` reads when one is chosen (run config, else `HPW_<TABLE>_PATH`); None: the snapshot."""
        if configured_path:
            return Path(configured_path).expanduser().resolve()
        return settings.source_file_override(self.file_key or self.name)

    def locate(self, configured_path: str | None = None) -> SourceFile:
        """The file to read: run config, else `HPW_<TABLE>_PATH`, else the bundled snapshot."""
        path = self.chosen_path(configured_path)
        if path is None:
            return SourceFile.inspect(self.bundled_path, self.vintage, bundled=True)
        if not path.is_file():
            raise FileNotFoundError(f"[{self.source}] {self.name}: file {path} does not exist")
        retrieved = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()
        return SourceFile.inspect(path, f"user file {path.name}, modified {retrieved}", bundled=False)


def read_text_csv(path: Path | IO[bytes], *, skip_rows: int = 0, encoding: str = "utf8", **kwargs) -> pl.DataFrame:
    """Read every column as text (the contract decides types) and number the data records from 1.

    Blank cells, quoted (`""`) or not, become null: in every publisher file here blank means *not
    available*, and a parser that needs another reading must say so explicitly.
    """
    frame = pl.read_csv(
        path,
        infer_schema_length=0,
        skip_rows=skip_rows,
        encoding=encoding,
        raise_if_empty=True,
        **kwargs,
    )
    frame = frame.with_row_index("source_row", offset=1).with_columns(
        pl.col("source_row").cast(pl.Int64), pl.col(pl.String).replace("", None)
    )
    # Blank lines after the last record (spreadsheets and some exports add them) carry no data: they end the table.
    data = [c for c in frame.columns if c != "source_row"]
    if data and frame.height:
        has_data = ~pl.all_horizontal(pl.col(data).is_null())
        frame = frame.filter(has_data.cast(pl.Int32).reverse().cum_max().reverse().cast(pl.Boolean))
    return frame


def snake_case(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", name.strip().casefold()).strip("_")


def entity_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows by what they describe: countries in / outside the universe, aggregates, non-state actors."""
    if "entity_kind" not in frame.columns:
        return {"rows_in": frame.height}
    counts = {
        "rows_in": frame.height,
        "rows_country_in_universe": frame.filter((pl.col("entity_kind") == "country") & pl.col("in_universe")).height,
        # Out-of-region entities no step resolved count as outside too (and are listed in meta.unresolved_entities).
        "rows_outside_universe": frame.filter(
            pl.col("entity_kind").is_in(["country", "unresolved"]) & ~pl.col("in_universe")
        ).height,
        "rows_aggregate": frame.filter(pl.col("entity_kind") == "aggregate").height,
        "rows_non_state": frame.filter(pl.col("entity_kind").is_in(["non_state", "organisation"])).height,
    }
    return counts
