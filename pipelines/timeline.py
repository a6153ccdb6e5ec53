"""Wall-clock marks of one `hpw build`, written to its build log: where a build's seconds go, phase by phase.

Marks are epoch seconds, so the build's own and its worker processes' marks (the warm dbt process writes its own
into its log) line up on one clock; the log shows them as seconds since the build process started.
Standard library only: imported before anything heavy.
"""

from __future__ import annotations

import os
import time

_MARKS: list[tuple[float, str]] = []


def process_started() -> float:
    """This process's start as epoch seconds (Linux: /proc), else the first mark's time."""
    try:
        with open(f"/proc/{os.getpid()}/stat", encoding="ascii") as stat:
            ticks = int(stat.read().rpartition(")")[2].split()[19])  # field 22: start time, clock ticks since boot
        since_boot = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
        return time.time() - since_boot
    except (OSError, ValueError, IndexError, AttributeError):
        return _MARKS[0][0] if _MARKS else time.time()


def mark(what: str) -> None:
    _MARKS.append((time.time(), f"{what} (cpu {time.process_time():.2f} s)"))


def reset() -> None:
    _MARKS.clear()


def lines(extra: list[tuple[float, str]] | None = None) -> list[str]:
    """One line per mark (this process's and `extra`'s, in time order): seconds since the process started."""
    marks = sorted([*_MARKS, *(extra or [])])
    start = process_started()
    if marks and marks[0][0] - start > 60:  # a long-lived process (a test session): from its first mark
        start = marks[0][0]
    return [f"{at - start:7.2f} s  {what}" for at, what in marks]
