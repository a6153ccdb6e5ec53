"""`hpw`: the command-line face of the warehouse.

    hpw build [--force] [--file RAW_TABLE=PATH ...]   build and publish warehouse/partnership.duckdb (a line per asset)
    hpw check-file RAW_TABLE=PATH                      what a build would do with a file (nothing is built)
    hpw query "SQL" [--format table|csv|json]          query the published warehouse (read-only, SELECT only)
    hpw sources [--wide]                               provenance of every landed file
    hpw brief ISO3 [--out DIR] | --all                 the self-contained HTML country brief (+ index page)
    hpw export [--dictionary]                          Parquet + CSV + datapackage.json (and docs/data_dictionary.md)
    hpw docs [--out DIR]                               the dbt docs site, offline (warehouse/docs/static_index.html)

Every command has --help. Errors are one line plus a hint, with a non-zero exit code.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from pathlib import Path

from pipelines.errors import UserError

# The project's own telemetry settings: nothing phones home.
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

# Statement types `hpw query` runs; anything else (INSERT, CREATE, ATTACH, COPY, EXPORT, SET, LOAD ...) is refused.
READ_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA"}


class CliError(UserError):
    """A usage or query error of the command line itself."""


def _fail(message: str, hint: str = "") -> int:
    print(f"error: {' '.join(str(message).split())}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)
    return 1


# ---------------------------------------------------------------------------------------------------- build


def progress_line(event) -> str | None:
    """One line for a Dagster event worth showing while a build runs.

    Shown: an asset finished, a check failed, a step failed.
    """
    from dagster import DagsterEventType

    dagster_event = getattr(event, "dagster_event", event)
    if dagster_event is None:
        return None
    kind = dagster_event.event_type
    if kind == DagsterEventType.ASSET_MATERIALIZATION:
        materialization = dagster_event.event_specific_data.materialization
        meta = {k: getattr(v, "value", v) for k, v in materialization.metadata.items()}
        details = []
        if meta.get("rows_landed") is not None:
            details.append(f"{meta['rows_landed']:,} rows")
        elif meta.get("exports") is not None:
            details.append(f"{meta['exports']} Parquet files")
        seconds = meta.get("seconds") or meta.get("Execution Duration")
        if seconds is not None:
            details.append(f"{float(seconds):.2f} s")
        return f"  done    {materialization.asset_key.to_user_string():<46} {'  '.join(details)}".rstrip()
    if kind == DagsterEventType.ASSET_CHECK_EVALUATION:
        evaluation = dagster_event.event_specific_data
        if not evaluation.passed:
            return f"  FAILED  check {evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
        return None
    if kind == DagsterEventType.STEP_FAILURE:
        return f"  FAILED  step {dagster_event.step_key}"
    return None


def progress_printer(stream=None):
    """A callback for run_build(on_event=...) that prints one line per finished asset, as it finishes."""

    def on_event(event) -> None:
        line = progress_line(event)
        if line:
            print(line, file=stream or sys.stdout, flush=True)

    return on_event


def cmd_build(args: argparse.Namespace) -> int:
    from pipelines import dbt_worker, settings, timeline

    timeline.mark("hpw build: arguments parsed")
    # The build's warm dbt process, spawned before this process imports anything heavy (pipelines/dbt_worker.py);
    # the build adopts it, and it is ended here if the build never asks for it.
    build_area = settings.warehouse_dir() / ".build"
    dbt_worker.prestart(build_area / "partnership.duckdb", build_area / "dbt_target", settings.DBT_PROJECT_DIR)
    try:
        return _build(args)
    finally:
        dbt_worker.discard_prestarted()


def _build(args: argparse.Namespace) -> int:
    # The build's modules (polars, pandera, the sources) leave ~100,000 objects that live as long as the process:
    # imported without the garbage collector scanning them over and over (as the build imports Dagster).
    enabled = gc.isenabled()
    gc.disable()
    try:
        from pipelines.build import BuildError, run_build
        from pipelines.sources import RAW_TABLES_BY_NAME
    finally:
        if enabled:
            gc.enable()

    overrides = {}
    for item in args.file or []:
        name, _, path = item.partition("=")
        file_keys = {t.file_key for t in RAW_TABLES_BY_NAME.values() if t.file_key}
        if (name not in RAW_TABLES_BY_NAME and name not in file_keys) or not path:
            return _fail(f"--file expects RAW_TABLE=PATH, got {item!r}", f"raw tables: {', '.join(RAW_TABLES_BY_NAME)}")
        overrides[name] = path
    accepted = {}
    for item in args.accept_change or []:
        name, _, reason = item.partition("=")
        if name not in RAW_TABLES_BY_NAME or not reason.strip():
            return _fail(
                f"--accept-change expects RAW_TABLE=REASON, got {item!r}",
                "say why the change is right, e.g. "
                f'--accept-change us_foreign_aid_summary="publisher dropped '
                f'FY1946-1950"; raw tables: {", ".join(RAW_TABLES_BY_NAME)}',
            )
        accepted[name] = reason.strip()
    # Default: one line per stage and the summary; --verbose: a line per asset and Dagster's and dbt's own output;
    # --quiet: errors and one summary line. The full output is always in the log file named at the end.
    echo = (lambda *_: None) if args.quiet else print
    try:
        result = run_build(
            force=args.force,
            file_overrides=overrides,
            log_level="INFO" if args.verbose else "WARNING",
            echo=echo,
            on_event=progress_printer() if args.verbose else None,
            verbose=args.verbose,
            accept_changes=accepted,
        )
    except BuildError as err:
        return _fail(str(err), err.hint)
    if result.up_to_date:
        print(
            f"warehouse is up to date (inputs, code and settings unchanged; published file checked) — "
            f"{result.seconds:.2f} s; use --force to rebuild"
        )
        return 0
    if not args.quiet:
        print()
        print(result.summary_table() if args.verbose else result.brief_summary())
    if not result.success:
        from pipelines.build import one_line

        causes = (result.error or "the build failed").splitlines()
        for cause in causes[:8] if not args.quiet else [" / ".join(causes)]:
            print(f"error: {one_line(cause)}", file=sys.stderr)
        if len(causes) > 8 and not args.quiet:
            print(f"error: ... and {len(causes) - 8} more (see the log)", file=sys.stderr)
        hint = (
            "the published warehouse and exports were left unchanged"
            if not result.published_changed
            else "the published warehouse CHANGED although the build failed: rebuild"
        )
        print(f"hint: {hint}; full log: {result.log_file}", file=sys.stderr)
        if args.quiet:
            print(result.one_line())
        return 1
    if args.quiet:
        print(result.one_line())
    else:
        print(result.published or "published")
    return 0


# ---------------------------------------------------------------------------------------------------- query


def _published() -> Path:
    from pipelines import settings

    path = settings.published_db_path()
    if not path.is_file():
        raise CliError(f"no published warehouse at {path}", "run `make run` (or `hpw build`) first")
    return path


def read_only_connection(path: Path):
    """The published file opened read-only, with no file system access (no ATTACH, COPY TO, read_csv) and a locked
    config; the one folder it may read is the warehouse's landed Parquet, which the streamed raw views read."""
    import duckdb

    from pipelines.warehouse import RAW_PARQUET_DIR

    con = duckdb.connect(str(path), read_only=True)
    # the public tables are the default schema: `show tables` lists them and `from dim_country` finds them
    con.execute("use marts")
    # (allowed_directories can only be set on an open database, before external access is switched off)
    con.execute("set allowed_directories = ?", [[str(path.resolve().parent / RAW_PARQUET_DIR) + os.sep]])
    con.execute("set enable_external_access = false")
    con.execute("set lock_configuration = true")
    return con


