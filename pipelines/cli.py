"""`hpw`: the command-line face of the warehouse.

    hpw build [--force] [--file RAW_TABLE=PATH ...]   build and publish warehouse/partnership.duckdb
    hpw query "SQL" [--format table|csv|json]          query the published warehouse (read-only)
    hpw sources                                        provenance of every landed file

Errors are one line plus a hint, with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import os
import sys

# The project's own telemetry settings: nothing phones home.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")


def _fail(message: str, hint: str = "") -> int:
    print(f"error: {message}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return 1


def cmd_build(args: argparse.Namespace) -> int:
    from pipelines.build import BuildError, run_build
    from pipelines.sources import RAW_TABLES_BY_NAME

    overrides = {}
    for item in args.file or []:
        name, _, path = item.partition("=")
        file_keys = {t.file_key for t in RAW_TABLES_BY_NAME.values() if t.file_key}
        if (name not in RAW_TABLES_BY_NAME and name not in file_keys) or not path:
            return _fail(f"--file expects RAW_TABLE=PATH, got {item!r}", f"raw tables: {', '.join(RAW_TABLES_BY_NAME)}")
        overrides[name] = path
    try:
        result = run_build(force=args.force, file_overrides=overrides, log_level="WARNING" if args.quiet else "INFO")
    except BuildError as err:
        return _fail(str(err), err.hint)
    if result.up_to_date:
        print(f"warehouse is up to date (inputs, code and settings unchanged) — checked in {result.seconds:.2f} s; use --force to rebuild")
        return 0
    print()
    print(result.summary_table())
    if not result.success:
        return _fail(result.error or "the build failed", "the published warehouse was left unchanged")
    return 0


def _published():
    from pipelines import settings

    path = settings.published_db_path()
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def cmd_query(args: argparse.Namespace) -> int:
    import duckdb

    try:
        path = _published()
    except FileNotFoundError as err:
        return _fail(f"no published warehouse at {err}", "run `make run` (or `hpw build`) first")
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            relation = con.sql(args.sql)
            if relation is None:
                return 0
            frame = relation.pl()
    except duckdb.Error as err:
        return _fail(str(err).splitlines()[0], "tables live in schemas marts, staging, raw and meta (try: hpw query \"show all tables\")")
    if args.format == "csv":
        frame.write_csv(sys.stdout)
    elif args.format == "json":
        sys.stdout.write(frame.write_json())
        sys.stdout.write("\n")
    else:
        import polars as pl

        with pl.Config(tbl_rows=args.max_rows, tbl_cols=-1, fmt_str_lengths=60, tbl_width_chars=200):
            print(frame)
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    args.sql = (
        "select raw_table, file_name, vintage, left(sha256, 12) as sha256_12, bytes, rows_in, rows_landed, "
        "rows_aggregate, rows_outside_universe, loaded_at from meta.loads order by raw_table"
    )
    return cmd_query(args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hpw", description="Hemisphere Partnership Warehouse")
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="build the warehouse and publish it atomically")
    build.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    build.add_argument("--file", action="append", metavar="RAW_TABLE=PATH", help="read this file instead of the bundled snapshot")
    build.add_argument("--quiet", action="store_true", help="only warnings, errors and the summary")
    build.set_defaults(func=cmd_build)

    query = sub.add_parser("query", help="run SQL against the published warehouse (read-only)")
    query.add_argument("sql")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")
    query.add_argument("--max-rows", type=int, default=50, help="rows shown in table format")
    query.set_defaults(func=cmd_query)

    sources = sub.add_parser("sources", help="provenance of every landed file: vintage, sha256, rows")
    sources.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sources.add_argument("--max-rows", type=int, default=100)
    sources.set_defaults(func=cmd_sources)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
