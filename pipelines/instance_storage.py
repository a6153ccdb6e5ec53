"""The project instance's event log: Dagster's own SQLite storage, with connections kept open.

Every build is a run on the project instance (DAGSTER_HOME), and a cold build writes ~1,600 events. Dagster's
`SqliteEventLogStorage` creates an engine, opens the file, commits with a full sync and disposes of it for every
single event; on a busy 2-core machine that made the run storage a third of the build. This subclass keeps one
engine per shard (the index and the few newest runs) and commits with `synchronous=NORMAL`, which in the WAL mode
Dagster already sets keeps the database consistent and loses at most the last events of a power cut, never corrupts
it. Everything else (schema, queries, watchers for the UI) is Dagster's, so the webserver reads the same files.

What each stored event costs is cut further, with the same rows written:
- an event's writes (its row in the run's shard, its mirror in the index, the asset-key and asset-check rows) are
  one transaction per shard instead of up to three: connections are re-entrant per shard and thread;
- `store_event_batch` stores a batch (Dagster sends the run's planned events as one when
  `DAGSTER_EVENT_BATCH_SIZE` is set: pipelines/definitions.py) in one transaction per shard;
- Dagster asks whether a table exists before every asset-check and asset-tag write, each time with a new engine
  and connection; tables are never dropped (a wipe deletes rows), so a table found once is remembered, as are the
  asset-key table's columns found (reflected through SQLAlchemy's inspector at every asset-record read: twice per
  asset check evaluated) and a completed secondary-index migration (a row Dagster never deletes, asked twice per
  asset-record read).
- Every run has a shard of its own, a new SQLite file that Dagster creates table by table through SQLAlchemy's DDL
  and stamps with alembic (~0.2 s of every build's start): the first shard so made is kept as a template (one per
  Dagster and SQLAlchemy version) and later shards start as a copy of it; Dagster's own check of the shard's
  alembic revision still runs on the copy.

Named in dagster_home/dagster.yaml; with no `base_dir` it uses `$DAGSTER_HOME/history/runs`, where Dagster's
default storage keeps them.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import sqlalchemy as db
from dagster._config import Field, StringSource
from dagster._core.events import ASSET_CHECK_EVENTS, ASSET_EVENTS, EVENT_TYPE_TO_PIPELINE_RUN_STATUS
from dagster._core.events.log import EventLogEntry
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

# the event types Dagster also writes to the index shard (SqliteEventLogStorage.store_event)
MIRRORED_IN_INDEX = frozenset(ASSET_EVENTS | ASSET_CHECK_EVENTS | EVENT_TYPE_TO_PIPELINE_RUN_STATUS.keys())
SHARD_TEMPLATE_PREFIX = ".run-shard-template-"  # not *.db: Dagster lists run shards by that suffix
OPEN_RUN_SHARDS = 4  # the running build's shard and a few the UI is reading; older ones are closed
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def _quick_commits(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` that reuses one engine (and its pooled connection) per shard."""

    def __init__(self, base_dir: str | None = None, inst_data: ConfigurableClassData | None = None):
        if base_dir is None:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise ValueError("KeptOpenSqliteEventLogStorage needs DAGSTER_HOME set, or a base_dir in its config")
            base_dir = os.path.join(home, "history", "runs")
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._tables_found: set[str] = set()
        self._asset_key_cols_found: set[str] = set()
        self._secondary_indexes_found: set[str] = set()
        self._template: str | None = None
        self._open = threading.local()  # shard -> the connection this thread has in a transaction on it
        super().__init__(base_dir, inst_data)
        # re-entered: one event's writes hold the index and its run shard together
        self._db_lock = threading.RLock()  # type: ignore[assignment]

    @classmethod
    def config_type(cls) -> Mapping[str, Any]:
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Mapping[str, Any]):
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is not None:
            self._engines.move_to_end(shard)
            return engine
        engine = db.create_engine(
            create_db_conn_string(self._base_dir, shard),
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        )
        db.event.listen(engine, "connect", _quick_commits)
        if shard not in self._initialized_dbs:
            template = self._shard_template()
            fresh = shard != INDEX_SHARD_NAME and not os.path.exists(self.path_for_shard(shard))
            if fresh and os.path.exists(template):
                self._copy_new_shard(template, shard)
            self._initdb(engine)  # on a copy: finds the stamped revision and creates nothing
            if fresh and not os.path.exists(template):
                self._keep_as_template(engine, template)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != "index"]
        for name in runs[: max(0, len(runs) - OPEN_RUN_SHARDS)]:
            self._engines.pop(name).dispose()
        return engine

    def _shard_template(self) -> str:
        if self._template is None:
            from importlib.metadata import version

            key = f"dagster-{version('dagster')}-sqlalchemy-{version('sqlalchemy')}"
            self._template = os.path.join(self._base_dir, f"{SHARD_TEMPLATE_PREFIX}{key}.sqlite")
        return self._template

    def _copy_new_shard(self, template: str, shard: str) -> None:
        """The shard as a copy of the template, unless its file appeared meanwhile (then Dagster's init runs)."""
        scratch = f"{template}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            shutil.copyfile(template, scratch)
            os.link(scratch, self.path_for_shard(shard))  # fails if the shard exists: never overwrites a run's events
        except OSError:
            pass
        finally:
            try:
                os.unlink(scratch)
            except OSError:
                pass

    def _keep_as_template(self, engine: Engine, template: str) -> None:
        """A shard Dagster just created, empty, copied as the template (its WAL checkpointed into the file first)."""
        scratch = f"{template}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with engine.connect() as conn:
                if conn.exec_driver_sql("select count(*) from event_logs").scalar():
                    return  # not empty after all: never a template
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                shutil.copyfile(engine.url.database or "", scratch)
            os.replace(scratch, template)
        except (OSError, db.exc.SQLAlchemyError):  # a cache: without it the next shard is made the slow way
            try:
                os.unlink(scratch)
            except OSError:
                pass

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            conns = self._open.__dict__.setdefault("conns", {})
            if shard in conns:  # inside a transaction on this shard already: part of it
                yield conns[shard]
                return
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                conns[shard] = conn
                try:
                    yield conn
                finally:
                    del conns[shard]

    def store_event(self, event: EventLogEntry) -> None:
        if event.dagster_event_type not in MIRRORED_IN_INDEX:  # the run's shard only: one transaction already
            super().store_event(event)
            return
        with self._connect(INDEX_SHARD_NAME), self._connect(event.run_id):
            super().store_event(event)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        with ExitStack() as shards:
            shards.enter_context(self._connect(INDEX_SHARD_NAME))
            for run_id in dict.fromkeys(event.run_id for event in events):
                shards.enter_context(self._connect(run_id))
            for event in events:
                super().store_event(event)

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables_found and super().has_table(table_name):
            self._tables_found.add(table_name)
        return table_name in self._tables_found

    def has_asset_key_col(self, column_name: str) -> bool:
        if column_name in self._asset_key_cols_found:
            return True
        return super().has_asset_key_col(column_name)

    def _has_asset_key_col_on_connection(self, conn: Connection, column_name: str) -> bool:
        if column_name not in self._asset_key_cols_found:
            if not super()._has_asset_key_col_on_connection(conn, column_name):
                return False
            self._asset_key_cols_found.add(column_name)
        return True

    def has_secondary_index(self, name: str) -> bool:
        if name not in self._secondary_indexes_found and super().has_secondary_index(name):
            self._secondary_indexes_found.add(name)
        return name in self._secondary_indexes_found

    def delete_events(self, run_id: str) -> None:
        with self._db_lock:
            engine = self._engines.pop(run_id, None)
            if engine is not None:
                engine.dispose()
        super().delete_events(run_id)

    def wipe(self) -> None:
        self.dispose()
        super().wipe()

    def dispose(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()
        super().dispose()