def check_read_only(sql: str) -> None:
    """Refuse anything but one read statement, before it reaches the database. The SQL is parsed, never pasted."""
    import duckdb

    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as err:
        raise CliError(str(err).splitlines()[0], "check the SQL syntax (DuckDB dialect)") from None
    if len(statements) != 1:
        raise CliError(f"hpw query runs exactly one statement, got {len(statements)}", "send one SELECT at a time")
    kind = statements[0].type.name
    if kind not in READ_STATEMENTS:
        raise CliError(
            f"hpw query is read-only: {kind} statements are refused",
            "query runs SELECT (also SHOW, DESCRIBE, EXPLAIN) on the published file; to change the warehouse edit the "
            "models and run `hpw build`",
        )


def run_query(sql: str):
    """Run one read statement against the published warehouse; returns a polars DataFrame."""
    import duckdb

    check_read_only(sql)
    path = _published()
    try:
        with read_only_connection(path) as con:
            relation = con.sql(sql)
            if relation is None:
                import polars as pl

                return pl.DataFrame()
            return relation.pl()
    except duckdb.PermissionException as err:
        raise CliError(
            f"hpw query is read-only: {str(err).splitlines()[0]}", "query reads the published tables only, no files"
        ) from None
    except duckdb.Error as err:
        raise CliError(
            str(err).splitlines()[0],
            'tables live in schemas marts, staging, raw and meta (try: hpw query "show all tables")',
        ) from None


