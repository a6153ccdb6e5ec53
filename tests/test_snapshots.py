"""The vendored publisher files are byte-identical to the checksums their SOURCE.md (and SHA256SUMS) give."""

from __future__ import annotations

import hashlib
import re

import pytest

from tests.conftest import SNAPSHOTS

SHA_IN_TEXT = re.compile(r"\b[0-9a-f]{64}\b")


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def declared_in_source_md() -> list[tuple[str, str]]:
    """(relative file, sha256) pairs where a SOURCE.md names a bundled file and its checksum on one line."""
    pairs = []
    for source_md in sorted(SNAPSHOTS.glob("*/SOURCE*.md")):
        folder = source_md.parent
        names = [p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("SOURCE")]
        for line in source_md.read_text(encoding="utf-8").splitlines():
            hashes = SHA_IN_TEXT.findall(line)
            named = [n for n in names if n in line]
            if len(hashes) == 1 and len(named) == 1:
                pairs.append((f"{folder.name}/{named[0]}", hashes[0]))
    return pairs


def test_source_md_checksums_are_found():
    # Several SOURCE.md files give a checksum per file; if parsing finds none, the test below would be empty.
    assert len(declared_in_source_md()) >= 5


@pytest.mark.parametrize("relative, expected", declared_in_source_md())
def test_vendored_file_matches_source_md(relative, expected):
    assert sha256(SNAPSHOTS / relative) == expected, f"{relative} differs from the checksum in its SOURCE.md"


def test_every_data_file_matches_sha256sums():
    listed = {}
    for line in (SNAPSHOTS / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        listed[name.strip()] = digest
    data_files = {
        str(p.relative_to(SNAPSHOTS))
        for p in SNAPSHOTS.rglob("*")
        if p.is_file() and p.name != "SHA256SUMS" and not p.name.startswith(("SOURCE", "LICENSE"))
    }
    assert data_files == set(listed), "every bundled data file is listed in SHA256SUMS, and nothing else"
    mismatched = [name for name, digest in listed.items() if sha256(SNAPSHOTS / name) != digest]
    assert mismatched == []
