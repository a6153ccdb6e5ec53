"""`hpw build`: one safe, serialised build of the whole warehouse, with a summary at the end.

- Settings (every HPW_* variable) are checked before any work: a typo fails, naming the valid ones.
- Only one build at a time (an OS lock on the warehouse folder, pipelines/locking.py); a second one says so and exits.
- The warehouse folder must be writable and the published file not held read-write, checked before any work.
- An unchanged re-run (same inputs, code and settings, and a published file that proves it) returns at once
  without importing Dagster.
- Everything is written to warehouse/.build/; the published file and exports are replaced only by the final
  asset (pipelines/publish.py), after every contract, anomaly gate and dbt test passed.
- Dagster's and dbt's own output goes to warehouse/logs/build-<time>.log (to the screen with verbose=True);
  the screen gets one line per stage and the summary. Every failure is explained in one line per cause.
- A failed raw file is diagnosed by its raw asset (empty, error page, truncated, wrong encoding, broken xlsx, foreign
  layout, unmapped names located: pipelines/diagnosis.py) and kept under warehouse/.rejected/<source>/ with its
  sha256 and the error; the asset's `Failure` carries the explanation as metadata, and that is what is printed.
  Schema-drift warnings and quarantined rows (meta.quarantine) are collected from the run's events for the summary.
"""

from __future__ import annotations

import gc
import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelines import fingerprint, locking, prefetch, refresh, settings, timeline
from pipelines.diagnosis import one_line
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
    published: str | None = None  # what publishing changed, in words
    published_changed: bool = False  # the published file or exports differ from before the build
    log_file: Path | None = None  # Dagster's and dbt's full output of this build
    stages: list[str] = field(default_factory=list)  # one line per finished stage

    def brief_summary(self) -> str:
        """One line per source (rows in, landed, quarantined, outside the universe, aggregates), then the totals:
        the default `hpw build` summary. The per-asset table is `summary_table()` (--verbose)."""
        from pipelines.sources import RAW_TABLES_BY_NAME

        per_source: dict[str, list] = {}
        for a in self.assets:
            if not a.asset.startswith("raw/"):
                continue
            table = RAW_TABLES_BY_NAME.get(a.asset[4:])
            totals = per_source.setdefault(table.source if table else a.asset[4:], [0, None, None, None, None, None])
            for i, value in enumerate(
                (1, a.rows_in, a.rows_landed, a.rows_rejected, a.rows_outside_universe, a.rows_aggregate)
            ):
                if value is not None:  # unknown stays blank, never 0
                    totals[i] = (totals[i] or 0) + value
        lines = [
            f"{'source':<28} {'tables':>6} {'rows in':>9} {'landed':>9} {'quarant.':>8} {'outside':>8} {'aggreg.':>8}"
        ]
        for source, (tables, *counts) in sorted(per_source.items()):
            lines.append(
                f"{source:<28} {tables:>6} "
                + " ".join(f"{'' if c is None else format(c, ','):>{w}}" for c, w in zip(counts, (9, 9, 8, 8, 8)))
            )
        lines.append(self.one_line())
        lines.extend(self.findings_lines())
        lines.extend(f"warning: {w}" for w in self.warnings)
        lines.extend(f"rejected file kept for inspection: {p}" for p in self.rejected_files)
        return "\n".join(lines)

    def one_line(self) -> str:
        passed = sum(a.checks_passed for a in self.assets)
        failed = sum(a.checks_failed for a in self.assets)
        state = "succeeded" if self.success else "FAILED"
        warned = sum(a.checks_warned for a in self.assets)
        text = f"build {state} in {self.seconds:.1f} s: {passed} checks passed, {failed} failed"
        if warned:
            text += f", {warned} warned"
        if self.rows_quarantined:
            text += f", {self.rows_quarantined} row(s) quarantined (meta.quarantine)"
        if self.log_file is not None:
            text += f"; log: {self.log_file}"
        return text

    def findings_lines(self) -> list[str]:
        """What the WARN checks found: out-of-region entities left unresolved and plausibility flags (rows kept)."""
        lines = []
        if self.unresolved_entities:
            rows = sum(e[3] for e in self.unresolved_entities)
            lines.append(
                f"outside the universe, unresolved: {len(self.unresolved_entities)} entit(ies), "
                f"{rows:,} row(s) kept as entity_kind 'unresolved' (see meta.unresolved_entities):"
            )
            lines.extend(
                f"  {t}: {c or ''} / {n or ''} ({r:,} rows): {why}" for t, c, n, r, why in self.unresolved_entities[:15]
            )
            if len(self.unresolved_entities) > 15:
                lines.append(f"  ... +{len(self.unresolved_entities) - 15} more")
        for rule, count in self.plausibility_flags.items():
            lines.append(f"plausibility: {count:,} row(s) kept and flagged by {rule} (see meta.plausibility_flags)")
        return lines

    def summary_table(self) -> str:
        header = (
            f"{'asset':<42} {'rows in':>8} {'landed':>8} {'rejected':>8} {'aggreg.':>8} {'outside':>8} "
            f"{'checks':>9} {'seconds':>8}"
        )
        lines = [header, "-" * len(header)]

        def fmt(value):
            return "" if value is None else f"{value:,}" if isinstance(value, int) else f"{value:.2f}"

        for a in self.assets:
            checks = (
                f"{a.checks_passed}/{a.checks_passed + a.checks_failed}" if a.checks_passed + a.checks_failed else ""
            )
            lines.append(
                f"{a.asset:<42} {fmt(a.rows_in):>8} {fmt(a.rows_landed):>8} {fmt(a.rows_rejected):>8} "
                f"{fmt(a.rows_aggregate):>8} {fmt(a.rows_outside_universe):>8} {checks:>9} {fmt(a.seconds):>8}"
            )
        passed = sum(a.checks_passed for a in self.assets)
        failed = sum(a.checks_failed for a in self.assets)
        warned = sum(a.checks_warned for a in self.assets)
        warned_text = f", {warned} warned" if warned else ""
        state = "succeeded" if self.success else "FAILED"
        lines.append(f"checks: {passed} passed, {failed} failed{warned_text}; build {state} in {self.seconds:.1f} s")
        if self.rows_quarantined:
            lines.append(
                f"quarantined: {self.rows_quarantined} row(s) with a tolerable bad value "
                "(NULL in raw; see meta.quarantine)"
            )
        lines.extend(self.findings_lines())
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
    with manifest_parse(build_database):
        pass


