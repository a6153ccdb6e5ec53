"""The ingestion log read back (pipelines/fetch.read_log) while it grows: each read equals the whole file parsed
independently here, whatever was appended, damaged, half-written or replaced since the previous read (a process
reads only the lines added since its last read)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from pipelines import fetch


def _entry(n: int) -> fetch.Ingestion:
    return fetch.Ingestion(
        source="imf_dots",
        raw_table="imf_dots_us_trade",
        mode="snapshot",
        url_or_path=f"data/snapshots/imf_dots/file_{n}.csv",
        retrieved_at=f"2026-12-07T10:00:{n:02d}+00:00",
        sha256=f"{n:064x}",
        bytes=1000 + n,
        rows=n,
        outcome="new_vintage" if n % 2 else "unchanged",
    )


def _independent(path: Path) -> tuple[list[tuple], list[int]]:
    """Rows (meta.ingestions column order) and the numbers of the lines that are not JSON objects."""
    rows, damaged = [], []
    for number, line in enumerate(path.read_bytes().split(b"\n") if path.is_file() else [], start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            damaged.append(number)
            continue
        if not isinstance(entry, dict):
            damaged.append(number)
            continue
        rows.append(tuple(entry.get(name) for name in fetch.INGESTION_COLUMNS))
    return rows, damaged


def _check(root: Path, caplog) -> int:
    caplog.clear()
    frame = fetch.read_log(root)
    rows, damaged = _independent(fetch.log_path(root))
    assert frame.columns == list(fetch.INGESTION_COLUMNS)
    assert frame.rows() == rows
    warned = [r.getMessage() for r in caplog.records if "damaged line" in r.getMessage()]
    if damaged:
        assert len(warned) == 1 and f"skipped {len(damaged)} damaged line(s)" in warned[0]
        assert f"({', '.join(map(str, damaged[:5]))})" in warned[0]
    else:
        assert not warned
    return frame.height


def test_each_read_of_a_growing_log_is_the_whole_file(tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    root, log = tmp_path / "data", tmp_path / "data" / fetch.LOG_NAME
    assert _check(root, caplog) == 0
    for n in range(1, 4):
        fetch.append_log(root, _entry(n))
        assert _check(root, caplog) == n
    with log.open("ab") as handle:  # a damaged line, then a build killed half way through writing its entry
        handle.write(b"not json\n")
        handle.write(json.dumps(fetch.asdict(_entry(4))).encode()[:40])
    assert _check(root, caplog) == 3  # lines 4 and 5 damaged
    fetch.append_log(root, _entry(5))  # closes the half-written line first
    assert _check(root, caplog) == 4
    with log.open("ab") as handle:  # an entry, then a whole one whose newline is not written yet
        handle.write(json.dumps(fetch.asdict(_entry(6))).encode() + b"\n")
        handle.write(json.dumps(fetch.asdict(_entry(7))).encode())
    assert _check(root, caplog) == 6
    fetch.append_log(root, _entry(8))
    assert _check(root, caplog) == 7

    replacement = tmp_path / "replacement.jsonl"  # the log replaced by another file, longer, other entries
    replacement.write_text("".join(json.dumps(fetch.asdict(_entry(n))) + "\n" for n in range(20, 40)))
    os.replace(replacement, log)
    assert _check(root, caplog) == 20
    log.write_bytes(log.read_bytes()[:-1] + b"\n" + log.read_bytes()[:200])  # rewritten in place, same inode
    assert _check(root, caplog) == 20
    log.unlink()
    assert _check(root, caplog) == 0
