"""The warm dbt process (pipelines/dbt_worker.py) against a fresh dbt process (HPW_DBT_WORKER=0), interleaved.

    .venv/bin/python -m bench.dbt_worker_ab --rounds 2 --cold off --cold on

Builds warehouse/ in place: the given cold builds first (`hpw build --force`; the last one is the refreshes'
baseline), then 2 x rounds refreshes of one source (IMF DOTS), alternating the bundled file and a copy with one
value changed (bench.run.changed_copy) and the mode in ABBA order. One JSON line per build: load average at its
start, wall and CPU seconds (/usr/bin/time), and its timeline in seconds from the Dagster run's start, from the
run's events (project instance) and dbt's own log (dbt.log of the build's target folder): the raw steps done, the
dbt step's start, dbt's first and last node, the dbt step's end, the publish step's end; `startup` is the dbt
step's start to dbt's first node, `after_last` dbt's last node to the dbt step's end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

from bench.run import REFRESH_SOURCE, changed_copy

ROOT = Path(__file__).resolve().parent.parent
HPW = [str(ROOT / ".venv" / "bin" / "hpw"), "build"]


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def timeline(warehouse: Path) -> dict:
    from dagster import DagsterInstance

    text = sorted((warehouse / "logs").glob("build-*.log"))[-1].read_text(encoding="utf-8")
    run_id = text.split(" run ", 1)[1].split()[0]
    start, steps = None, {}
    with DagsterInstance.get() as instance:
        for entry in instance.all_logs(run_id):
            kind = entry.dagster_event.event_type_value if entry.dagster_event else None
            if kind in ("PIPELINE_START", "RUN_START"):  # the run start event, by its old and new name
                start = entry.timestamp
            elif kind in ("STEP_START", "STEP_SUCCESS", "STEP_FAILURE"):
                steps.setdefault(entry.step_key, {})[kind] = entry.timestamp
    dbt = next(v for k, v in steps.items() if "dbt" in k)
    publish = next((v for k, v in steps.items() if k.startswith("published")), {})
    raw_done = max(v.get("STEP_SUCCESS", 0.0) for k, v in steps.items() if k.startswith("raw__"))
    first = last = None
    commands = []
    for line in (warehouse / ".build" / "dbt_target" / "dbt.log").read_text(encoding="utf-8").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        node = event.get("data", {}).get("node_info", {})
        if event["info"]["name"] == "CommandCompleted":
            commands.append(round(_epoch(event["info"]["ts"]) - start, 2))
        if node.get("node_started_at") and first is None:
            first = _epoch(event["info"]["ts"])
        if node.get("node_finished_at"):
            last = _epoch(event["info"]["ts"])
    figures = {
        "raw_done": raw_done - start,
        "dbt_step_start": dbt["STEP_START"] - start,
        "first_node": first - start,
        "last_node": last - start,
        "dbt_step_end": dbt["STEP_SUCCESS"] - start,
        "publish_end": publish.get("STEP_SUCCESS", start) - start,
        "startup": first - dbt["STEP_START"],
        "after_last": dbt["STEP_SUCCESS"] - last,
    }
    figures = {k: round(v, 2) for k, v in figures.items()}
    figures["dbt_commands_done"] = commands  # with the worker: its parse, then the build
    figures["worker"] = next((line for line in text.splitlines() if "warm dbt process" in line), "")[:160]
    figures["run_start_epoch"] = start
    return figures


def one_build(mode: str, args: list[str]) -> dict:
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}
    env.pop("HPW_DBT_WORKER", None)
    if mode == "off":
        env["HPW_DBT_WORKER"] = "0"
    load = os.getloadavg()[0]
    spawned, started = time.time(), time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S", *HPW, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"hpw build {' '.join(args)} failed: {done.stderr[-2000:]}")
    cpu = sum(map(float, done.stderr.strip().splitlines()[-1].split()[1:]))
    figures = timeline(Path(os.environ.get("HPW_WAREHOUSE_DIR", ROOT / "warehouse")))
    run_start = figures.pop("run_start_epoch") - spawned
    plan = done.stdout.splitlines()[1].strip() if len(done.stdout.splitlines()) > 1 else ""
    return {
        "mode": mode,
        "load": round(load, 2),
        "wall": round(wall, 2),
        "cpu": round(cpu, 2),
        "plan": plan,
        "run_start_after_spawn": round(run_start, 2),
        **figures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of refreshes (on/off, then off/on, ...)")
    parser.add_argument("--cold", action="append", default=[], choices=("on", "off"), help="a cold build first")
    options = parser.parse_args()
    os.environ.setdefault("DAGSTER_HOME", str(ROOT / "dagster_home"))
    table, relative = REFRESH_SOURCE
    original = ROOT / relative
    files = [changed_copy(original, ROOT / "bench" / "out" / "refresh"), original]
    for mode in options.cold:
        print(json.dumps(one_build(mode, ["--force"])), flush=True)
    order = [m for i in range(options.rounds) for m in (("on", "off") if i % 2 == 0 else ("off", "on"))]
    for k, mode in enumerate(order):
        print(json.dumps(one_build(mode, ["--file", f"{table}={files[k % 2]}"])), flush=True)


if __name__ == "__main__":
    main()