# What a build imports anyway and that does not read the dbt manifest (pipelines.dbt, .publish and .definitions do,
# at import): imported while dbt parses, so on two cores the parse's seconds overlap these instead of adding to them.
IMPORTS_BESIDE_PARSE = (
    "dagster",
    "dagster_dbt",
    "pipelines.assets",
    "pipelines.partitions",
    "pipelines.run_events",
    "pipelines.schedules",
    "pipelines.sensors",
    "pipelines.sources",
    "pipelines.warehouse",
)


@contextmanager
def frozen_imports():
    """Imports with the garbage collector off, and everything alive afterwards frozen (`gc.freeze`): Dagster's,
    dbt's and SQLAlchemy's modules leave ~a million objects that live as long as the process, and re-scanning them
    in every full collection cost a refresh ~0.6 s of its ~5 s of CPU. `run_build` unfreezes them when its run
    ends, so a long-lived caller (a test session of many builds) collects them again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


@contextmanager
def manifest_parse(build_database: Path | None = None):
    """`dbt parse` in a subprocess while the block runs, when the manifest is missing or older than a model file;
    yields whether it runs. Leaving the block waits for it (a parse is never left writing models/target), and a
    failed parse is a BuildError."""
    manifest = settings.DBT_PROJECT_DIR / "target" / "manifest.json"
    if not manifest_is_stale(manifest):
        yield False
        return
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    if build_database is not None:  # the profile the build's dbt gets (dbt_worker.in_build_area): parse state holds
        env["HPW_BUILD_DB"] = build_database.name
    project = str(settings.DBT_PROJECT_DIR)
    with tempfile.TemporaryFile("w+") as output:  # a file, not a pipe: a chatty parse never blocks on a full pipe
        proc = subprocess.Popen(
            [str(dbt), "parse", "--project-dir", project, "--profiles-dir", project],
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        try:
            yield True
        finally:
            returncode = proc.wait()
        if returncode != 0:
            output.seek(0)
            raise BuildError("dbt could not parse the project in models/", output.read()[-2000:])


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


def _count_quarantine(outcome: BuildResult, published: Path) -> None:
    """Rows quarantined per raw table (the raw assets' `rows_rejected` metadata) into the summary."""
    outcome.rows_quarantined = sum(a.rows_rejected or 0 for a in outcome.assets if a.asset.startswith("raw/"))
    _count_findings(outcome, published)


def _count_findings(outcome: BuildResult, published: Path) -> None:
    """Out-of-region unresolved entities and plausibility flags of the published build, for the summary."""
    import duckdb

    with duckdb.connect(str(published), read_only=True) as con:
        tables = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'meta'"
            ).fetchall()
        }
        if "unresolved_entities" in tables:
            outcome.unresolved_entities = con.execute(
                "select raw_table, code, name, rows, why from meta.unresolved_entities "
                "order by raw_table, rows desc, name"
            ).fetchall()
        if "plausibility_flags" in tables:
            outcome.plausibility_flags = dict(
                con.execute(
                    "select raw_table || ': ' || rule, count(*) from meta.plausibility_flags group by all order by 1"
                ).fetchall()
            )


