"""`hpw build`: one safe, serialised build of the whole warehouse, with a summary at the end.

- Only one build at a time (an advisory lock on warehouse/.build.lock); a second one says so and exits.
- The warehouse folder must be writable, checked before any work.
- An unchanged re-run (same inputs, code and settings) returns at once without importing Dagster.
- Everything is written to warehouse/.build/; the published file is replaced only by the final asset,
  after every contract and dbt test passed.
- A failed raw file is diagnosed (empty, error page, truncated, wrong encoding, broken xlsx: pipelines/quarantine.py)
  and kept under warehouse/.rejected/<source>/ with its sha256 and the error; schema-drift warnings
  (pipelines/drift.py) and quarantined rows (meta.quarantine) are reported in the summary.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from pipelines import drift, fingerprint, locking, quarantine, settings
from pipelines.errors import UserError


class BuildError(UserError):
    """A build that could not start or did not finish; the message is one line plus a hint."""


@dataclass
class AssetSummary:
    asset: str
    rows_in: int | None = None
    rows_landed: int | None = None
    rows_rejected: int | None = None
    rows_aggregate: int | None = None
    rows_outside_universe: int | None = None
    checks_passed: int = 0
    checks_failed: int = 0
    checks_warned: int = 0  # WARN checks that found something (out-of-region entities, plausibility flags)
    seconds: float | None = None


@dataclass
class BuildResult:
    success: bool
    up_to_date: bool = False
    seconds: float = 0.0
    assets: list[AssetSummary] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # additive schema drift, named column by column
    rows_quarantined: int = 0  # tolerable bad values set to NULL, rows kept in meta.quarantine
    rejected_files: list[Path] = field(default_factory=list)  # copies under <warehouse>/.rejected/<source>/
    failures: dict[str, str] = field(default_factory=dict)  # raw table -> its explained error (every failed file)
    unresolved_entities: list[tuple] = field(default_factory=list)  # (raw_table, code, name, rows, why)
    plausibility_flags: dict[str, int] = field(default_factory=dict)  # "raw_table: rule" -> rows kept and flagged

    def summary_table(self) -> str:
        header = f"{'asset':<42} {'rows in':>8} {'landed':>8} {'rejected':>8} {'aggreg.':>8} {'outside':>8} {'checks':>9} {'seconds':>8}"
        lines = [header, "-" * len(header)]

        def fmt(value):
            return "" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:.2f}"

        for a in self.assets:
            checks = f"{a.checks_passed}/{a.checks_passed + a.checks_failed}" if a.checks_passed + a.checks_failed else ""
            lines.append(
                f"{a.asset:<42} {fmt(a.rows_in):>8} {fmt(a.rows_landed):>8} {fmt(a.rows_rejected):>8} "
                f"{fmt(a.rows_aggregate):>8} {fmt(a.rows_outside_universe):>8} {checks:>9} {fmt(a.seconds):>8}"
            )
        passed = sum(a.checks_passed for a in self.assets)
        failed = sum(a.checks_failed for a in self.assets)
        warned = sum(a.checks_warned for a in self.assets)
        warned_text = f", {warned} warned" if warned else ""
        lines.append(f"checks: {passed} passed, {failed} failed{warned_text}; build {'succeeded' if self.success else 'FAILED'} in {self.seconds:.1f} s")
        if self.rows_quarantined:
            lines.append(f"quarantined: {self.rows_quarantined} row(s) with a tolerable bad value (NULL in raw; see meta.quarantine)")
        if self.unresolved_entities:
            rows = sum(e[3] for e in self.unresolved_entities)
            lines.append(f"outside the universe, unresolved: {len(self.unresolved_entities)} entit(ies), "
                         f"{rows:,} row(s) kept as entity_kind 'unresolved' (see meta.unresolved_entities):")
            lines.extend(f"  {t}: {c or ''} / {n or ''} ({r:,} rows): {why}"
                         for t, c, n, r, why in self.unresolved_entities[:15])
            if len(self.unresolved_entities) > 15:
                lines.append(f"  ... +{len(self.unresolved_entities) - 15} more")
        for rule, count in self.plausibility_flags.items():
            lines.append(f"plausibility: {count:,} row(s) kept and flagged by {rule} (see meta.plausibility_flags)")
        lines.extend(f"warning: {w}" for w in self.warnings)
        lines.extend(f"rejected file kept for inspection: {p}" for p in self.rejected_files)
        return "\n".join(lines)


@contextmanager
def build_lock(warehouse_dir: Path):
    """The warehouse's build lock (pipelines/locking.py), as a BuildError when another build holds it."""
    try:
        with locking.build_lock(warehouse_dir):
            yield
    except locking.BuildRunningError as err:
        raise BuildError(str(err), err.hint) from None


