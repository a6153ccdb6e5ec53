"""The project instance's event log: Dagster's own SQLite storage, with connections kept open.

Every build is a run on the project instance (DAGSTER_HOME), and a cold build writes ~1,600 events. Dagster's
`SqliteEventLogStorage` creates an engine, opens the file, commits with a full sync and disposes of it for every
single event; on a busy 2-core machine that made the run storage a third of the build. This subclass keeps one
engine per shard (the index and the few newest runs) and commits with `synchronous=NORMAL`, which in the WAL mode
Dagster already sets keeps the database consistent and loses at most the last events of a power cut, never corrupts
it. Everything else (schema, queries, watchers for the UI) is Dagster's, so the webserver reads the same files.

Named in dagster_home/dagster.yaml; with no `base_dir` it uses `$DAGSTER_HOME/history/runs`, where Dagster's
default storage keeps them.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster._config import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import create_db_conn_string
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine

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
        super().__init__(base_dir, inst_data)

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
            self._initdb(engine)
            self._initialized_dbs.add(shard)
        self._engines[shard] = engine
        runs = [name for name in self._engines if name != "index"]
        for name in runs[: max(0, len(runs) - OPEN_RUN_SHARDS)]:
            self._engines.pop(name).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

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
