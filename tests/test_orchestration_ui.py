"""`dagster dev` really serves the code location: every asset, asset check, schedule, sensor and freshness check/policy
is visible through the webserver's GraphQL API. Starts in its own session on a free 127.0.0.1 port with a temporary
DAGSTER_HOME, and stops the whole process group afterwards (`dagster dev` does not stop on SIGTERM alone)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT
from tests.test_definitions import load_definitions

pytestmark = pytest.mark.slow  # starts `dagster dev` (a webserver and a code server)

QUERY = """
{
  assetNodes {
    assetKey { path }
    internalFreshnessPolicy { ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds } }
    assetChecksOrError { ... on AssetChecks { checks { name } } }
  }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name schedules { name cronSchedule } sensors { name } } }
  }
}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """SIGINT the group (what Ctrl-C does), then SIGKILL whatever is left of it."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader exited; make sure no child of the group survives
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return


@pytest.fixture()
def dagster_dev(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    # the project's instance settings (run queue of one, DuckDB pool), so `dagster dev` proves it accepts them
    (home / "dagster.yaml").write_text((PROJECT_ROOT / "dagster_home" / "dagster.yaml").read_text())
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1",
        "HPW_WAREHOUSE_DIR": str(tmp_path / "warehouse"),
    }
    env.pop("HPW_MODE", None)
    log = (tmp_path / "dagster_dev.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster"),
            "dev",
            "-w",
            "workspace.yaml",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # a suite started in the background (nohup, `cmd &`) ignores SIGINT and children inherit that: a terminal's
        # Ctrl-C reaches dagster dev's default handler, so the child gets one (else the stop waits for SIGKILL)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        yield f"http://127.0.0.1:{port}/graphql", process, tmp_path / "dagster_dev.log"
    finally:
        _stop(process)
        log.close()
        assert _group_gone(process.pid), "a process of the dagster dev group survived"


def _group_gone(pgid: int, within_s: float = 15) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        alive = [
            p
            for p in Path("/proc").iterdir()
            if p.name.isdigit()
            and _pgid_and_state(p) is not None
            and _pgid_and_state(p)[0] == pgid
            and _pgid_and_state(p)[1] != "Z"
        ]
        if not alive:
            return True
        time.sleep(0.5)
    return False


def _pgid_and_state(proc: Path):
    try:
        fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[2]), fields[0]


def _query(url: str, process, log_path: Path, deadline_s: float = 240) -> dict:
    deadline = time.monotonic() + deadline_s
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dagster dev exited ({process.returncode}):\n{log_path.read_text()[-3000:]}")
        try:
            response = httpx.post(url, json={"query": QUERY}, timeout=30)
            data = response.json().get("data") or {}
            repos = (data.get("repositoriesOrError") or {}).get("nodes")
            if repos and data.get("assetNodes"):
                return data
            last = response.text[:500]
        except (httpx.HTTPError, ValueError) as err:
            last = repr(err)
        time.sleep(0.5)  # poll again soon: the deadline bounds the wait, not the interval
    pytest.fail(f"GraphQL never answered with the code location: {last}\n{log_path.read_text()[-3000:]}")


def test_dagster_dev_shows_every_asset_check_schedule_sensor_and_freshness_check(dagster_dev):
    url, process, log_path = dagster_dev
    data = _query(url, process, log_path)
    defs = load_definitions()
    graph = defs.resolve_asset_graph()

    nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    expected_assets = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert expected_assets <= set(nodes)

    served_checks = {
        (key, check["name"])
        for key, node in nodes.items()
        for check in (node["assetChecksOrError"] or {}).get("checks", [])
    }
    expected_checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert expected_checks == served_checks
    freshness_checks = {c for c in served_checks if c[1] == "freshness_check"}
    assert len(freshness_checks) == sum(1 for k in graph.asset_check_keys if k.name == "freshness_check") >= 10

    policies = {k for k, n in nodes.items() if n.get("internalFreshnessPolicy")}
    expected_policies = {k.to_user_string() for k in graph.get_all_asset_keys() if graph.get(k).freshness_policy}
    assert policies == expected_policies and len(policies) >= 10

    (repo,) = data["repositoriesOrError"]["nodes"]
    assert {s["name"] for s in repo["schedules"]} == {s.name for s in defs.schedules}
    assert {s["name"] for s in repo["sensors"]} == {s.name for s in defs.sensors}