def check_writable(warehouse_dir: Path) -> None:
    try:
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        probe = warehouse_dir / f".write-probe-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        raise BuildError(
            f"the warehouse folder {warehouse_dir} is not writable ({err.strerror})",
            "set HPW_WAREHOUSE_DIR to a writable folder",
        ) from None


def manifest_is_stale(manifest: Path) -> bool:
    if not manifest.is_file():
        return True
    built = manifest.stat().st_mtime
    return any(
        path.stat().st_mtime > built
        for path in settings.DBT_PROJECT_DIR.rglob("*")
        if path.suffix in {".sql", ".yml", ".yaml", ".csv"} and "target" not in path.parts and "logs" not in path.parts
    )


def ensure_manifest(build_database: Path | None = None) -> None:
    """Prepare the dbt manifest when models changed; dbt's partial parsing keeps later runs cheap."""
    manifest = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest_is_stale(manifest):
        return
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    if build_database is not None:  # parse against the same profile the build uses, so partial parsing holds
        env["HPW_BUILD_DB"] = str(build_database)
    completed = subprocess.run(
        [str(dbt), "parse", "--project-dir", str(settings.DBT_PROJECT_DIR), "--profiles-dir", str(settings.DBT_PROJECT_DIR)],
        capture_output=True, text=True, env=env,
    )
    if completed.returncode != 0:
        raise BuildError("dbt could not parse the project in models/", completed.stdout[-2000:])


def _summaries(result) -> list[AssetSummary]:
    from dagster import DagsterEventType

    by_asset: dict[str, AssetSummary] = {}
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            name = mat.asset_key.to_user_string()
            meta = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
            summary = by_asset.setdefault(name, AssetSummary(name))
            summary.rows_in = meta.get("rows_in")
            summary.rows_landed = meta.get("rows_landed")
            summary.rows_rejected = meta.get("rows_rejected")
            summary.rows_aggregate = meta.get("rows_aggregate")
            summary.rows_outside_universe = meta.get("rows_outside_universe")
            seconds = meta.get("seconds") or meta.get("Execution Duration")
            summary.seconds = float(seconds) if seconds is not None else None
        elif event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            name = evaluation.asset_key.to_user_string()
            summary = by_asset.setdefault(name, AssetSummary(name))
            if evaluation.passed:
                summary.checks_passed += 1
            elif getattr(evaluation.severity, "value", evaluation.severity) == "WARN":
                summary.checks_warned += 1
            else:
                summary.checks_failed += 1
    return sorted(by_asset.values(), key=lambda s: (s.asset.split("/")[0] != "raw", s.asset))


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            message = error.message if error else event.message
            cause = error.cause if error else None
            while cause is not None:  # the root cause is the one a user can act on
                message, cause = cause.message, cause.cause
            return message.strip()
    return "the build failed"


EXCEPTION_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Z]\w*(?:Error|Violation|Exception): ")  # Dagster's `module.Class: `
RAW_STEP = re.compile(r"^raw__(?P<table>\w+)$")
CONTRACT_FILE = re.compile(r"^\[(?P<source>[^\]]+)\] (?P<file>.+?)(?: \[[^\]]+\])? breaks its contract")


def _raw_failures(result) -> dict[str, str]:
    """Failed raw steps: raw table name -> root error message."""
    failed = {}
    for event in result.all_events:
        if event.is_step_failure and (match := RAW_STEP.match(event.step_key or "")):
            error = event.event_specific_data.error
            message = error.message if error else event.message
            cause = error.cause if error else None
            while cause is not None:
                message, cause = cause.message, cause.cause
            failed[match["table"]] = EXCEPTION_PREFIX.sub("", message.strip(), count=1)
    return failed