def _published_state(root: Path) -> tuple:
    """What identifies the published file and exports (inode, size, time); compared before and after a build."""
    state: list[tuple[int, int, int] | None] = []
    for path in (root / "partnership.duckdb", root / "exports", root / "exports" / "datapackage.json"):
        try:
            stat = path.stat()
            state.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
        except OSError:
            state.append(None)
    return tuple(state)


def preflight(root: Path, file_overrides: dict[str, str] | None = None) -> None:
    """Everything that can be known wrong before any work: settings, a writable folder, exports being a folder,
    the published file not held read-write by another process."""
    from pipelines import warehouse

    try:
        settings.check_environment()
    except settings.SettingsError as err:
        raise BuildError(str(err), err.hint) from None
    check_writable(root)
    for name, path in (file_overrides or {}).items():
        given = Path(path).expanduser()
        if given.is_dir():
            raise BuildError(
                f"--file {name}={path} is a folder, not a file",
                "name the publisher's file itself (files beside it are read where a source needs them)",
            )
        if not given.is_file():
            raise BuildError(f"--file {name}={path}: no such file", "check the path")
    exports = root / "exports"
    if exports.exists() and (exports.is_symlink() or not exports.is_dir()):
        raise BuildError(f"{exports} is not a folder", "move it away; the build writes the Parquet exports there")
    pid = warehouse.writer_pid(root / warehouse.PUBLISHED_NAME)
    if pid is not None:
        raise BuildError(
            f"{root / warehouse.PUBLISHED_NAME} is open read-write by process {pid}; a build cannot replace it safely",
            "close that connection (analysts: open it read-only, e.g. duckdb -readonly, read_only=True), then build",
        )


LOGS_KEPT = 10


def _log_path(root: Path) -> Path:
    folder = root / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for old in sorted(folder.glob("build-*.log"))[: -LOGS_KEPT + 1]:
        old.unlink(missing_ok=True)
    return folder / f"build-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.log"


def _write_event_log(handle, instance, run_id: str) -> None:
    """Dagster's event log of the run (messages, and the stack trace of every failure) into the build log."""
    handle.write("\n==== Dagster event log ====\n")
    for entry in instance.all_logs(run_id):
        stamp = datetime.fromtimestamp(entry.timestamp, tz=UTC).strftime("%H:%M:%S")
        handle.write(f"{stamp} {entry.step_key or '-'} {entry.message or ''}\n")
        event = entry.dagster_event
        error = getattr(getattr(event, "event_specific_data", None), "error", None) if event else None
        if error is not None and hasattr(error, "to_string"):
            handle.write(error.to_string() + "\n")