# Integer columns whose values are labels, not quantities: printed without thousands separators (2022, not 2,022).
LABEL_COLUMN = re.compile(r"(year|_id$|^id$|code|rank|precision)", re.I)
NULL_TEXT = "NULL"  # unknown, never zero: shown as DuckDB's CLI shows it
MIN_TEXT_WIDTH = 8


def _float_texts(values: list) -> list[str]:
    """Floats as an analyst reads them: thousands separators, never scientific notation, the same number of
    decimals down a column (none when every value is whole, more for shares and rates below 1)."""
    known = [float(v) for v in values if v is not None and v == v and abs(float(v)) != float("inf")]
    if all(v.is_integer() for v in known):
        decimals = 0
    else:
        largest = max(abs(v) for v in known)
        decimals = 2 if largest >= 1 else 4 if largest >= 0.001 else 8
    return [
        NULL_TEXT if v is None else f"{float(v):,.{decimals}f}" if v == v and abs(float(v)) != float("inf") else str(v)
        for v in values
    ]


def _cell_texts(frame) -> list[tuple[str, list[str], bool]]:
    """Each column as (header, cell texts, right-aligned)."""
    import polars as pl

    columns = []
    for name, dtype in frame.schema.items():
        values = frame.get_column(name).to_list()
        numeric = dtype.is_numeric()
        if dtype.is_integer():
            pattern = "{}" if LABEL_COLUMN.search(name) else "{:,}"
            texts = [NULL_TEXT if v is None else pattern.format(v) for v in values]
        elif dtype.is_float() or isinstance(dtype, pl.Decimal):
            texts = _float_texts(values)
        elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            texts = [NULL_TEXT if v is None else v.strftime("%Y-%m-%d %H:%M:%S") for v in values]
        else:
            texts = [NULL_TEXT if v is None else " ".join(str(v).split()) for v in values]
        columns.append((name, texts, numeric))
    return columns


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def format_table(frame, width: int, max_rows: int) -> str:
    """The frame as an aligned text table no wider than `width`: text columns are shortened (with …) first; when
    even that does not fit, one block per row (column: value) so no number is ever cut."""
    shown = frame.head(max_rows) if max_rows >= 0 else frame
    columns = _cell_texts(shown)
    footer = f"({frame.height:,} row{'s' if frame.height != 1 else ''}"
    footer += f", first {shown.height:,} shown: --max-rows N)" if shown.height < frame.height else ")"
    if not columns:
        return footer
    widths = [max([len(name), *map(len, texts)]) for name, texts, _ in columns]
    # the narrowest each column may get: text down to MIN_TEXT_WIDTH; a number never below its widest value (only
    # its header is shortened, to no less than 6 characters)
    floors = [
        max([*map(len, texts), min(len(name), 6)]) if numeric else min(widths[i], MIN_TEXT_WIDTH)
        for i, (name, texts, numeric) in enumerate(columns)
    ]

    def total() -> int:
        return sum(widths) + 2 * (len(widths) - 1)

    while total() > width:  # shorten the widest column that can still give up characters
        candidates = [i for i in range(len(columns)) if widths[i] > floors[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: widths[i])
        widths[widest] = max(floors[widest], widths[widest] - max(1, total() - width))
    if total() > width:
        label = max(len(name) for name, _, _ in columns)
        blocks = []
        for row in range(shown.height):
            blocks.append(f"-[ row {row + 1} ]" + "-" * max(0, min(width, 40) - 12))
            for name, texts, _ in columns:
                blocks.append(f"{name:<{label}} | {_cut(texts[row], max(width - label - 3, MIN_TEXT_WIDTH))}")
        return "\n".join([*blocks, footer])

    def line(cells: list[str]) -> str:
        out = []
        for (_, _, numeric), w, text in zip(columns, widths, cells):
            text = _cut(text, w)
            out.append(text.rjust(w) if numeric else text.ljust(w))
        return "  ".join(out).rstrip()

    lines = [line([name for name, _, _ in columns]), "  ".join("-" * w for w in widths)]
    lines += [line([texts[row] for _, texts, _ in columns]) for row in range(shown.height)]
    return "\n".join([*lines, footer])


def _terminal_width() -> int:
    import shutil

    return max(shutil.get_terminal_size((120, 24)).columns, 40)


def _print_frame(frame, fmt: str, max_rows: int, width: int | None = None) -> None:
    if fmt == "csv":
        frame.write_csv(sys.stdout)
    elif fmt == "json":
        sys.stdout.write(frame.write_json())
        sys.stdout.write("\n")
    else:
        print(format_table(frame, width or _terminal_width(), max_rows))


def cmd_query(args: argparse.Namespace) -> int:
    try:
        frame = run_query(args.sql)
    except CliError as err:
        return _fail(str(err), err.hint)
    _print_frame(frame, args.format, args.max_rows, getattr(args, "width", None))
    return 0


SOURCES_COLUMNS = "raw_table, vintage, left(sha256, 12) as sha256_12, rows_landed, loaded_at"
SOURCES_WIDE_COLUMNS = (
    "raw_table, source, file_name, vintage, sha256, bytes, rows_in, rows_landed, rows_rejected, rows_aggregate, "
    "rows_outside_universe, loaded_at"
)
SOURCES_WIDTH = 120  # the default listing fits a 120-column terminal; --wide shows everything, uncut


def cmd_sources(args: argparse.Namespace) -> int:
    columns = SOURCES_WIDE_COLUMNS if args.wide else SOURCES_COLUMNS
    args.sql = f"select {columns} from meta.loads order by raw_table"
    args.width = 10**6 if args.wide else min(_terminal_width(), SOURCES_WIDTH)
    return cmd_query(args)


# ---------------------------------------------------------------------------------------------------- brief, export


def cmd_brief(args: argparse.Namespace) -> int:
    from pipelines import settings
    from pipelines.brief import BriefError, write_briefs

    if not args.iso3 and not args.all:
        return _fail("name a country (ISO3, e.g. PRY) or use --all", "hpw brief PRY   or   hpw brief --all")
    out = Path(args.out).expanduser() if args.out else settings.warehouse_dir() / "briefs"
    try:
        path = _published()
        written = write_briefs(path, out, None if args.all else [args.iso3.upper()])
    except (CliError, BriefError) as err:
        return _fail(str(err), err.hint)
    for page in written:
        print(page)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from pipelines import exports, settings

    try:
        if args.dictionary:
            print(exports.write_data_dictionary())
            if args.dictionary_only:
                return 0
        path = _published()
        written = exports.export(path, settings.exports_dir())
    except (CliError, exports.ExportError) as err:
        return _fail(str(err), err.hint)
    print(f"exported {len(written)} tables as Parquet and CSV, and {exports.DATAPACKAGE}, to {settings.exports_dir()}")
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from pipelines import exports, settings

    out = Path(args.out).expanduser() if args.out else settings.warehouse_dir() / "docs"
    try:
        page = exports.dbt_docs(_published(), out)
    except (CliError, exports.ExportError) as err:
        return _fail(str(err), err.hint)
    print(f"dbt docs site (offline, one file): {page}")
    return 0


# ---------------------------------------------------------------------------------------------------- main


def cmd_check_file(args: argparse.Namespace) -> int:
    from pipelines.check_file import check_file
    from pipelines.sources import RAW_TABLES_BY_NAME

    name, _, path = args.assignment.partition("=")
    file_keys = {t.file_key for t in RAW_TABLES_BY_NAME.values() if t.file_key}
    if (name not in RAW_TABLES_BY_NAME and name not in file_keys) or not path:
        return _fail(
            f"check-file expects RAW_TABLE=PATH, got {args.assignment!r}",
            f"raw tables: {', '.join(RAW_TABLES_BY_NAME)}",
        )
    try:
        return check_file(name, path)
    except FileNotFoundError as err:
        return _fail(str(err), "give the path of a downloaded publisher file")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line plus a hint like every other error."""

    def error(self, message: str):  # noqa: D401 - argparse API
        sys.exit(_fail(message, f"{self.prog} --help"))


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="hpw", description="Hemisphere Partnership Warehouse: build, query, export, country briefs")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)

    build = sub.add_parser(
        "build",
        help="build the warehouse and publish it atomically",
        description=(
            "Build every asset and swap the result in as warehouse/partnership.duckdb; prints a line per asset as it "
            "finishes."
        ),
    )
    build.add_argument("--force", action="store_true", help="rebuild even if nothing changed")
    build.add_argument(
        "--file", action="append", metavar="RAW_TABLE=PATH", help="read this file instead of the bundled snapshot"
    )
    build.add_argument(
        "--accept-change",
        action="append",
        metavar="RAW_TABLE=REASON",
        help="let this raw table through the anomaly gate; the reason is recorded in meta.ingestions",
    )
    build.add_argument("--quiet", action="store_true", help="only errors and one summary line")
    build.add_argument(
        "--verbose", action="store_true", help="a line per asset, Dagster's and dbt's own output, tracebacks"
    )
    build.set_defaults(func=cmd_build)

    check = sub.add_parser(
        "check-file",
        help="parse, contract and crosswalk one file without building",
        description="Read a publisher file as RAW_TABLE would, check its contract and country crosswalk against the "
        "published warehouse, and print what a build would do: rows, column changes, unresolved entities and their "
        "treatment, plausibility warnings. Exit 1 only when a build would stop.",
    )
    check.add_argument("assignment", metavar="RAW_TABLE=PATH", help="e.g. imf_dots_us_trade=~/Downloads/dots_us.csv")
    check.set_defaults(func=cmd_check_file)

    query = sub.add_parser(
        "query",
        help="run SQL against the published warehouse (read-only)",
        description=(
            "Run one SELECT against warehouse/partnership.duckdb opened read-only; writes, ATTACH and COPY are refused."
        ),
    )
    query.add_argument("sql", help='one SELECT statement, e.g. "select * from marts.dim_country"')
    query.add_argument("--format", choices=["table", "csv", "json"], default="table")
    query.add_argument("--max-rows", type=int, default=50, help="rows shown in table format (-1: all)")
    query.set_defaults(func=cmd_query)

    sources = sub.add_parser(
        "sources",
        help="provenance of every landed file: vintage, sha256, rows",
        description="Every landed publisher file: vintage, sha256, rows in/landed, retrieved (loaded) at.",
    )
    sources.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sources.add_argument("--max-rows", type=int, default=100)
    sources.add_argument(
        "--wide", action="store_true", help="every column (file, full sha256, bytes, row counts), uncut"
    )
    sources.set_defaults(func=cmd_sources)

    brief = sub.add_parser(
        "brief",
        help="write the self-contained HTML country brief",
        description="Write <ISO3>.html (charts inline, no network needed to view) and index.html linking every brief.",
    )
    brief.add_argument("iso3", nargs="?", help="country code, e.g. PRY")
    brief.add_argument("--all", action="store_true", help="a brief for every Latin American and Caribbean country")
    brief.add_argument("--out", metavar="DIR", help="output folder (default: warehouse/briefs)")
    brief.set_defaults(func=cmd_brief)

    export = sub.add_parser(
        "export",
        help="Parquet and CSV per table + datapackage.json",
        description="Write warehouse/exports/<table>.parquet and .csv (temporary name, then "
        "rename) and the Frictionless datapackage.json describing the CSV files.",
    )
    export.add_argument(
        "--dictionary", action="store_true", help="also regenerate docs/data_dictionary.md from the dbt yml"
    )
    export.add_argument(
        "--dictionary-only", action="store_true", help="only regenerate docs/data_dictionary.md (needs no build)"
    )
    export.set_defaults(func=cmd_export)
    docs = sub.add_parser(
        "docs",
        help="build the dbt docs site (lineage, column docs) offline",
        description=(
            "Run `dbt docs generate --static` against a scratch copy of the published file; open "
            "DIR/static_index.html in a browser (no network needed)."
        ),
    )
    docs.add_argument("--out", metavar="DIR", help="output folder (default: warehouse/docs)")
    docs.set_defaults(func=cmd_docs)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "dictionary_only", False):
        args.dictionary = True
    try:
        code = args.func(args)
        # Everything left is freed at exit anyway; without this, the interpreter's final garbage-collection sweeps
        # over the objects of Dagster, dbt and their ~2,500 modules add ~1 s to every `hpw build`.
        gc.freeze()
        return code
    except BrokenPipeError:  # `hpw query ... | head`: the reader left, nothing is wrong
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return _fail("interrupted", "nothing was published; run the command again")
    except Exception as err:  # noqa: BLE001 - the last resort: one line, never a traceback unless asked for
        if getattr(args, "verbose", False):
            import traceback

            traceback.print_exc()
        return _fail(
            _unexpected(err),
            "rerun with --verbose for the traceback"
            if hasattr(args, "verbose")
            else "this is a bug or an environment problem; please report it with the command you ran",
        )


def _unexpected(err: BaseException) -> str:
    """An unexpected error in one line: a full disk or another OS error says which file; anything else its type."""
    import errno

    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return f"no space left on the device writing {err.filename or 'a file'} (free space or set HPW_WAREHOUSE_DIR)"
    if isinstance(err, OSError) and err.strerror:
        return f"{err.strerror}: {err.filename}" if err.filename else err.strerror
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}{'…' if len(text) > 300 else ''}"


if __name__ == "__main__":
    sys.exit(main())