def _unmapped_lines(path: Path, message: str) -> str:
    """Where the unmapped names sit in the file (line numbers), found with one vectorised scan."""
    import polars as pl

    values = re.findall(r"'([^']+)'", message.split(":", 1)[-1].split(". Add them")[0])
    text = pl.Series(path.read_bytes().decode("utf-8", "replace").splitlines())
    found = []
    for value in values[:5]:
        parts = [part for part in value.split(" / ") if part]  # the crosswalk reports `code / name`
        hit = pl.Series([True] * text.len())
        for part in parts:
            hit = hit & text.str.contains(part, literal=True)
        lines = (hit.arg_true() + 1).head(5).to_list()
        found.append(f"{value!r} at line(s) {', '.join(map(str, lines)) or '?'}")
    return "; ".join(found)


def _failed_file(path: Path | None, message: str) -> Path | None:
    """Folder sources (World Bank) read every file beside the one given: the contract message names the culprit."""
    contract = CONTRACT_FILE.match(message)
    if path is not None and contract and path.name != contract["file"] and (path.parent / contract["file"]).is_file():
        return path.parent / contract["file"]
    return path


def explain_raw_failure(table, path: Path | None, message: str) -> str:
    """One clear message for a failed raw file: source, file, and what is wrong with it (row, column, value)."""
    contract = CONTRACT_FILE.match(message)
    path = _failed_file(path, message)
    if path is None and message.startswith(f"[{table.source}]"):
        return message  # no file was read (a failed download): the message already names source and address
    file_name = contract["file"] if contract else (path.name if path else table.default_file)
    problem = quarantine.diagnose(path, latin1_ok=table.source in LATIN1_SOURCES) if path else None
    first_line = message.splitlines()[0] if message else "unknown error"
    if contract:
        return message + (f"\n  - the file {problem}" if problem else "")
    if message.startswith(f"[{table.source}]") and "not in the crosswalk" in message and path is not None:
        located = _unmapped_lines(path, message)
        return message.replace(f"[{table.source}]", f"[{table.source}] {file_name}:", 1) + f" Found in the file: {located}"
    if problem:
        return f"[{table.source}] {file_name} {problem} (reader said: {first_line})"
    return f"[{table.source}] {file_name} could not be read as {table.name}: {first_line}"


# Publishers whose files are Latin-1 by design (their parsers decode it): not an encoding error there.
LATIN1_SOURCES = {"sipri_arms_transfers", "us_bases"}


def _located_file(table, file_overrides: dict[str, str] | None, root: Path | None = None, since: str = "") -> Path | None:
    """The file the failed raw asset read: its ingestion-log entry (live downloads land under <data>/landing/),
    else the file that run config / HPW_<KEY>_PATH / the snapshot resolves to."""
    if root is not None:
        try:
            import polars as pl

            from pipelines import fetch

            log = fetch.read_log(fetch.data_dir(root)).filter((pl.col("raw_table") == table.name) & (pl.col("retrieved_at") >= since))
            if log.height:
                landed = log["landed_path"][-1]
                if landed is None:  # this build's download failed: no file was read
                    return None
                path = Path(landed)
                path = path if path.is_absolute() else settings.PROJECT_ROOT / path
                if path.is_file():
                    return path
            configured = next((p for k, p in (file_overrides or {}).items() if k in (table.name, table.file_key)), None)
            if not configured and settings.source_file_override(table.fetch_key) is None and fetch.wants_live(table):
                # a live download that failed before it was logged: the newest file landed during this build
                landing = fetch.data_dir(root) / "landing" / table.fetch_key
                cutoff = datetime.fromisoformat(since).timestamp() - 1 if since else 0
                landed = sorted(
                    (f for f in landing.glob("*/*") if f.is_file() and f.stat().st_mtime >= cutoff),
                    key=lambda f: f.stat().st_mtime,
                )
                return landed[-1] if landed else None
        except Exception:  # noqa: BLE001 - the log is a convenience here; fall back to resolving the path
            pass
    configured = next((p for k, p in (file_overrides or {}).items() if k in (table.name, table.file_key)), None)
    try:
        return table.locate(configured).path
    except (FileNotFoundError, OSError):
        return None


