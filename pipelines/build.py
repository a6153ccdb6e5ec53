"""`hpw build`: one safe, serialised build of the whole warehouse, with a summary at the end.

- Only one build at a time (an advisory lock on warehouse/.build.lock); a second one says so and exits.
- The warehouse folder must be writable, checked before any work.
- An unchanged re-run (same inputs, code and settings) returns at once without importing Dagster.
- Everything is written to warehouse/.build/; the published file is replaced only by the final asset,
  after every contract and dbt test passed.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipelines import fingerprint, settings


class BuildError(RuntimeError):
    """A build that could not start or did not finish; the message is one line plus a hint."""

    def __init__(self, message: str, hint: str = ""):
        self.hint = hint
        super().__init__(message)


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
    seconds: float | None = None


@dataclass
class BuildResult:
    success: bool
    up_to_date: bool = False
    seconds: float = 0.0
    assets: list[AssetSummary] = field(default_factory=list)
    error: str | None = None

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
        lines.append(f"checks: {passed} passed, {failed} failed; build {'succeeded' if self.success else 'FAILED'} in {self.seconds:.1f} s")
        return "\n".join(lines)


@contextmanager
def build_lock(warehouse_dir: Path):
    warehouse_dir.mkdir(parents=True, exist_ok=True)
    handle = (warehouse_dir / ".build.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise BuildError(
            "a build is already running for this warehouse",
            f"wait for it to finish (lock: {warehouse_dir / '.build.lock'})",
        ) from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


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


def run_build(
    *,
    force: bool = False,
    file_overrides: dict[str, str] | None = None,
    warehouse_dir: Path | None = None,
    log_level: str = "INFO",
    echo=print,
) -> BuildResult:
    started = time.perf_counter()
    root = (warehouse_dir or settings.warehouse_dir()).resolve()
    check_writable(root)
    with build_lock(root):
        if not force and not file_overrides and fingerprint.is_up_to_date(root):
            return BuildResult(success=True, up_to_date=True, seconds=time.perf_counter() - started)
        build_area = root / ".build"
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
        result = materialize(
            ALL_ASSETS,
            resources={"warehouse_db": WarehouseResource(warehouse_dir=str(root)), "dbt": dbt_resource()},
            run_config=run_config,
            instance=instance,
            raise_on_error=False,
        )
        outcome = BuildResult(success=result.success, seconds=time.perf_counter() - started, assets=_summaries(result))
        if not result.success:
            outcome.error = _first_failure(result)
            # Drop the half-built database; keep dbt's logs (.build/dbt_target/dbt.log) for inspection.
            for leftover in build_area.glob("partnership.duckdb*"):
                leftover.unlink(missing_ok=True)
        return outcome
