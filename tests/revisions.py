"""A publisher's small revision of a bundled file, written as a modified copy (the snapshots are never edited): what
a refresh test feeds `hpw build --file` so one raw table changes and the rest carry over."""

from __future__ import annotations

from pathlib import Path

from pipelines.sources import RAW_TABLES_BY_NAME

TROOPS = RAW_TABLES_BY_NAME["us_troops_dmdc"]


def changed_troops_file(folder: Path) -> Path:
    """The bundled DMDC file with Paraguay's June 1953 total raised by 100 (one value), in the real layout."""
    lines = TROOPS.bundled_path.read_text(encoding="utf-8").splitlines(keepends=True)
    total = lines[0].rstrip("\n").split(",").index("Total")
    target = next(i for i, line in enumerate(lines) if ",Paraguay," in line and ",1953,June," in line)
    cells = lines[target].rstrip("\n").split(",")
    cells[total] = str(int(cells[total]) + 100)
    lines[target] = ",".join(cells) + "\n"
    folder.mkdir()
    changed = folder / TROOPS.default_file
    changed.write_text("".join(lines), encoding="utf-8")
    return changed
