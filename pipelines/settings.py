"""Where things live, and the few knobs users turn (all overridable by environment variables).

Paths are resolved relative to the project root so the repo never holds machine-specific paths.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT_DIR = PROJECT_ROOT / "data" / "snapshots"
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
DBT_PROJECT_DIR = PROJECT_ROOT / "models"

# Default country universe: Latin America & Caribbean (UN M49 sub-region) plus the USA itself.
DEFAULT_UNIVERSE_SUBREGIONS = ("Latin America and the Caribbean",)
DEFAULT_UNIVERSE_EXTRA_ISO3 = ("USA",)
FOCUS_COUNTRIES = ("PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV")


def warehouse_dir() -> Path:
    """Folder holding the published warehouse, its exports and the scratch build area."""
    return Path(os.environ.get("HPW_WAREHOUSE_DIR", PROJECT_ROOT / "warehouse")).resolve()


def published_db_path() -> Path:
    return warehouse_dir() / "partnership.duckdb"


def exports_dir() -> Path:
    return warehouse_dir() / "exports"


def build_dir() -> Path:
    return warehouse_dir() / ".build"


def universe_extra_iso3() -> tuple[str, ...]:
    """Countries added to the universe beyond LAC: `HPW_EXTRA_COUNTRIES=CAN,ESP` (default USA)."""
    raw = os.environ.get("HPW_EXTRA_COUNTRIES")
    if raw is None:
        return DEFAULT_UNIVERSE_EXTRA_ISO3
    return tuple(code.strip().upper() for code in raw.split(",") if code.strip())


def env_key(name: str) -> str:
    return name.upper().replace("-", "_")


def source_file_override(raw_table: str) -> Path | None:
    """`HPW_<RAW_TABLE>_PATH` points one raw table at a file the user downloaded (no code change)."""
    value = os.environ.get(f"HPW_{env_key(raw_table)}_PATH")
    return Path(value).expanduser().resolve() if value else None


# ------------------------------------------------------------------------------------------ checking settings


class SettingsError(ValueError):
    """A setting that is unknown or malformed; message and hint are each one line."""

    def __init__(self, message: str, hint: str = ""):
        self.hint = hint
        super().__init__(message)


# Every HPW_* variable the project reads, with what it takes. Per-file ones (HPW_<KEY>_PATH/_URL/_MAX_BYTES) are
# added from the source registry. tests/faults/test_settings.py checks every HPW_ name in the code is listed.
SETTINGS: dict[str, str] = {
    "HPW_WAREHOUSE_DIR": "folder of the published warehouse (default ./warehouse)",
    "HPW_DATA_DIR": "folder of landed downloads and the ingestion log (default <warehouse>/data)",
    "HPW_MODE": "snapshot | live",
    "HPW_EXTRA_COUNTRIES": "ISO3 codes added to the country universe, comma-separated (default USA)",
    "HPW_LIVE_BASE_URL": "scheme and host replacing every built-in live address (mirrors, tests)",
    "HPW_FETCH_TIMEOUT": "seconds without progress before a download attempt times out (default 60)",
    "HPW_FETCH_ATTEMPTS": "attempts per download (default 4)",
    "HPW_FETCH_BACKOFF": "seconds before the first retry, doubled each time (default 1.0)",
    "HPW_FETCH_DEADLINE": "seconds a whole download may take, retries included (default 1800)",
    "HPW_FETCH_MAX_BYTES": "largest download accepted, in bytes (default 4 GiB); HPW_<KEY>_MAX_BYTES per file",
    "HPW_INGEST_MEMORY_LIMIT": "DuckDB memory limit while landing the large activity file (e.g. 2GB)",
    "HPW_US_FOREIGN_AID_CONSTANT_BASE_YEAR": "base year of constant-dollar aid amounts",
    "HPW_US_FOREIGN_AID_GREENBOOK_CONSTANT_BASE_YEAR": "base year of the Greenbook's constant-dollar amounts",
    "HPW_ACCEPT_CHANGE": "RAW_TABLE=REASON[;...]: let a change beyond the anomaly gate's tolerance through",
    "HPW_BUILD_DB": "internal: the build database dbt writes (set by the build itself)",
    "HPW_DBT_WORKER": "0: run the build's dbt step as a fresh dbt process, not the warm one started with the build",
    "HPW_DBT_WORKER_SOCKET": "internal: the build's warm dbt process (set by the build itself)",
    "HPW_TEST_ARTIFACTS": "tests only: folder for test artefacts",
}
PER_FILE_SUFFIXES = ("_PATH", "_URL", "_MAX_BYTES")
NUMBERS = {
    "HPW_FETCH_TIMEOUT": float,
    "HPW_FETCH_BACKOFF": float,
    "HPW_FETCH_DEADLINE": float,
    "HPW_FETCH_ATTEMPTS": int,
    "HPW_FETCH_MAX_BYTES": int,
    "HPW_US_FOREIGN_AID_CONSTANT_BASE_YEAR": int,
    "HPW_US_FOREIGN_AID_GREENBOOK_CONSTANT_BASE_YEAR": int,
}


def _file_keys() -> set[str]:
    from pipelines.sources import RAW_TABLES

    return {env_key(t.fetch_key) for t in RAW_TABLES}  # tables cut from one file share its key


def _number(name: str, value: str, kind) -> None:
    try:
        number = kind(value.strip())
    except ValueError:
        number = None
    if number is None or number <= 0 or (kind is float and number != number):
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(
            f"{name}={value[:60]!r} is not {what} greater than 0", f"{name}: {SETTINGS.get(name, 'bytes')}"
        )


def check_environment(environ: dict[str, str] | None = None) -> None:
    """Fail before any work on an unknown HPW_* variable (a typo is never silently ignored), a mode that is not
    one, a number that is not one, a file override that is not a file, or an unknown extra country."""
    import difflib

    env = os.environ if environ is None else environ
    names = sorted(k for k in env if k.startswith("HPW_"))
    per_file = [k for k in names if k not in SETTINGS]
    keys = _file_keys() if per_file else set()
    valid = set(SETTINGS) | {f"HPW_{k}{s}" for k in keys for s in PER_FILE_SUFFIXES}
    for name in names:
        if name in valid:
            continue
        close = difflib.get_close_matches(name, sorted(valid), n=1, cutoff=0.8)
        raise SettingsError(
            f"unknown setting {name}" + (f" (did you mean {close[0]}?)" if close else ""),
            f"valid: {', '.join(n for n in sorted(SETTINGS) if not SETTINGS[n].startswith(('internal', 'tests')))}; "
            f"per file HPW_<KEY>_PATH, _URL or _MAX_BYTES with KEY one of {', '.join(sorted(keys or _file_keys()))}",
        )
    mode = env.get("HPW_MODE")
    if mode is not None and mode.strip().lower() not in ("snapshot", "live"):
        raise SettingsError(f"HPW_MODE={mode[:40]!r} is not a mode", "valid modes: snapshot, live")
    for name, kind in NUMBERS.items():
        if name in env:
            _number(name, env[name], kind)
    for name in names:
        if name.endswith("_MAX_BYTES"):
            _number(name, env[name], int)
        elif name.endswith("_PATH") and name not in SETTINGS and env[name]:
            path = Path(env[name]).expanduser()
            if path.is_dir():
                raise SettingsError(
                    f"{name}={str(path)[:200]} is a folder, not a file",
                    "name the publisher's file itself (the folder's other files are read beside it)",
                )
            if not path.is_file():
                raise SettingsError(f"{name}={str(path)[:200]}: no such file", f"check the path, or unset {name}")
        elif name.endswith("_URL") and env[name] and not env[name].lower().startswith(("http://", "https://")):
            raise SettingsError(f"{name}={env[name][:120]!r} is not an http(s) address", f"unset {name} or fix it")
    if env.get("HPW_EXTRA_COUNTRIES"):
        extra = [c.strip().upper() for c in env["HPW_EXTRA_COUNTRIES"].split(",") if c.strip()]
        import pycountry

        historical = _historical_iso3()
        bad = [c for c in extra if pycountry.countries.get(alpha_3=c) is None and c not in historical]
        if bad:
            raise SettingsError(
                f"HPW_EXTRA_COUNTRIES names unknown ISO 3166 alpha-3 code(s): {', '.join(bad[:5])}",
                "use three-letter codes such as CAN,ESP (comma-separated)",
            )


def _historical_iso3() -> set[str]:
    import csv

    with (REFERENCE_DIR / "historical_countries.csv").open(encoding="utf-8") as handle:
        return {row["iso3"] for row in csv.DictReader(handle)}