class StageProgress:
    """One line per stage as it finishes: sources and contracts (the raw assets), dbt, publish."""

    def __init__(self, echo, raw_steps: int):
        self.echo, self.raw_steps = echo, raw_steps
        self.started = time.perf_counter()
        self.raw_done, self.raw_failed, self.rows, self.checks, self.checks_failed = 0, 0, 0, 0, 0
        self.dbt_models, self.dbt_tests, self.dbt_failed = 0, 0, 0
        self.lines: list[str] = []

    def _say(self, line: str) -> None:
        self.lines.append(line)
        self.echo(line)

    def __call__(self, event) -> None:
        from dagster import DagsterEventType

        event = getattr(event, "dagster_event", event)
        if event is None:
            return
        kind, step = event.event_type, event.step_key or ""
        elapsed = time.perf_counter() - self.started
        if kind == DagsterEventType.ASSET_MATERIALIZATION:
            key = event.event_specific_data.materialization.asset_key
            meta = event.event_specific_data.materialization.metadata
            if key.path[0] == "raw":
                value = meta.get("rows_landed")
                self.rows += int(getattr(value, "value", value) or 0)
            elif key.path[0] != "published":
                self.dbt_models += 1
        elif kind == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if step.startswith("raw__"):
                self.checks += 1
                self.checks_failed += not data.passed
            elif "dbt" in step:  # not the freshness checks, which run in their own steps
                self.dbt_tests += 1
                self.dbt_failed += not data.passed
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and step.startswith("raw__"):
            self.raw_done += 1
            self.raw_failed += kind == DagsterEventType.STEP_FAILURE
            if self.raw_done == self.raw_steps:
                self._say(
                    f"  sources    {self.raw_steps - self.raw_failed}/{self.raw_steps} raw tables landed, "
                    f"{self.rows:,} rows{' (' + str(self.raw_failed) + ' FAILED)' if self.raw_failed else ''}"
                    f"   [{elapsed:.1f} s]"
                )
                self._say(f"  contracts  {self.checks - self.checks_failed}/{self.checks} passed   [{elapsed:.1f} s]")
        elif kind in (DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE) and "dbt" in step:
            failed = " FAILED" if kind == DagsterEventType.STEP_FAILURE else ""
            passed = self.dbt_tests - self.dbt_failed
            self._say(
                f"  dbt        {self.dbt_models} models built, {passed}/{self.dbt_tests} "
                f"tests passed{failed}   [{elapsed:.1f} s]"
            )
        elif kind == DagsterEventType.STEP_FAILURE and step.startswith("published"):
            self._say(f"  publish    REFUSED (nothing published)   [{elapsed:.1f} s]")
        elif kind == DagsterEventType.STEP_SUCCESS and step.startswith("published"):
            self._say(f"  publish    done   [{elapsed:.1f} s]")


def _without_model_prefix(message: str) -> str:
    """dbt's model error without its "Runtime Error in model <name> (<path>)" lead, which the line already says."""
    text = message.lstrip()
    if text.startswith("Runtime Error in model "):
        text = text.partition(")")[2]
    return text.strip()


def explain_dbt_failure(build_area: Path) -> list[str]:
    """One line per failed dbt model or test: the node, what failed, the rows at fault (a few keys), and the raw
    tables and publisher files that feed it (from the build's meta.loads)."""
    import json

    import duckdb

    target = build_area / "dbt_target"
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
        manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError):
        return []
    nodes, sources = manifest.get("nodes", {}), manifest.get("sources", {})

    def raw_tables(unique_id: str, seen=None) -> set[str]:
        seen = seen if seen is not None else set()
        if unique_id in seen:
            return set()
        seen.add(unique_id)
        if unique_id in sources:
            return {sources[unique_id]["name"]}
        found = set()
        for parent in nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", []):
            found |= raw_tables(parent, seen)
        return found

    database = build_area / "partnership.duckdb"
    loads: dict[str, tuple[str, str]] = {}
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            rows = con.execute("select raw_table, source, file_name from meta.loads").fetchall()
            loads = {r[0]: (r[1], r[2]) for r in rows}
    except duckdb.Error:
        con = None
    lines = []
    for result in results:
        if result.get("status") not in ("error", "fail"):
            continue
        unique_id = result["unique_id"]
        node = nodes.get(unique_id, {})
        kind, name = node.get("resource_type", unique_id.split(".")[0]), node.get("name", unique_id)
        parents = node.get("depends_on", {}).get("nodes", [])
        # the model a test is attached to: a relationship's other model is a parent too
        attached = node.get("attached_node") or next((n for n in parents if n.startswith("model.")), None)
        model = attached.split(".")[-1] if attached else None
        message = result.get("message") or ""
        if kind == "model":  # the line names the model; <model>__dbt_tmp is the table dbt was filling
            message = _without_model_prefix(message).replace("__dbt_tmp", "")
        message = one_line(message, 200)
        examples = ""
        compiled = result.get("compiled_code") or node.get("compiled_code")
        if kind == "test" and compiled and database.is_file():
            try:
                with duckdb.connect(str(database), read_only=True) as con:
                    cursor = con.execute(f"select * from ({compiled}) limit 3")
                    rows, lead = cursor.fetchall(), cursor.description[0][0] == "failed_rules"
                # a rules test's row leads with the rules it breaks and the bad value or key: that part is kept whole
                texts = [(", ".join(map(str, r)), min(len(str(r[0])), 160) if lead else 0) for r in rows]
                examples = "; e.g. " + " | ".join(one_line(t, 80 + extra) for t, extra in texts) if rows else ""
            except duckdb.Error:
                pass
        fed_by = sorted(raw_tables(unique_id))
        files = [f"{t} ({loads[t][0]}: {loads[t][1]})" if t in loads else t for t in fed_by]
        where = f" on {model}" if kind == "test" and model else ""
        lines.append(
            one_line(
                f"dbt {kind} {name}{where} failed: {message}{examples}; fed by raw "
                f"{', '.join(files[:4]) or '(no raw table)'}",
                600,
            )
        )
    return lines


