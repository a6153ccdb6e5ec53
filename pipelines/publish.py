"""The last asset of a build: publish the finished build database, its exports and data package, in one step.

Publishing is all-or-nothing and happens only for a complete build of this very run:

1. Refused unless this run materialised every raw table and every mart, no check of the run failed, and the
   build database holds every mart the models define. Materialising `published/partnership_warehouse` alone
   (one click in the UI, `dagster asset materialize --select published/partnership_warehouse`) therefore
   publishes nothing and deletes nothing.
2. Everything that can fail is produced inside the build folder first: views over landed Parquet become tables
   (the file is self-contained), `meta.build` is written, the file is checkpointed and then re-opened with no
   file access to read every object (DuckDB 1.0 storage format checked), and the Parquet exports and
   datapackage.json are written to `.build/exports/`.
3. The swap is the final act (pipelines/warehouse.py `swap_in`): the exports folder is exchanged atomically, then
   the database is renamed over the published one. It is refused while another process holds the published file
   read-write (its later writes would leave a WAL beside the new file that no reader could replay), or when this
   process no longer owns the build lock.
"""

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dagster import AssetExecutionContext, AssetKey, Config, Failure, MaterializeResult, MetadataValue, asset

from pipelines import exports, fingerprint, locking, refresh, timeline, warehouse
from pipelines.assets import RAW_ASSETS
from pipelines.dbt import warehouse_dbt_assets
from pipelines.errors import UserError
from pipelines.resources import WarehouseResource

MART_KEYS = sorted((k for k in warehouse_dbt_assets.keys if k.path[0] == "marts"), key=lambda k: k.to_user_string())
RAW_KEYS = sorted((a.key for a in RAW_ASSETS), key=lambda k: k.to_user_string())
PUBLISHED_KEY = AssetKey(["published", "partnership_warehouse"])


class PublishRefused(UserError):
    """The build cannot be published (incomplete, a writer on the published file, the lock lost)."""


@dataclass
class Published:
    marts: dict[str, int]  # mart -> rows
    previous_marts: set[str] | None  # None: there was no published file
    exports: int
    self_contained: list[str] = field(default_factory=list)

    def message(self, database: Path) -> str:
        """Exactly what changed."""
        if self.previous_marts is None:
            what = f"created {database.name} ({len(self.marts)} marts)"
        else:
            added = sorted(self.marts.keys() - self.previous_marts)
            removed = sorted(self.previous_marts - self.marts.keys())
            what = f"replaced {database.name} ({len(self.marts)} marts"
            what += f"; added {', '.join(added)}" if added else ""
            what += f"; removed {', '.join(removed)}" if removed else ""
            what += ")"
        return (
            f"published: {what}, {sum(self.marts.values()):,} mart rows, DuckDB 1.0 storage format; "
            f"exports/ replaced ({self.exports} Parquet files + {exports.DATAPACKAGE})"
        )


def check_run_is_complete(
    instance, run_id: str, build_db: Path | None = None, published_db: Path | None = None
) -> None:
    """This run materialised every raw table and mart and no check failed, or PublishRefused.

    A refresh (pipelines/refresh.py) is a run of a subset: every asset it selected must be materialised with no
    failed check, the subset must hold everything downstream of each raw table it re-landed, and what it did not
    select must come from the published build itself (the build database is a copy of the published file, whose
    checks all passed when it was published)."""
    from dagster import DagsterEventType

    records = instance.all_logs(
        run_id, of_type={DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}
    )
    built, failed = set(), []
    for record in records:
        event = record.dagster_event
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            built.add(event.event_specific_data.materialization.asset_key)
        elif not event.event_specific_data.passed:
            evaluation = event.event_specific_data
            # A WARN check reports findings the build keeps (out-of-region entities, plausibility flags): not a failure.
            if getattr(evaluation.severity, "value", evaluation.severity) == "WARN":
                continue
            failed.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    required = [*RAW_KEYS, *MART_KEYS]
    run = instance.get_run_by_id(run_id)
    selected = run.asset_selection if run is not None else None
    carried = ""
    if selected is not None and build_db is not None and published_db is not None:
        carried = _carried_over(selected, build_db, published_db)
        if not carried:
            required = [k for k in required if k in selected]
    missing = [k.to_user_string() for k in required if k not in built]
    if missing:
        raise PublishRefused(
            f"publish refused: this run did not build {len(missing)} of {len(required)} raw tables "
            f"and marts ({', '.join(missing[:4])}{', ...' if len(missing) > 4 else ''}){carried}; "
            "nothing was published or deleted",
            "publish runs only as part of a whole build: `hpw build`, or the `build_warehouse` job in the UI",
        )
    if failed:
        raise PublishRefused(
            f"publish refused: {len(failed)} check(s) failed in this run ({', '.join(failed[:4])})",
            "fix the failing checks and build again; the published warehouse was left unchanged",
        )


