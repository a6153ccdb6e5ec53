"""The longest raw parses of a build, run on the second core while Dagster runs the other raw assets.

Dagster's in-process executor runs the raw assets one after another in the build process, and only one process
may write the build database, so landing stays there, in order. Parsing (read, tidy, contract) is independent per
table: `start()` launches one worker (`python -m pipelines.prefetch`) that parses the run's tables named in
PREFETCHED, longest first, and leaves each result in the build area. A raw asset asks `take()` for its table:

- a result is used only when it was made from exactly what the asset would parse now: the same table and parser,
  the same file (path and sha256), the same files beside it (a folder source reads them), unchanged code and
  reference tables, the same HPW_* settings and the same schema-drift baseline. The contract findings and
  crosswalk outcomes the parse recorded come with it, so the asset's metadata and checks are those of its own parse;
- a table the worker has not started yet is claimed by the asset and parsed in the build process. The assets take
  PREFETCHED tables last and in the reverse order (`priority`), so the two processes meet in the middle;
- any failure on the worker's side (the parse raised, the worker died, a result that does not match) is never
  reported as such: the asset parses the file itself and fails, if it does, with its own message, metadata and
  rejected copy.

A result whose columns land alike through Parquet and Arrow (`warehouse.parquet_safe`) is handed over as the
worker's Parquet file, which DuckDB lands without the build process reading the frame at all.

The worker dies with the build: it exits when its parent does (PR_SET_PDEATHSIG, and end of file on its stdin),
and `scope()` kills and reaps it when the build ends, however it ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines import fingerprint, settings
from pipelines.sources.base import RawTable, SourceFile, file_sha256

if TYPE_CHECKING:
    import polars as pl

    from pipelines.warehouse import ParquetFrame

# Raw tables whose parse is long enough to pay for a second process, longest first (the worker's order). CPU
# seconds of the parse and contract alone on the bundled files: 1.9, 0.5, 0.5, 0.4, 0.2; every other table
# parses in under 0.1 s.
PREFETCHED = (
    "fmtr_training_xml",
    "us_foreign_aid_greenbook",
    "sipri_milex",
    "fmtr_training_html",
    "worldbank_wdi_csv",
)
FOLDER = "prefetch"  # under the build area, which every build wipes
# What a parse reads besides its file: the fingerprint's code folders but the dbt models.
CODE_DIRS = tuple(folder for folder in fingerprint.CODE_DIRS if folder != "models")
# Variables the build sets for its own processes (dbt's database, the warm dbt process): no parse reads them.
BUILD_MACHINERY = ("HPW_BUILD_DB", *fingerprint.RUN_SETTINGS)
SIBLINGS_LIMIT = 10_000  # a file in a folder bigger than this is never prefetched (its key is not computed)


def priority(table_name: str) -> int | None:
    """The Dagster step priority of a raw asset: PREFETCHED tables after every other raw asset, in the reverse of
    the worker's order (the build process takes first what the worker would reach last)."""
    if table_name not in PREFETCHED:
        return None
    return PREFETCHED.index(table_name) - len(PREFETCHED)


@dataclass
class Parsed:
    """One table parsed by the worker: what its parse recorded, with the key of its inputs. The frame itself is a
    Parquet file beside it when its columns land alike that way (`warehouse.parquet_safe`), else an Arrow IPC file
    (pickling a frame costs ten times the CPU)."""

    key: str
    findings: Any  # data_contracts._base.ContractFindings
    outcomes: list = field(default_factory=list)  # pipelines.countries.Outcome, this parse's
    frame: pl.DataFrame | ParquetFrame | None = None  # set by the build process
    counts: dict[str, int] = field(default_factory=dict)  # the frame's rows by entity (entity_counts)
    parquet: bool = False  # the frame is <table>.parquet, else <table>.arrow


def _stat_lines(paths) -> list[str]:
    return [fingerprint.stat_line(p) for p in sorted(paths) if p.is_file() and "__pycache__" not in p.parts]


