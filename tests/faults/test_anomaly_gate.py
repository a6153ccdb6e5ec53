"""The anomaly gate (pipelines/anomaly.py): a new vintage that meets its contract but differs from the published one
beyond tolerance stops the build, naming source, file, the published vintage and what changed; the published
warehouse stays byte-identical and the file is kept under `.rejected/`. `--accept-change RAW_TABLE=REASON` lets a
real change through, recorded in `meta.ingestions.accepted_change`.

The corruptions are of the real bundled files: a download cut at a line end (40 % of rows), an amount column
exported blank, Paraguay's and Uruguay's codes swapped, El Salvador's rows given Argentina's code, an activity row
repeated, amounts rounded to thousands, World Bank values cut to integers.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PROJECT_ROOT, reused_folder
from tests.faults import corrupt as c
from tests.faults.conftest import publish_copy
from tests.faults.test_publish_safety import full_copy

pytestmark = pytest.mark.e2e
SUMMARY_CODE, SUMMARY_NAME = "Country Code", "Country Name"


def _rewrite(src: Path, tmp: Path, change) -> Path:
    """Apply `change(row, header)` to every data row of a CSV (header kept, quoting minimal, same line ends)."""
    text = src.read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\r\n" if "\r\n" in text else "\n").writerows(
        [header] + [change(list(r), header) for r in rows[1:]]
    )
    return c.write(tmp, src.name, out.getvalue().encode("utf-8"))


def partial_download(tmp: Path) -> Path:
    lines = c.lines(c.FA_SUMMARY)
    keep = 1 + int((len(lines) - 1) * 0.4)
    return c.write(tmp, c.FA_SUMMARY.name, b"".join(lines[:keep]))  # cut at a line end: every row is whole


def blank_amounts(tmp: Path) -> Path:
    def change(row, header):
        row[header.index("current_amount")] = ""
        return row

    return _rewrite(c.FA_SUMMARY, tmp, change)


def swapped_codes(tmp: Path) -> Path:
    pairs = {"PRY": ("URY", "Uruguay"), "URY": ("PRY", "Paraguay")}

    def change(row, header):
        code, name = header.index(SUMMARY_CODE), header.index(SUMMARY_NAME)
        if row[code] in pairs:
            row[code], row[name] = pairs[row[code]]
        return row

    return _rewrite(c.FA_SUMMARY, tmp, change)


def salvador_as_argentina(tmp: Path) -> Path:
    def change(row, header):
        if row[header.index(SUMMARY_CODE)] == "SLV":
            row[header.index(SUMMARY_CODE)], row[header.index(SUMMARY_NAME)] = "ARG", "Argentina"
        return row

    return _rewrite(c.FA_SUMMARY, tmp, change)


def rounded_thousands(tmp: Path) -> Path:
    return c.map_column(c.FA_SUMMARY, tmp, "constant_amount", lambda v: str(round(int(v), -3)))


def wdi_cut_to_integers(tmp: Path) -> Path:
    folder = c.wdi_folder(tmp)
    for path in folder.glob("API_*.csv"):
        text = path.read_bytes().decode("utf-8-sig")
        path.write_bytes(b"\xef\xbb\xbf" + re.sub(r'"(-?\d+)\.\d+"', r'"\1"', text).encode("utf-8"))
    return folder / c.WDI_HOMICIDE


# (case id, raw table, make, fragments of the error)
STOPPED = [
    ("partial_download_40_percent", "us_foreign_aid_summary", partial_download, ["rows fell from 4,649 to 1,859"]),
    (
        "duplicated_activity_row",
        "us_foreign_aid_activity",
        lambda t: c.duplicate_row(c.FA_ACTIVITY, t, 100),
        ["1 row(s) repeat another row exactly (published vintage: 0)"],
    ),
    (
        "amount_column_blank",
        "us_foreign_aid_summary",
        blank_amounts,
        ["column current_amount_usd is now entirely empty"],
    ),
    ("world_bank_values_cut_to_integers", "worldbank_wdi_csv", wdi_cut_to_integers, ["column value lost its decimals"]),
    (
        "paraguay_uruguay_codes_swapped",
        "us_foreign_aid_summary",
        swapped_codes,
        ["rows of PRY now appear unchanged under URY", "rows of URY now appear unchanged under PRY"],
    ),
    # Argentina already has rows for those years: the contract's key check stops this one before the gate
    (
        "el_salvador_coded_argentina",
        "us_foreign_aid_summary",
        salvador_as_argentina,
        ["breaks its contract", "multiple_fields_uniqueness", '"iso3":"ARG"'],
    ),
    (
        "amounts_rounded_to_thousands",
        "us_foreign_aid_summary",
        rounded_thousands,
        ["column constant_amount_usd is rounded to thousands"],
    ),
]


def _rounds(cases):
    rounds: list[list[tuple]] = []
    for case in cases:
        free = next((r for r in rounds if case[1] not in {other[1] for other in r}), None)
        free.append(case) if free is not None else rounds.append([case])
    return rounds


ROUNDS = _rounds(STOPPED)
ROUND_OF = {case[0]: n for n, cases in enumerate(ROUNDS) for case in cases}


@pytest.fixture(scope="module")
def gate_builds(built_warehouse, tmp_path_factory):
    published = publish_copy(built_warehouse, reused_folder(tmp_path_factory, "anomaly_gate"), whole=True)
    done: dict[int, dict] = {}

    def run(case_id: str) -> dict:
        n = ROUND_OF[case_id]
        if n not in done:
            files = {cid: make(tmp_path_factory.mktemp(cid)) for cid, _, make, _ in ROUNDS[n]}
            result = published.build(**{table: str(files[cid]) for cid, table, _, _ in ROUNDS[n]})
            done[n] = {"result": result, "files": files, "unchanged": published.unchanged(), "root": published.root}
        return done[n]

    return run


@pytest.mark.parametrize(
    "table, make, fragments",
    [
        pytest.param(*case[1:], id=case[0], marks=pytest.mark.xdist_group(f"anomaly_gate_round_{ROUND_OF[case[0]]}"))
        for case in STOPPED
    ],
)
def test_suspicious_new_vintage_is_stopped(gate_builds, request, table, make, fragments):
    case_id = request.node.callspec.id
    run = gate_builds(case_id)
    result, bad = run["result"], run["files"][case_id]
    assert not result.success
    error = result.failures.get(table, "")
    if "breaks its contract" not in fragments:
        assert "anomaly gate stopped" in error and f"{table}=REASON" in error, error
        assert f"] {bad.name}: " in error  # names the source and the file
    assert error.startswith("[") and bad.name in error
    missing = [f for f in fragments if f not in error]
    assert not missing, f"error of {table} lacks {missing}:\n{error}"
    assert run["unchanged"], "the published warehouse changed"
    kept = [p for p in result.rejected_files if p.name.endswith("_" + bad.name)]
    assert kept and hashlib.sha256(kept[0].read_bytes()).hexdigest() == hashlib.sha256(bad.read_bytes()).hexdigest()


def test_accepted_change_is_published_and_its_reason_recorded(built_warehouse, tmp_path, reused_root):
    """`hpw build --accept-change` (default output): the 40 % file is let through, the reason is in
    meta.ingestions, and the whole output on success is at most 40 lines, one per stage and the summary."""
    root = full_copy(built_warehouse, reused_root)
    partial = partial_download(tmp_path)
    reason = "publisher now serves FY2000 onwards only (synthetic test)"
    env = {**os.environ, "HPW_WAREHOUSE_DIR": str(root)}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "build",
            "--file",
            f"us_foreign_aid_summary={partial}",
            "--accept-change",
            f"us_foreign_aid_summary={reason}",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr
    lines = (out.stdout + out.stderr).strip().splitlines()
    assert len(lines) <= 40, lines
    assert sum(line.lstrip().startswith(("sources ", "contracts ", "dbt ", "publish ")) for line in lines) == 4, lines
    assert any("build succeeded" in line and "log:" in line for line in lines)
    assert lines[-1].startswith("published: replaced partnership.duckdb")
    assert "Traceback" not in out.stdout + out.stderr and " START " not in out.stdout
    with duckdb.connect(str(root / "partnership.duckdb"), read_only=True) as con:
        accepted = con.execute(
            "select accepted_change from meta.ingestions where raw_table = 'us_foreign_aid_summary' "
            "and accepted_change is not null"
        ).fetchall()
        rows = con.execute("select rows_landed from meta.loads where raw_table = 'us_foreign_aid_summary'").fetchone()[
            0
        ]
    assert len(accepted) == 1 and reason in accepted[0][0] and "rows fell from 4,649 to 1,859" in accepted[0][0]
    assert rows == 1859
