"""One large-file ingest, run in its own process so the parent can read its peak RSS (bench/run.py).

    python -m bench.ingest project FILE DB   # the project's path: sha256 + read + contract + crosswalk + Parquet
    landing + raw and staging views python -m bench.ingest duckdb  FILE DB   # the reference: plain DuckDB read_csv of
    the same file into a table

Prints one JSON line: {"mode", "rows", "seconds"} (seconds of the ingest itself, after imports; the parent
measures the wall time and peak RSS of the whole process).
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
STAGING_MODEL = PROJECT_ROOT / "models" / "staging" / "stg_us_foreign_aid_activity.sql"


def fresh_database(db: Path) -> None:
    """An empty database and no landed Parquet: every run ingests the whole file (the project would otherwise
    reuse the Parquet of an unchanged file)."""
    import shutil

    from pipelines.warehouse import raw_parquet_dir

    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    shutil.rmtree(raw_parquet_dir(db), ignore_errors=True)


def project_ingest(path: Path, db: Path) -> int:
    from pipelines.sources.base import SourceFile
    from pipelines.sources.us_foreign_aid import ACTIVITY
    from pipelines.warehouse import connect

    source_file = SourceFile.inspect(path, f"benchmark file {path.name}", bundled=False)  # sha256 is part of the ingest
    counts = ACTIVITY.land(db, source_file)
    staging_sql = re.sub(
        r"\{\{\s*source\('raw',\s*'us_foreign_aid_activity'\)\s*\}\}",
        "raw.us_foreign_aid_activity",
        STAGING_MODEL.read_text(),
    )
    with connect(db) as con:
        con.execute("create schema if not exists staging")
        con.execute(f"create or replace view staging.stg_us_foreign_aid_activity as {staging_sql}")
        staged = con.execute("select count(*) from staging.stg_us_foreign_aid_activity").fetchall()[0][0]
    if staged != counts["rows_landed"]:
        raise SystemExit(f"staging sees {staged} rows, {counts['rows_landed']} landed")
    return staged


def duckdb_ingest(path: Path, db: Path) -> int:
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute(f"create table t as select * from read_csv('{path}')")
        return con.execute("select count(*) from t").fetchall()[0][0]


def main(argv: list[str]) -> int:
    mode, path, db = argv[0], Path(argv[1]).resolve(), Path(argv[2]).resolve()
    fresh_database(db)
    if mode == "project":  # imports are process start, the same for any file size: not part of the ingest figure
        import pipelines.sources.us_foreign_aid  # noqa: F401
        import pipelines.warehouse  # noqa: F401
    started = time.perf_counter()
    rows = {"project": project_ingest, "duckdb": duckdb_ingest}[mode](path, db)
    print(json.dumps({"mode": mode, "rows": rows, "seconds": time.perf_counter() - started}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