def _start_dbt_worker(build_area: Path, cleanup: ExitStack, background: bool = True):
    """The warm dbt process (pipelines/dbt_worker.py) and the variable naming it to the dbt step, undone by
    `cleanup`; or None and why it is off. It parses from this folder's partial-parse state, seeded first."""
    from pipelines import dbt_worker
    from pipelines.dbt_parse_state import seed_partial_parse

    off = dbt_worker.disabled_reason()
    if off is not None:
        return None, off
    target = build_area / "dbt_target"
    seed_partial_parse(target)
    worker = dbt_worker.adopt(build_area / "partnership.duckdb", target, settings.DBT_PROJECT_DIR, background)
    cleanup.callback(worker.stop)
    previous = os.environ.get(dbt_worker.SOCKET_ENV)
    os.environ[dbt_worker.SOCKET_ENV] = worker.name
    cleanup.callback(_restore_env, dbt_worker.SOCKET_ENV, previous)
    return worker, None


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def project_instance():
    """The project's Dagster instance: `DAGSTER_HOME` (the Makefile sets dagster_home/), else dagster_home/ itself,
    so every `hpw build` is a run the UI (`make dev`) shows with its materialisations and checks."""
    from dagster import DagsterInstance

    if not os.environ.get("DAGSTER_HOME"):  # set for this process: the instance's event log lives under it
        os.environ["DAGSTER_HOME"] = str(settings.PROJECT_ROOT / "dagster_home")
    with frozen_imports():  # the instance imports its storage (SQLAlchemy, alembic)
        return DagsterInstance.get()


def _empty_build_area(build_area: Path) -> threading.Thread:
    """An empty `build_area`. The previous one (~400 files of dbt's artefacts) and any aside a killed process left
    are renamed aside and deleted by a background thread, returned for the caller to join when the build is done:
    unlinking them took up to half a second of a refresh on a busy disk."""
    asides = list(build_area.parent.glob(f"{build_area.name}.old-*"))
    if build_area.exists():
        aside = build_area.with_name(f"{build_area.name}.old-{uuid.uuid4().hex[:12]}")
        try:
            os.rename(build_area, aside)
            asides.append(aside)
        except OSError:
            shutil.rmtree(build_area, ignore_errors=True)
    build_area.mkdir(parents=True)

    def delete_asides() -> None:
        for old in asides:
            shutil.rmtree(old, ignore_errors=True)

    cleaner = threading.Thread(target=delete_asides, daemon=True)
    cleaner.start()
    return cleaner


def _seed_and_hold(published: Path, build_database: Path, changed: list[str]) -> None:
    """A refresh's build database (pipelines/refresh.py `seed`), then held open for the raw steps, which land into
    it (pipelines/warehouse.py `hold_open`): its catalog is loaded here, in the seeding thread, while Dagster
    imports, instead of in the raw step."""
    from pipelines import warehouse

    refresh.seed(published, build_database, changed)
    warehouse.hold_open(build_database)


def _release_build_database(build_database: Path) -> None:
    """Closes the build database if this process still holds it (a run that failed, or never started)."""
    warehouse = sys.modules.get("pipelines.warehouse")
    if warehouse is not None:
        warehouse.release(build_database)


