"""The floor under a cold build: every bundled raw file read once by a plain reader, nothing else.

    python -m bench.rawread      # prints one JSON line: {"files", "bytes", "seconds", "cpu_seconds", "by_kind"}

The files are the ones a cold build reads: each raw table's bundled file and, for sources that read a whole
folder (the FMTR XML reports, the World Bank bulk CSVs), every file of the same kind beside it. Readers:
polars `read_csv` (every column as text), polars `read_excel` (calamine, every sheet), polars `read_ndjson` /
`read_json`, and, for the formats polars and DuckDB have no reader for, the standard library (`ElementTree` for
XML, `HTMLParser` for the one HTML page). Run in its own process by bench/run.py after the imports, so the
figure is the reads alone.
"""

from __future__ import annotations

import json
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

FOLDER_KINDS = {".xml", ".csv", ".json", ".jsonl"}  # a folder source reads its siblings of the same kind


def bundled_files() -> list[Path]:
    from pipelines.sources import RAW_TABLES

    files: set[Path] = set()
    for table in RAW_TABLES:
        path = table.bundled_path.resolve()
        files.add(path)
        if path.suffix.lower() in FOLDER_KINDS:
            files |= {p.resolve() for p in path.parent.glob(f"*{path.suffix}") if p.is_file()}
    return sorted(files)


def read_plain(path: Path) -> None:
    import polars as pl

    kind = path.suffix.lower()
    if kind == ".csv":
        for encoding in ("utf8", "utf8-lossy"):  # a Latin-1 file is read lossy: the bytes are still all read
            try:
                pl.read_csv(path, infer_schema_length=0, encoding=encoding, truncate_ragged_lines=True)
                return
            except pl.exceptions.ComputeError:
                continue
        # preambles (World Bank, SIPRI) make the header ragged: read as one text column instead
        pl.read_csv(path, has_header=False, separator="\x1f", quote_char=None, infer_schema_length=0)
    elif kind in {".xlsx", ".xlsm", ".xls"}:
        pl.read_excel(path, sheet_id=0, engine="calamine", infer_schema_length=0, raise_if_empty=False)
    elif kind == ".jsonl":
        pl.read_ndjson(path)
    elif kind == ".json":
        json.loads(path.read_bytes())
    elif kind == ".xml":
        import xml.etree.ElementTree as ET

        ET.parse(path)
    elif kind in {".html", ".htm"}:
        parser = HTMLParser()
        parser.feed(path.read_bytes().decode("utf-8", "replace"))
    else:
        path.read_bytes()


def main() -> int:
    files = bundled_files()
    by_kind: dict[str, float] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for path in files:
        t0 = time.perf_counter()
        read_plain(path)
        by_kind[path.suffix.lower()] = by_kind.get(path.suffix.lower(), 0.0) + time.perf_counter() - t0
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    total = sum(p.stat().st_size for p in files)
    print(json.dumps({"files": len(files), "bytes": total, "seconds": seconds, "cpu_seconds": cpu, "by_kind": by_kind}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
