"""A run's Dagster events as they happen, through Dagster's public logger API (no patched instance methods).

The code location registers `run_events_logger` beside the console logger. Dagster hands every record of a run to
it; records that carry a `DagsterEvent` (step success, materialisation, check evaluation, ...) reach the Python
logger `hpw.run_events`. `hpw build` listens there for its run only (`listen`), which draws its progress lines;
runs from the UI, schedules and sensors have no listener, so the logger costs them nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dagster import logger

EVENTS = logging.getLogger("hpw.run_events")
EVENTS.setLevel(logging.DEBUG)  # step events are logged at DEBUG
EVENTS.propagate = False  # never into the root logger's handlers (the screen)
EVENTS.addHandler(logging.NullHandler())  # no "no handlers" fallback printing when nobody listens


@logger(
    config_schema=None,
    description="Hands the run's Dagster events to the Python logger hpw.run_events (`hpw build` progress).",
)
def run_events_logger(_init_context) -> logging.Logger:
    return EVENTS


class _Listener(logging.Handler):
    def __init__(self, run_id: str, callback: Callable) -> None:
        super().__init__(logging.DEBUG)
        self.run_id, self.callback = run_id, callback

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is not None and meta.get("run_id") == self.run_id:
            self.callback(event)


@contextmanager
def listen(run_id: str, callback: Callable) -> Iterator[None]:
    """Call `callback(dagster_event)` for every event of run `run_id` while the block runs."""
    handler = _Listener(run_id, callback)
    EVENTS.addHandler(handler)
    try:
        yield
    finally:
        EVENTS.removeHandler(handler)
