"""Processes of this machine as /proc shows them: to check that nothing a build started outlives it."""

from __future__ import annotations

import os
from pathlib import Path


def gone(pid: int) -> bool:
    """The process ended: no longer listed, or a zombie (which holds no files; nobody may reap it in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def dbt_workers(build_pid: int) -> list[int]:
    """Live warm dbt processes started by the build process `build_pid` (named `hpw-dbt-<build pid>-<random>` on
    their command line: pipelines/dbt_worker.py)."""
    marker = f"hpw-dbt-{build_pid}-"
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "pipelines.dbt_worker" in cmdline and marker in cmdline and not gone(int(entry.name)):
            found.append(int(entry.name))
    return found
