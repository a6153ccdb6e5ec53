"""The benchmark: how long a build takes and whether the large-file path stays flat. Prints a Markdown table.

    make bench                 # cold build, no-op refresh, 1 M-row ingest, example queries
    make bench BENCH_ARGS=--large   # also the 5 M-row (~3.7 GB) ingest
    .venv/bin/python -m bench.run --repeat 3 --large

Figures are medians of `--repeat` runs, each in its own process (peak RSS = the largest single process of that
run's tree, from wait4). Nothing is asserted: machines are noisy; tests/test_large_file*.py check correctness
and memory flatness instead.

1. cold build: `hpw build --force` into an emptied warehouse folder (environment, dbt manifest and dbt's parse
   state for that folder already prepared by one uncounted warm-up build).
2. no-op refresh: `hpw build` again with nothing changed.
3. large-file ingest: SYNTHETIC ForeignAssistance.gov activity-level files (bench/generate.py, 51 columns) at 1 M
   (and 5 M with --large) rows; the project's ingest (sha256 + read + contract + crosswalk + landing + staging
   view, bench/ingest.py) against plain DuckDB `read_csv` of the same file into a table, alternated in one run.
4. analyst queries: examples/queries/*.sql against the published file this run built (read-only; with --only
   queries, warehouse/partnership.duckdb), median and p95 of 20 runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = PROJECT_ROOT / "bench" / "out"
BIN = Path(sys.executable).parent
TARGETS = {
    "cold build": "≤ 20 s",
    "no-op refresh": "≤ 5 s",
    "ingest ratio": "≤ 1.3× read_csv",
    "RSS 5M/1M": "≤ 1.2×",
    "query": "≤ 50 ms median",
}


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB of the largest process in the tree, stdout) of one command."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=PROJECT_ROOT, text=True)
        # wait4 gives this child's rusage, which includes its own reaped children; ru_maxrss is in KB on Linux.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"benchmark step failed: {' '.join(cmd)}\n{err.read()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def machine_info() -> list[str]:
    cpu = "unknown"
    try:
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    mem = "unknown"
    try:
        kb = int(
            next(
                line.split()[1]
                for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")
            )
        )
        mem = f"{kb / 1024 / 1024:.1f} GB"
    except (OSError, StopIteration):
        pass
    from importlib.metadata import version

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=PROJECT_ROOT
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], capture_output=True, text=True, cwd=PROJECT_ROOT
    ).stdout.strip()
    versions = ", ".join(
        f"{p} {version(p)}" for p in ("dagster", "dbt-core", "dbt-duckdb", "duckdb", "polars", "pandera")
    )
    return [
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit {commit or 'unknown'}{' + uncommitted changes' if dirty else ''}",
        f"- machine: {cpu}, {os.cpu_count()} cores, {mem} RAM, {platform.system()} {platform.release()}; load average {os.getloadavg()[0]:.1f} at start",
        f"- Python {platform.python_version()}; {versions}",
    ]


def bench_build(repeat: int, folder: Path) -> list[tuple[str, str, str]]:
    """Cold builds into the same emptied folder, after one uncounted warm-up build there: a warm environment has
    dbt's parse state for its warehouse folder (`make manifest` prepares it for warehouse/; dbt re-parses fully,
    ~2.5 s, for a folder it has never built). The last build stays in `folder` (queried afterwards)."""
    rows = []
    cold, cold_rss, noop = [], [], []
    env = {**os.environ, "HPW_WAREHOUSE_DIR": str(folder), "DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    for i in range(repeat + 1):
        shutil.rmtree(folder, ignore_errors=True)  # empty: no published file, no landed Parquet, no fingerprint
        folder.mkdir(parents=True)
        wall, rss, _ = run_measured([str(BIN / "hpw"), "build", "--force", "--quiet"], env)
        if i == 0:
            continue  # warm-up
        cold.append(wall)
        cold_rss.append(rss)
        wall, _, _ = run_measured([str(BIN / "hpw"), "build", "--quiet"], env)
        noop.append(wall)
    rows.append(
        (
            "cold build of the bundled warehouse",
            f"{median(cold):.1f} s wall, {median(cold_rss):.0f} MB peak RSS",
            TARGETS["cold build"],
        )
    )
    rows.append(("no-op refresh (nothing changed)", f"{median(noop):.2f} s wall", TARGETS["no-op refresh"]))
    return rows


def synthetic_file(rows: int) -> Path:
    path = OUT_DIR / f"fa_activity_SYNTHETIC_{rows}.csv"
    if not path.is_file():
        from bench.generate import generate

        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        generate(rows, path)
    return path


def bench_ingest(sizes: list[int], repeat: int) -> tuple[list[tuple[str, str, str]], dict]:
    from bench.ingest import fresh_database

    rows, raw = [], {}
    db = OUT_DIR / "ingest_bench.duckdb"
    for size in sizes:
        path = synthetic_file(size)
        figures = {"project": ([], []), "duckdb": ([], [])}
        for _ in range(repeat):
            for mode in ("duckdb", "project"):  # alternated, so drift in machine load hits both
                _, rss, out = run_measured([sys.executable, "-m", "bench.ingest", mode, str(path), str(db)])
                result = json.loads(out.strip().splitlines()[-1])
                if result["rows"] != size:
                    raise SystemExit(f"{mode} ingest of {path.name} landed {result['rows']} rows, expected {size}")
                figures[mode][0].append(result["seconds"])
                figures[mode][1].append(rss)
        project_s, duck_s = median(figures["project"][0]), median(figures["duckdb"][0])
        project_rss, duck_rss = median(figures["project"][1]), median(figures["duckdb"][1])
        raw[size] = {"project_s": project_s, "duckdb_s": duck_s, "project_rss": project_rss, "duckdb_rss": duck_rss}
        label = f"{size / 1e6:g} M rows ({path.stat().st_size / 1e9:.2f} GB)"
        rows.append(
            (
                f"ingest {label}: project / plain read_csv",
                f"{project_s:.1f} s / {duck_s:.1f} s = **{project_s / duck_s:.2f}×**; RSS {project_rss:.0f} MB / {duck_rss:.0f} MB",
                TARGETS["ingest ratio"],
            )
        )
        fresh_database(db)  # leave no multi-GB leftovers
    if len(sizes) > 1:
        small, large = raw[sizes[0]], raw[sizes[-1]]
        rows.append(
            (
                f"peak RSS {sizes[-1] / 1e6:g} M / {sizes[0] / 1e6:g} M rows: project (read_csv)",
                f"**{large['project_rss'] / small['project_rss']:.2f}×** ({large['duckdb_rss'] / small['duckdb_rss']:.2f}×)",
                TARGETS["RSS 5M/1M"],
            )
        )
    return rows, raw


def bench_queries(published: Path, runs: int = 20) -> list[tuple[str, str, str]]:
    import duckdb

    files = sorted((PROJECT_ROOT / "examples" / "queries").glob("*.sql"))
    if not published.is_file():
        return [("example queries", f"not run: {published} does not exist (run `make run`)", TARGETS["query"])]
    rows = []
    with duckdb.connect(str(published), read_only=True) as con:
        for file in files:
            sql = file.read_text()
            try:
                con.execute(sql).fetchall()  # warm-up
            except duckdb.Error as err:
                rows.append((f"query {file.stem}", f"error: {str(err).splitlines()[0]}", TARGETS["query"]))
                continue
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                con.execute(sql).fetchall()
                times.append((time.perf_counter() - started) * 1000)
            rows.append(
                (f"query {file.stem}", f"{median(times):.1f} ms median, {p95(times):.1f} ms p95", TARGETS["query"])
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark the build, the no-op refresh, the large-file ingest and the example queries."
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median); default 3")
    parser.add_argument("--large", action="store_true", help="also the 5 M-row ingest (~3.7 GB file, a few minutes)")
    parser.add_argument("--only", choices=["build", "ingest", "queries"], action="append", help="run only these parts")
    parser.add_argument("--sizes", type=int, nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    parts = set(args.only or ["build", "ingest", "queries"])
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    lines = [
        "## Benchmark",
        "",
        *machine_info(),
        "",
        "| figure | measured (median of %d) | target |" % args.repeat,
        "|---|---|---|",
    ]
    table: list[tuple[str, str, str]] = []
    built = OUT_DIR / "warehouse"
    try:
        if "build" in parts:
            table += bench_build(args.repeat, built)
        if "ingest" in parts:
            sizes = args.sizes or ([1_000_000, 5_000_000] if args.large else [1_000_000])
            table += bench_ingest(sizes, args.repeat)[0]
        if "queries" in parts:
            from pipelines import settings

            published = built / "partnership.duckdb"  # the warehouse this run built, else the project's own
            table += bench_queries(
                published if published.is_file() else settings.warehouse_dir() / "partnership.duckdb"
            )
    finally:
        shutil.rmtree(built, ignore_errors=True)
    lines += [f"| {a} | {b} | {c} |" for a, b, c in table]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
