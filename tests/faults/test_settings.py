"""Settings are checked before any work: a typo in an HPW_* name or value fails `hpw build` at once, with one line
naming the fault and a hint listing the valid names; nothing is built, published or written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import settings
from tests.conftest import PROJECT_ROOT

HPW = [sys.executable, "-m", "pipelines.cli"]


def _hpw_build(root: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HPW_")}
    return subprocess.run(
        [*HPW, "build"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "HPW_WAREHOUSE_DIR": str(root), **env},
    )


CASES = [
    (
        "typo_in_a_file_override",
        {"HPW_US_FOREIGN_AID_SUMARY_PATH": "x.csv"},
        ["unknown setting HPW_US_FOREIGN_AID_SUMARY_PATH", "did you mean HPW_US_FOREIGN_AID_SUMMARY_PATH"],
        ["HPW_MODE", "HPW_FETCH_TIMEOUT", "US_FOREIGN_AID_SUMMARY"],
    ),
    ("unknown_name", {"HPW_WAREHOUSE": "/tmp"}, ["unknown setting HPW_WAREHOUSE"], ["HPW_WAREHOUSE_DIR"]),
    ("typo_in_the_mode", {"HPW_MODE": "lvie"}, ["HPW_MODE='lvie' is not a mode"], ["snapshot, live"]),
    ("non_numeric_timeout", {"HPW_FETCH_TIMEOUT": "5s"}, ["HPW_FETCH_TIMEOUT='5s' is not a number"], ["seconds"]),
    ("zero_attempts", {"HPW_FETCH_ATTEMPTS": "0"}, ["HPW_FETCH_ATTEMPTS='0' is not a whole number greater than 0"], []),
    ("unknown_extra_country", {"HPW_EXTRA_COUNTRIES": "CAN,XYZ"}, ["HPW_EXTRA_COUNTRIES", "XYZ"], ["three-letter"]),
    (
        "folder_as_file",
        {"HPW_US_BASES_PATH": str(PROJECT_ROOT / "data")},
        ["HPW_US_BASES_PATH=", "is a folder, not a file"],
        ["the publisher's file"],
    ),
    ("url_that_is_not_http", {"HPW_US_BASES_URL": "ftp://example.org/x.csv"}, ["is not an http(s) address"], []),
]


@pytest.mark.slow  # each case runs `hpw build` in another interpreter
@pytest.mark.parametrize("env, fragments, hint", [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_bad_setting_fails_before_any_work_with_valid_names(tmp_path, env, fragments, hint):
    root = tmp_path / "warehouse"
    out = _hpw_build(root, **env)
    assert out.returncode == 1, out
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: "), out.stderr
    assert all(f in lines[0] for f in fragments), lines[0]
    assert all(h in lines[1] for h in hint), lines[1]
    assert "Traceback" not in out.stderr + out.stdout
    assert not root.exists()  # nothing was created: not even the warehouse folder


@pytest.mark.slow  # `hpw build` in another interpreter
def test_a_directory_given_with_file_is_said_to_be_a_folder(tmp_path):
    out = subprocess.run(
        [*HPW, "build", "--file", f"us_bases={tmp_path}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HPW_WAREHOUSE_DIR": str(tmp_path / "w")},
    )
    assert out.returncode == 1 and "is a folder, not a file" in out.stderr and "does not exist" not in out.stderr
    assert not (tmp_path / "w" / ".build").exists()


def test_valid_settings_pass():
    settings.check_environment(
        {
            "HPW_MODE": "LIVE",
            "HPW_FETCH_TIMEOUT": "2.5",
            "HPW_EXTRA_COUNTRIES": "can, esp",
            "HPW_US_FOREIGN_AID_SUMMARY_PATH": str(PROJECT_ROOT / "README.md"),
            "HPW_US_FOREIGN_AID_SUMMARY_MAX_BYTES": "1000",
        }
    )


def test_every_hpw_name_the_code_reads_is_a_known_setting():
    """A new HPW_* variable must be declared in settings.SETTINGS, or the check would refuse it as a typo."""
    used = set()
    for folder in ("pipelines", "data_contracts", "tests", "bench"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            used |= set(re.findall(r"\bHPW_[A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    keys = settings._file_keys()
    per_file = {f"HPW_{k}{s}" for k in keys for s in settings.PER_FILE_SUFFIXES}
    test_cases = {name for case in CASES for name in case[1]}  # the typos this file tries on purpose
    unknown = sorted(
        n
        for n in used - set(settings.SETTINGS) - per_file - test_cases
        if not n.endswith("_") and n not in {"HPW_WAREHOUSE", "HPW_KEY"}
    )
    assert unknown == [], f"HPW_* names used in code but not declared in pipelines/settings.py SETTINGS: {unknown}"