def _carried_over(selected, build_db: Path, published_db: Path) -> str:
    """Empty when the unselected raw tables and marts can be carried over from the published build, else why not."""
    import duckdb
    from dagster import AssetSelection

    from pipelines.definitions import BUILD_SELECTION, defs

    raw = [k for k in selected if k in RAW_KEYS]
    if not raw:
        return " (a subset run re-lands no raw table)"
    downstream = (AssetSelection.assets(*raw).downstream() & BUILD_SELECTION).resolve(defs.resolve_asset_graph())
    if not downstream <= set(selected):
        return " (a subset run must rebuild everything downstream of the raw tables it lands)"
    runs = []
    for path in (build_db, published_db):
        try:
            # each as its holder opened it (publish holds the build database read-write, the build the published
            # file read-only): DuckDB shares an open database only between connections of the same settings
            with duckdb.connect(str(path), read_only=path != build_db) as con:
                row = con.execute("select max(run_id) from meta.build").fetchone()
                runs.append(row[0] if row else None)
        except duckdb.Error:
            return " (no published build to carry the other assets over from)"
    if runs[0] is None or runs[0] != runs[1]:
        return " (the build database is not a copy of the published build)"
    return ""


def _previous_marts(database: Path) -> set[str] | None:
    import duckdb

    if not database.is_file():
        return None
    try:
        with duckdb.connect(str(database), read_only=True) as con:
            return {
                r[0]
                for r in con.execute(
                    "select table_name from information_schema.tables where table_schema = 'marts'"
                ).fetchall()
            }
    except duckdb.Error:
        return set()


def publish_build(
    root: Path,
    build_db: Path,
    run_id: str,
    expected_marts: set[str],
    log=print,
    input_digests: str | None = None,
    carried_marts: set[str] | None = None,
) -> Published:
    """Stage, check and swap in the build of `root` (see the module docstring). Raises PublishRefused.
    `input_digests`: the inputs this build read (pipelines/refresh.py), recorded so the next build can refresh.
    `carried_marts`: marts a refresh carried over from the published build unchanged; their published exports are
    kept (pipelines/exports.py `Reuse`) instead of written again."""
    published_db, exports_dir = root / warehouse.PUBLISHED_NAME, root / "exports"
    previous = _previous_marts(published_db)  # read while `hpw build` still holds the file open (no second load)
    refresh.release_published(published_db)  # before the swap, or a later connection would get the old file
    if not build_db.is_file():
        raise PublishRefused("publish refused: there is no build database of this run", "run the whole build")
    # Checked before staging, and again right before the swap.
    _check_swappable(root, published_db)
    value, code = fingerprint.current(), fingerprint.code()
    with warehouse.connect(build_db) as con:
        present = {
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_type = 'BASE TABLE'"
            ).fetchall()
        }
        missing = sorted(expected_marts - present)
        if missing:
            raise PublishRefused(
                f"publish refused: the build database lacks {len(missing)} of {len(expected_marts)} marts "
                f"({', '.join(missing[:4])})",
                "run the whole build; the published warehouse was left unchanged",
            )
        materialised = warehouse.make_self_contained(con)
        # read before meta.build is replaced: the published build's stamp, which its datapackage.json carries
        reuse = exports.Reuse(exports_dir, exports.created_stamp(con), carried_marts) if carried_marts else None
        con.execute("create schema if not exists meta")
        con.execute(
            "create or replace table meta.build as select current_timestamp as published_at, "
            "? as input_fingerprint, ? as run_id, ? as storage_version, ? as code_fingerprint, "
            "? as input_digests",
            [value, run_id, warehouse.STORAGE_VERSION, code, input_digests or None],
        )
        con.execute("checkpoint")
    warehouse.release(build_db)  # the read-back opens it with settings of its own
    timeline.mark("publish: build database self-contained, stamped, checkpointed")
    wal = build_db.with_name(build_db.name + ".wal")
    if wal.exists():  # a checkpointed database has nothing left in its WAL
        wal.unlink()
    try:
        rows = warehouse.check_published_file(build_db, expected_marts)
    except Exception as err:  # noqa: BLE001 - any failure to read it back means it must not be published
        raise PublishRefused(
            f"publish refused: the finished build does not read back: {err}",
            "the published warehouse was left unchanged; see the build log",
        ) from None
    timeline.mark("publish: read back")
    staged_exports = build_db.parent / "exports"
    shutil.rmtree(staged_exports, ignore_errors=True)
    written = exports.export(build_db, staged_exports, reuse=reuse)
    if len(written) != len(rows):
        raise PublishRefused(
            f"publish refused: {len(written)} Parquet exports for {len(rows)} marts",
            "the published warehouse was left unchanged",
        )
    timeline.mark("publish: exports staged")
    _check_swappable(root, published_db)
    warehouse.swap_in(build_db, staged_exports, published_db, exports_dir)
    fingerprint.record(root, value)
    outcome = Published(rows, previous, len(written), materialised)
    log(outcome.message(published_db))
    return outcome