def _count_quarantine(outcome: "BuildResult", published: Path) -> None:
    """Rows quarantined per raw table (meta.loads.rows_rejected of the published build) into the summary."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        rejected = dict(con.execute("select 'raw/' || raw_table, rows_rejected from meta.loads").fetchall())
    for summary in outcome.assets:
        if summary.asset in rejected:
            summary.rows_rejected = rejected[summary.asset]
    outcome.rows_quarantined = sum(v or 0 for v in rejected.values())
    _count_findings(outcome, published)


def _count_findings(outcome: "BuildResult", published: Path) -> None:
    """Out-of-region unresolved entities and plausibility flags of the published build, for the summary."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        tables = {r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'meta'").fetchall()}
        if "unresolved_entities" in tables:
            outcome.unresolved_entities = con.execute(
                "select raw_table, code, name, rows, why from meta.unresolved_entities "
                "order by raw_table, rows desc, name"
            ).fetchall()
        if "plausibility_flags" in tables:
            outcome.plausibility_flags = dict(con.execute(
                "select raw_table || ': ' || rule, count(*) from meta.plausibility_flags group by all order by 1"
            ).fetchall())


def run_build(
    *,
    force: bool = False,
    file_overrides: dict[str, str] | None = None,
    warehouse_dir: Path | None = None,
    log_level: str = "INFO",
    echo=print,
    on_event=None,
) -> BuildResult:
    started = time.perf_counter()
    build_started = datetime.now(timezone.utc).isoformat(timespec="seconds")  # ingestion-log entries of this build
    root = (warehouse_dir or settings.warehouse_dir()).resolve()
    check_writable(root)
    with build_lock(root):
        if not force and not file_overrides and fingerprint.is_up_to_date(root):
            return BuildResult(success=True, up_to_date=True, seconds=time.perf_counter() - started)
        build_area = root / ".build"
        quarantine.reset()
        drift.reset()
        drift.load_baseline(root / "partnership.duckdb")  # the previous build's raw columns: new ones are drift
        ensure_manifest(build_area / "partnership.duckdb")
        shutil.rmtree(build_area, ignore_errors=True)  # leftovers of a killed build are never reused
        build_area.mkdir(parents=True)

        echo("loading pipeline definitions ...")
        import warnings

        from dagster import BetaWarning, DagsterInstance, materialize

        warnings.filterwarnings("ignore", category=BetaWarning)

        from pipelines.definitions import ALL_ASSETS
        from pipelines.dbt import dbt_resource
        from pipelines.resources import WarehouseResource

        from pipelines.sources import RAW_TABLES

        # An override names a raw table or a shared file key; it applies to every raw table cut from that file.
        ops = {
            f"raw__{table.name}": {"config": {"path": path}}
            for key, path in (file_overrides or {}).items()
            for table in RAW_TABLES
            if key in (table.name, table.file_key)
        }
        run_config = {
            "ops": ops,
            "loggers": {"console": {"config": {"log_level": log_level}}},
        }
        instance = DagsterInstance.ephemeral()
        if on_event is not None:  # live progress: `hpw build` prints a line per asset as it finishes
            store = instance.handle_new_event

            def handle_new_event(event, **kwargs):
                store(event, **kwargs)
                on_event(event)

            instance.handle_new_event = handle_new_event
        result = materialize(
            ALL_ASSETS,
            resources={"warehouse_db": WarehouseResource(warehouse_dir=str(root)), "dbt": dbt_resource()},
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
        )
        outcome = BuildResult(
            success=result.success, seconds=time.perf_counter() - started, assets=_summaries(result), warnings=drift.warnings()
        )
        if result.success:
            _count_quarantine(outcome, root / "partnership.duckdb")
        else:
            outcome.error = _first_failure(result)
            tables = {t.name: t for t in RAW_TABLES}
            explained = []
            for name, message in _raw_failures(result).items():
                table = tables[name]
                path = _failed_file(_located_file(table, file_overrides, root, since=build_started), message)
                text = explain_raw_failure(table, path, message)
                explained.append(text)
                outcome.failures[name] = text
                kept = quarantine.keep_rejected(root, table.source, path, text) if path is not None else None
                if kept is not None:
                    outcome.rejected_files.append(kept)
            if explained:
                outcome.error = "\n".join(explained)
            # Drop the half-built database; keep dbt's logs (.build/dbt_target/dbt.log) for inspection.
            for leftover in build_area.glob("partnership.duckdb*"):
                leftover.unlink(missing_ok=True)
        return outcome
