"""Every error is one true line (plus a hint), names the source and the file or URL at fault, is cut to a readable
length and is never a traceback: a zip given for a CSV, a semicolon/decimal-comma export, a 10 MB cell, a full disk
(every raw table failing for one cause: said once, no publisher file blamed), `hpw query` on interval and timestamp
results. A failing dbt test (test, model, rows, raw table and file in one line) is checked in test_dbt_worker.py, on
the same real dbt build run with and without the warm dbt process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, reused_folder
from tests.faults import corrupt as c
from tests.faults.conftest import publish_copy

pytestmark = pytest.mark.e2e
HPW = [sys.executable, "-m", "pipelines.cli"]


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "HPW_WAREHOUSE_DIR": str(root), **extra}


def zipped_summary(tmp: Path) -> Path:
    target = tmp / c.FA_SUMMARY.name  # the publisher's name, but the bytes of a zip archive
    tmp.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(c.FA_SUMMARY, c.FA_SUMMARY.name)
    return target


def semicolon_bases(tmp: Path) -> Path:
    """The bases file re-saved by a spreadsheet in a European locale: ';' separators, ',' decimal marks."""
    rows = list(csv.reader(io.StringIO(c.BASES.read_bytes().decode("latin-1"), newline="")))
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(
            [cell.replace(".", ",") if cell.replace(".", "", 1).lstrip("-").isdigit() else cell for cell in row]
        )
    return c.write(tmp, c.BASES.name, out.getvalue().encode("latin-1"))


def _dots_with_huge_partner(tmp: Path) -> Path:
    """A 10 MB cell where an export value belongs (a broken export that ran a text column into the next)."""
    return c.set_cell(c.DOTS, tmp, 5, c.DOTS_EXPORTS, "X" * 10_000_000)


@pytest.fixture(scope="module")
def failing_cli_build(built_warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("messages")
    # a refresh of the three tables
    published = publish_copy(built_warehouse, reused_folder(tmp_path_factory, "messages"), whole=True)
    files = {
        "us_foreign_aid_summary": zipped_summary(tmp / "zip"),
        "us_bases": semicolon_bases(tmp / "semicolon"),
        "imf_dots_us_trade": _dots_with_huge_partner(tmp / "huge"),
    }
    args = [arg for table, path in files.items() for arg in ("--file", f"{table}={path}")]
    out = subprocess.run(
        [*HPW, "build", *args],
        cwd=PROJECT_ROOT,
        env=_env(published.root),
        capture_output=True,
        text=True,
        timeout=900,
    )
    return out, published, files


def test_failing_build_says_one_readable_line_per_cause(failing_cli_build):
    out, published, files = failing_cli_build
    assert out.returncode == 1
    assert "Traceback" not in out.stdout + out.stderr
    assert "refresh: 3 raw table(s) changed" in out.stdout  # only the three files given are re-read
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(files), out.stderr
    assert all(len(line) <= 500 for line in out.stderr.splitlines()), [len(line) for line in out.stderr.splitlines()]
    hint = out.stderr.strip().splitlines()[-1]
    assert hint.startswith("hint: the published warehouse and exports were left unchanged; full log: ")
    assert published.unchanged()
    assert len(out.stdout.splitlines()) <= 40


def test_zip_given_for_a_csv_is_said_so(failing_cli_build):
    out, _, files = failing_cli_build
    line = next(line for line in out.stderr.splitlines() if "[us_foreign_aid]" in line)
    assert f"{files['us_foreign_aid_summary'].name} is a zip archive holding {c.FA_SUMMARY.name}" in line
    assert "unzip it" in line


def test_semicolon_decimal_comma_file_is_said_so(failing_cli_build):
    out, _, _ = failing_cli_build
    line = next(line for line in out.stderr.splitlines() if "[us_bases]" in line)
    assert "uses ';' as the column separator and ',' as the decimal mark" in line


def test_a_10_mb_cell_is_cut_in_the_one_line_error_and_kept_whole_in_the_log(failing_cli_build):
    out, published, files = failing_cli_build
    line = next(line for line in out.stderr.splitlines() if "[imf_dots_us_trade]" in line)
    assert "XXXX" in line and " characters]" in line and len(line) <= 500 and "exports_fob_usd" in line
    kept = list((published.root / ".rejected" / "imf_dots_us_trade").glob("*.error.txt"))
    assert kept and "X" * 10_000 in kept[0].read_text(encoding="utf-8")


def test_a_full_disk_fails_every_raw_table_in_one_line_and_blames_no_file(built_warehouse, tmp_path, reused_root):
    published = publish_copy(built_warehouse, reused_root)
    data = tmp_path / "data"
    data.mkdir()
    (data / "ingestions.jsonl").symlink_to("/dev/full")  # every write to it: ENOSPC, as on a full disk
    out = subprocess.run(
        [*HPW, "build", "--force"],
        cwd=PROJECT_ROOT,
        env=_env(published.root, HPW_DATA_DIR=str(data)),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 1 and "Traceback" not in out.stdout + out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, out.stderr
    assert "raw tables failed with the same error" in errors[0] and "No space left on device" in errors[0]
    assert str(data / "ingestions.jsonl") in errors[0]
    assert published.unchanged() and not (published.root / ".rejected").exists()


@pytest.mark.parametrize(
    "sql",
    [
        "select interval 1 day as i",
        "select timestamp '2025-12-15 10:00:00' as t, now() as n",
        "select interval '2 hours' as i, date '2025-12-15' as d",
    ],
)
def test_query_on_interval_and_timestamp_results_is_never_a_traceback(built_warehouse, sql):
    out = subprocess.run(
        [*HPW, "query", sql], cwd=PROJECT_ROOT, env=_env(built_warehouse), capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in out.stderr + out.stdout
    if out.returncode:
        assert len(out.stderr.strip().splitlines()) == 2 and out.stderr.startswith("error: "), out.stderr
    json.dumps(out.stdout)  # printable