def _fail_dead_runs(instance, root: Path) -> None:
    """Runs of earlier `hpw build`s of this warehouse still marked in progress were killed: this process holds the
    warehouse's build lock. Marked failed, they give back their `duckdb_write` pool slot, which would otherwise
    hold every later run of the instance waiting for it."""
    from dagster import DagsterRunStatus, RunsFilter

    from pipelines.assets import DUCKDB_POOL

    statuses = [DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED]
    for run in instance.get_runs(filters=RunsFilter(statuses=statuses, tags={"hpw/warehouse": str(root)})):
        instance.report_run_failed(run, "the hpw build running it ended without finishing (killed)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    # A run interrupted between claiming the slot and its step's end can be marked finished and still hold it; a
    # finished (or deleted) run never gives it back by itself, and every later run would wait for it.
    pool = instance.event_log_storage.get_concurrency_info(DUCKDB_POOL)
    holders = {slot.run_id for slot in pool.claimed_slots} | {step.run_id for step in pool.pending_steps}
    for run_id in holders:
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def run_build(
    *,
    force: bool = False,
    file_overrides: dict[str, str] | None = None,
    warehouse_dir: Path | None = None,
    log_level: str = "INFO",
    echo=print,
    on_event=None,
    verbose: bool = False,
    accept_changes: dict[str, str] | None = None,
) -> BuildResult:
    """Build and publish. `verbose`: Dagster's and dbt's output on the screen too (always in the log file).
    `accept_changes`: raw table -> reason, letting those tables through the anomaly gate (recorded)."""
    started = time.perf_counter()
    timeline.mark("run_build")
    build_started = datetime.now(UTC).isoformat(timespec="seconds")  # ingestion-log entries of this build
    root = (warehouse_dir or settings.warehouse_dir()).resolve()
    preflight(root, file_overrides)
    with (
        build_lock(root),
        refresh.published_held_open(root / "partnership.duckdb"),
        prefetch.scope(),  # a parse worker started below ends with the build
        ExitStack() as cleanup,  # cleanup: the warm dbt process, whatever happens
    ):
        if not force and not file_overrides and not accept_changes and fingerprint.is_up_to_date(root):
            return BuildResult(success=True, up_to_date=True, seconds=time.perf_counter() - started)
        timeline.mark("preflight, lock, published file held, fingerprint")
        build_area = root / ".build"
        with manifest_parse(build_area / "partnership.duckdb") as parsing:
            if parsing:
                with frozen_imports():
                    for module in IMPORTS_BESIDE_PARSE:
                        importlib.import_module(module)
        plan = refresh.plan(root, force=force, file_overrides=file_overrides, accept_changes=accept_changes)
        timeline.mark(f"planned: {plan.line()[:60]}")
        if not plan.cold and not plan.changed:  # same inputs and code (a file touched, the same --file again)
            if not file_overrides:  # the fingerprint knows no --file: it may vouch only for a build without one
                fingerprint.record(root)
            return BuildResult(success=True, up_to_date=True, seconds=time.perf_counter() - started)
        cleaner = _empty_build_area(build_area)  # leftovers of a killed build are never reused
        accepted = ";".join(f"{t}={r}" for t, r in (accept_changes or {}).items())
        # the longest parses start now on the second core, under the settings the run will have
        prefetch.start(
            build_area,
            root / "partnership.duckdb",
            plan.changed,
            file_overrides,
            {"HPW_ACCEPT_CHANGE": accepted} if accepted else None,
        )
        # The worker parses while Dagster loads: in the background of a cold build's long raw phase, beside a
        # refresh's short one (which reaches dbt about when the worker is ready)
        dbt_worker, dbt_worker_off = _start_dbt_worker(build_area, cleanup, background=plan.cold)
        timeline.mark("build area emptied, parse worker started, dbt worker told to parse")
        before = _published_state(root)

        echo("building the warehouse ...")
        echo(f"  {plan.line()}")
        import contextlib
        import json
        import warnings
        from concurrent.futures import ThreadPoolExecutor

        # A refresh's build database (a copy of the published file minus the re-landed raw tables) is made while
        # Dagster imports: the file copy and DuckDB's work release the GIL, the imports hold it.
        seeding = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hpw-seed")
        cleanup.callback(seeding.shutdown)
        seeded = None
        if not plan.cold:
            published_db = root / "partnership.duckdb"
            seeded = seeding.submit(_seed_and_hold, published_db, build_area / "partnership.duckdb", plan.changed)
            cleanup.callback(_release_build_database, build_area / "partnership.duckdb")
        with frozen_imports():
            from dagster import BetaWarning

            warnings.filterwarnings("ignore", category=BetaWarning)

            from pipelines import run_events, warehouse
            from pipelines.definitions import defs
            from pipelines.schedules import BUILD_JOB_NAME
            from pipelines.sources import RAW_TABLES
        timeline.mark("Dagster and the definitions imported")

        if plan.cold:
            warehouse.create_database(build_area / "partnership.duckdb")  # in the storage format DuckDB 1.x reads
            selection = None
        else:  # the published database minus what is re-landed; the rest carries over
            assert seeded is not None
            seeded.result()  # raises what the seed raised
            selection = refresh.selection(plan.changed)
        timeline.mark("build database created or seeded")
        job = defs.resolve_job_def(BUILD_JOB_NAME)
        # An override names a raw table or a shared file key; it applies to every raw table cut from that file.
        ops = {
            f"raw__{table.name}": {"config": {"path": path}}
            for key, path in (file_overrides or {}).items()
            for table in RAW_TABLES
            if key in (table.name, table.file_key) and (plan.cold or table.name in plan.changed)
        }
        ops["published__partnership_warehouse"] = {"config": {"input_digests": json.dumps(plan.inputs, sort_keys=True)}}
        run_config = {
            "ops": ops,
            "resources": {"warehouse_db": {"config": {"warehouse_dir": str(root)}}},
            "loggers": {
                "console": {"config": {"log_level": log_level if verbose else "CRITICAL"}},
                "hpw_run_events": {},  # the progress lines' events (pipelines/run_events.py)
            },
        }
        log_file = _log_path(root)
        raw_steps = len(RAW_TABLES) + 1 if plan.cold else len(plan.changed)
        stages = StageProgress(echo, raw_steps=raw_steps)
        screen = sys.stdout

        def progress(event) -> None:
            step_event = getattr(event, "event_type_value", "").startswith(("STEP_START", "STEP_SUCCESS", "STEP_FA"))
            if step_event:
                timeline.mark(f"{event.event_type_value.lower()} {event.step_key}")
            with contextlib.redirect_stdout(screen):  # progress goes to the screen, not the log file
                stages(event)
                if on_event is not None:
                    on_event(event)

        previous_accept = os.environ.get("HPW_ACCEPT_CHANGE")
        if accepted:
            os.environ["HPW_ACCEPT_CHANGE"] = accepted
        run_id = str(uuid.uuid4())  # known before the run starts, so the progress listener follows only this run
        try:
            with (
                project_instance() as instance,
                log_file.open("w", encoding="utf-8") as log,
                contextlib.ExitStack() as quiet,
            ):
                log.write(f"hpw build {build_started} warehouse {root} run {run_id}\n{plan.line()}\n")
                log.flush()
                timeline.mark("project instance")
                if not verbose:  # dbt's and Dagster's own lines go to the log file only
                    quiet.enter_context(contextlib.redirect_stdout(log))
                    quiet.enter_context(contextlib.redirect_stderr(log))
                _fail_dead_runs(instance, root)
                timeline.mark("dead runs checked")
                with run_events.listen(run_id, progress):
                    result = job.execute_in_process(
                        run_config=run_config,
                        instance=instance,
                        asset_selection=selection,
                        run_id=run_id,
                        tags={
                            "hpw/trigger": "hpw build",
                            refresh.BUILD_KIND_TAG: "cold" if plan.cold else "refresh",
                            refresh.CODE_TESTED_TAG: "true" if plan.code_tested else "false",
                            "hpw/warehouse": str(root),
                        },
                        raise_on_error=False,
                    )
                quiet.close()
                timeline.mark("run finished")
                log.write(f"{prefetch.stop() or 'prefetch: no worker'}\n")
                _write_event_log(log, instance, result.run_id)
                log.write(
                    f"\n{dbt_worker.outcome() if dbt_worker else 'dbt: no warm dbt process: ' + dbt_worker_off}\n"
                )
                timeline.mark("event log written")
                worker_marks = dbt_worker.marks() if dbt_worker else []
                log.write("\n==== timeline (seconds since the build process started) ====\n")
                log.write("".join(f"{line}\n" for line in timeline.lines(worker_marks)))
                timeline.reset()
                dbt_log = build_area / "dbt_target" / "dbt.log"
                if dbt_log.is_file():
                    log.write("\n==== dbt.log ====\n" + dbt_log.read_text(encoding="utf-8", errors="replace"))
        finally:
            gc.unfreeze()  # see frozen_imports
            cleaner.join()
            if accepted:
                if previous_accept is None:
                    os.environ.pop("HPW_ACCEPT_CHANGE", None)
                else:
                    os.environ["HPW_ACCEPT_CHANGE"] = previous_accept
        outcome = BuildResult(
            success=result.success,
            seconds=time.perf_counter() - started,
            assets=_summaries(result),
            warnings=_drift_warnings(result),
            log_file=log_file,
            stages=stages.lines,
        )
        outcome.published_changed = _published_state(root) != before
        if file_overrides:  # the fingerprint knows no --file: the next build compares the inputs themselves
            (root / fingerprint.FILE_NAME).unlink(missing_ok=True)
        if result.success:
            _count_quarantine(outcome, root / "partnership.duckdb")
            outcome.published = _publish_message(result)
        else:
            outcome.error = one_line(_first_failure(result), 600)
            explained = []
            for meta in _raw_failures(result):  # explained by the raw assets themselves (pipelines/diagnosis.py)
                explained.append(meta["explained"])
                outcome.failures[meta["raw_table"]] = meta["explained"]
                if meta.get("rejected_copy"):
                    outcome.rejected_files.append(Path(meta["rejected_copy"]))
            if len(explained) > 1 and len({t.split(": ", 1)[-1] for t in explained}) == 1:
                # one cause behind every raw table (a full disk, an unreadable log): said once
                cause = explained[0].split(": ", 1)[-1]
                explained = [f"{len(explained)} raw tables failed with the same error: {cause}"]
            if not explained and _dbt_failed(result):
                explained = explain_dbt_failure(build_area)
                for line in explained:
                    outcome.failures[line.split(" failed:")[0]] = line
            if explained:  # one physical line per cause
                outcome.error = "\n".join(" ".join(text.split()) for text in explained)
            # Drop the half-built database; keep dbt's logs (.build/dbt_target/dbt.log) for inspection.
            _release_build_database(build_area / "partnership.duckdb")
            for leftover in build_area.glob("partnership.duckdb*"):
                leftover.unlink(missing_ok=True)
        return outcome


def _metadata(entries) -> dict:
    return {k: getattr(v, "value", v) for k, v in (entries or {}).items()}


def _raw_failures(result) -> list[dict]:
    """Every failed raw asset's failure, from the metadata of its `Failure` (source, file, rows, values,
    diagnosis, the explained message, the rejected copy kept)."""
    failures = []
    for event in result.all_events:
        if not (event.is_step_failure and (event.step_key or "").startswith("raw__")):
            continue
        data = event.event_specific_data
        meta = _metadata(data.user_failure_data.metadata if data.user_failure_data else None)
        if "explained" not in meta:  # raised outside the asset's own handling (a resource, Dagster itself)
            from pipelines.sources import RAW_TABLES_BY_NAME

            name = event.step_key.removeprefix("raw__")
            table = RAW_TABLES_BY_NAME.get(name)
            error = data.error
            while error is not None and error.cause is not None:
                error = error.cause
            message = (error.message if error else event.message or "").strip()
            source = table.source if table is not None else "raw"
            meta = {"raw_table": name, "explained": f"[{source}] {name}: {one_line(message, 300)}"}
        failures.append(meta)
    return failures


def _drift_warnings(result) -> list[str]:
    """Additive schema drift the raw assets reported (materialisations and failures), each once, in run order."""
    from dagster import DagsterEventType

    warnings: list[str] = []
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            found = _metadata(event.event_specific_data.materialization.metadata).get("drift_warnings")
        elif event.is_step_failure and event.event_specific_data.user_failure_data:
            found = _metadata(event.event_specific_data.user_failure_data.metadata).get("drift_warnings")
        else:
            continue
        warnings.extend(w for w in found or [] if w not in warnings)
    return warnings


def _dbt_failed(result) -> bool:
    return any(event.is_step_failure and "dbt" in (event.step_key or "") for event in result.all_events)


def _publish_message(result) -> str | None:
    from dagster import DagsterEventType

    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            if materialization.asset_key.path[0] == "published":
                change = materialization.metadata.get("change")
                return getattr(change, "value", change)
    return None