def input_key(table: RawTable, path: Path, sha256: str, baseline: Mapping[str, set[str]]) -> str | None:
    """Everything a parse of `path` for `table` depends on, as one digest (None: too many files beside it)."""
    siblings = []
    for i, sibling in enumerate(path.parent.iterdir()):
        if i >= SIBLINGS_LIMIT:
            return None
        siblings.append(sibling)
    parts = [
        table.name,
        f"{table.parse.__module__}.{table.parse.__qualname__}",
        str(path),
        sha256,
        *_stat_lines(siblings),
        *(line for folder in CODE_DIRS for line in _stat_lines((settings.PROJECT_ROOT / folder).rglob("*"))),
        *sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith("HPW_") and k not in BUILD_MACHINERY),
        json.dumps({source: sorted(columns) for source, columns in sorted(baseline.items())}),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _claim(folder: Path, name: str) -> bool:
    """Whoever creates `<name>.claim` first parses the table (the worker or the build process)."""
    try:
        os.close(os.open(folder / f"{name}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


class Prefetcher:
    """The build process's side of one worker: which tables it was given, and what it reported."""

    def __init__(self, folder: Path, jobs: dict[str, Path], env: Mapping[str, str], published: Path):
        self.folder, self.jobs = folder, jobs
        self.status: dict[str, str] = {}
        self.taken: list[str] = []  # results used by the raw assets
        self.parsed_here: list[str] = []  # PREFETCHED tables the build process parsed itself
        self.cpu: str | None = None  # the worker's CPU seconds, its last line
        args = [str(published), str(os.getpid()), *(f"{name}={path}" for name, path in jobs.items())]
        with (folder / "worker.log").open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipelines.prefetch", str(folder), *args],
                stdin=subprocess.PIPE,  # never written: the worker's end of file when this process is gone
                stdout=subprocess.PIPE,  # one status line per table
                stderr=log,
                cwd=settings.PROJECT_ROOT,
                env=dict(env),
                text=True,
            )

    def take(self, table: RawTable, source_file: SourceFile, baseline: Mapping[str, set[str]]) -> Parsed | None:
        path = source_file.path.resolve()
        if self.jobs.get(table.name) != path:
            return None
        if _claim(self.folder, table.name):  # the worker has not started it: parsed here
            self.parsed_here.append(table.name)
            return None
        if self._wait(table.name) != "done":
            self.parsed_here.append(table.name)
            return None
        try:
            with (self.folder / f"{table.name}.pickle").open("rb") as handle:
                parsed = pickle.load(handle)
            if isinstance(parsed, Parsed) and parsed.key == input_key(table, path, source_file.sha256, baseline):
                if parsed.parquet:
                    from pipelines.warehouse import ParquetFrame

                    parquet = self.folder / f"{table.name}.parquet"
                    parsed.frame = ParquetFrame(parquet, parsed.counts) if parquet.is_file() else None
                else:
                    import polars as pl

                    parsed.frame = pl.read_ipc(self.folder / f"{table.name}.arrow")
        except Exception:  # noqa: BLE001 - an unreadable result is parsed again here
            parsed = None
        if not isinstance(parsed, Parsed) or parsed.frame is None:
            self.parsed_here.append(table.name)
            return None
        self.taken.append(table.name)
        return parsed

    def _wait(self, name: str) -> str:
        """The worker's status for `name` (done, failed, skipped), reading its lines; `gone` if it ended first."""
        while name not in self.status:
            line = self.proc.stdout.readline() if self.proc.stdout else ""
            if not line:
                return "gone"
            self._read(line)
        return self.status[name]

    def _read(self, line: str) -> None:
        status, _, table = line.strip().partition(" ")
        if status == "cpu":
            self.cpu = table
        else:
            self.status[table] = status

    def close(self) -> str:
        """Kill and reap the worker, drop its results; returns one line saying who parsed what."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        if self.proc.stdout is not None:
            for line in self.proc.stdout.read().splitlines():  # what it said after the last table taken
                self._read(line)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        shutil.rmtree(self.folder, ignore_errors=True)
        return (
            f"prefetch: parsed by the worker {', '.join(self.taken) or 'none'}; "
            f"in the build process {', '.join(self.parsed_here) or 'none'}; "
            f"worker CPU {self.cpu or 'unknown'} s"
        )


_ACTIVE: Prefetcher | None = None


def start(
    build_area: Path,
    published: Path,
    tables: list[str],
    file_overrides: Mapping[str, str] | None = None,
    env_updates: Mapping[str, str] | None = None,
) -> None:
    """Launch the worker for the PREFETCHED tables among `tables` that read a local file (a live download is known
    only inside its asset). `env_updates`: settings the build sets before its run, so the worker parses under the
    same ones. Call inside `scope()`."""
    global _ACTIVE
    from pipelines import fetch
    from pipelines.sources import RAW_TABLES_BY_NAME

    if _ACTIVE is not None:
        return
    overrides = file_overrides or {}
    jobs: dict[str, Path] = {}
    for name in PREFETCHED:
        table = RAW_TABLES_BY_NAME.get(name)
        if name not in tables or table is None or table.land is not None:
            continue
        configured = next((p for k, p in overrides.items() if k in (table.name, table.file_key)), None)
        if configured is None and (fetch.wants_live(table) or fetch.wants_landed(table)):
            continue
        chosen = table.chosen_path(configured)
        jobs[name] = (chosen or table.bundled_path).resolve()
    if not jobs:
        return
    folder = build_area / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    _ACTIVE = Prefetcher(folder, jobs, {**os.environ, **(env_updates or {})}, published)


def stop() -> str | None:
    """Kill and reap the worker, if one runs; its summary line (for the build log)."""
    global _ACTIVE
    active, _ACTIVE = _ACTIVE, None
    if active is None:
        return None
    return active.close()


@contextmanager
def scope() -> Iterator[None]:
    """The block within which a worker started by `start()` lives: leaving it kills and reaps the worker."""
    try:
        yield
    finally:
        stop()


def take(
    table: RawTable, source_file: SourceFile, baseline: Mapping[str, set[str]]
) -> pl.DataFrame | ParquetFrame | None:
    """In a raw asset, inside its contract run: the frame the worker parsed for exactly this input (or its Parquet
    file, for `warehouse.land_raw`), its findings added to the open run and its crosswalk outcomes recorded as the
    asset's own parse would have; else None (parse it here)."""
    if _ACTIVE is None:
        return None
    parsed = _ACTIVE.take(table, source_file, baseline)
    if parsed is None:
        return None
    from data_contracts._base import report
    from pipelines import countries

    report(parsed.findings)
    countries.record_outcomes(parsed.outcomes)
    return parsed.frame


# ------------------------------------------------------------------------------------------------- the worker


def _exit_with_parent(parent: int) -> None:
    """Die with the build process: the kernel kills this one when its parent ends (Linux), and a thread ends it at
    end of file on stdin (the parent's end of the pipe closes with it, wherever it is killed)."""
    import ctypes
    import signal
    import threading

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent ended before the line above
        os._exit(1)

    def watch() -> None:
        while os.read(0, 4096):  # unbuffered: no lock for the interpreter's shutdown to wait on
            pass
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _parse_into(folder: Path, table: RawTable, path: Path, baseline: Mapping[str, set[str]]) -> None:
    from data_contracts._base import contract_run
    from pipelines import countries, warehouse
    from pipelines.sources.base import entity_counts

    key = input_key(table, path, file_sha256(path), baseline)  # before reading: a file changed since never matches
    if key is None:
        raise RuntimeError(f"{path.parent} holds more than {SIBLINGS_LIMIT} files")
    countries.take_outcomes(table.source)
    with contract_run(baseline) as run:
        frame = table.parse(path)
    parsed = Parsed(
        key,
        run.findings,
        countries.take_outcomes(table.source),
        counts=entity_counts(frame),
        parquet=warehouse.parquet_safe(frame),
    )
    if parsed.parquet:  # landed by DuckDB from the file: the build process never reads the frame
        frame.write_parquet(folder / f"{table.name}.parquet", compression="lz4", statistics=False)
    else:
        frame.write_ipc(folder / f"{table.name}.arrow", compression="zstd")
    temporary = folder / f"{table.name}.pickle.tmp"  # renamed last: a result is whole once its pickle exists
    with temporary.open("wb") as handle:
        pickle.dump(parsed, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(temporary, folder / f"{table.name}.pickle")


def main(argv: list[str]) -> int:
    folder, published, parent, *jobs = argv
    _exit_with_parent(int(parent))
    report = os.fdopen(os.dup(1), "w")  # status lines; anything else printed goes to the worker's log
    os.dup2(2, 1)
    import gc
    import time

    from pipelines import drift
    from pipelines.sources import RAW_TABLES_BY_NAME

    gc.freeze()  # the imports' objects are never garbage: collections skip them (0.3-0.5 s less per build)
    baseline = drift.load_baseline(Path(published))
    for job in jobs:
        name, _, path = job.partition("=")
        status = "skipped"
        if _claim(Path(folder), name):
            try:
                _parse_into(Path(folder), RAW_TABLES_BY_NAME[name], Path(path), baseline)
                status = "done"
            except Exception:  # noqa: BLE001 - the asset parses again and reports its own error
                traceback.print_exc()
                status = "failed"
        report.write(f"{status} {name}\n")
        report.flush()
    report.write(f"cpu {time.process_time():.2f}\n")
    report.flush()
    return 0


if __name__ == "__main__":
    from pipelines import prefetch  # results pickled as pipelines.prefetch.Parsed, not __main__.Parsed

    sys.exit(prefetch.main(sys.argv[1:]))