def _check_swappable(root: Path, published_db: Path) -> None:
    if locking.held_here(root) and not locking.still_held(root):
        raise PublishRefused(
            f"publish refused: the warehouse folder {root} was moved or replaced during the build",
            "run the build again",
        )
    pid = warehouse.writer_pid(published_db)
    if pid is not None:
        raise PublishRefused(
            f"publish refused: {published_db} is open read-write by process {pid}; swapping it now would leave "
            "that connection's WAL beside the new file",
            "close that connection (analysts: open it read-only, e.g. duckdb -readonly, read_only=True) "
            "and build again",
        )


class PublishConfig(Config):
    input_digests: str | None = None
    """JSON raw table -> input digest of what this build read (`hpw build` sets it; pipelines/refresh.py)."""


@asset(
    key=PUBLISHED_KEY,
    group_name="published",
    deps=MART_KEYS,
    kinds={"duckdb", "parquet"},
    description="warehouse/partnership.duckdb (self-contained, DuckDB 1.0 storage format, for analysts), "
    "warehouse/exports/*.parquet and datapackage.json. Publishes only a complete build of the same run.",
)
def published_warehouse(
    context: AssetExecutionContext, config: PublishConfig, warehouse_db: WarehouseResource
) -> MaterializeResult:
    started = time.perf_counter()
    warehouse.release(warehouse_db.build_database)  # the raw assets' held connection (pipelines/warehouse.py)
    try:
        return _publish(context, config, warehouse_db, started)
    finally:
        warehouse.release(warehouse_db.build_database)


def _publish(
    context: AssetExecutionContext, config: PublishConfig, warehouse_db: WarehouseResource, started: float
) -> MaterializeResult:
    if warehouse_db.build_database.is_file():
        # its checks and its stamp share one open database (the catalog loaded once), synced: publishing's writes
        # must reach the disk
        warehouse.hold_open(warehouse_db.build_database, synced=True)
    try:
        check_run_is_complete(
            context.instance, context.run.run_id, warehouse_db.build_database, warehouse_db.published_database
        )
        # A refresh's unselected marts come from the published build unchanged (check_run_is_complete vouched).
        selected = context.run.asset_selection
        carried = {k.path[-1] for k in MART_KEYS if k not in selected} if selected is not None else None
        outcome = publish_build(
            warehouse_db.root,
            warehouse_db.build_database,
            context.run.run_id,
            {k.path[-1] for k in MART_KEYS},
            log=context.log.info,
            input_digests=config.input_digests,
            carried_marts=carried,
        )
    except PublishRefused as err:
        raise Failure(description=f"{err} (hint: {err.hint})" if err.hint else str(err)) from None
    return MaterializeResult(
        metadata={
            "published": str(warehouse_db.published_database.name),
            "marts": MetadataValue.int(len(outcome.marts)),
            "exports": MetadataValue.int(outcome.exports),
            "change": outcome.message(warehouse_db.published_database),
            "seconds": MetadataValue.float(round(time.perf_counter() - started, 3)),
        }
    )
