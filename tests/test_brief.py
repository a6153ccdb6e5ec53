"""The country brief: a self-contained page per country, charts drawn from the marts, graceful without a mart."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from pathlib import Path

import duckdb
import pytest

from pipelines.brief import X_START, BriefError, write_briefs

pytestmark = pytest.mark.e2e

ALWAYS = ["chart-aid", "chart-trade", "chart-arms", "chart-troops", "chart-exercises"]
PARTNERSHIP = {"chart-scores": "partnership_index", "chart-peers": "peer_comparison"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _svgs(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg class="chart" id="([\w-]+)".*?</svg>', html, re.S)}


def _has_table(con, name: str) -> bool:
    return bool(con.execute(
        "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?", [name]
    ).fetchone()[0])


@pytest.fixture(scope="module")
def paraguay(built_warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("briefs")
    written = write_briefs(built_warehouse / "partnership.duckdb", out, ["PRY"])
    assert [p.name for p in written] == ["PRY.html", "index.html"]
    return out / "PRY.html"


def test_paraguay_brief_has_every_chart_with_data(paraguay, marts):
    html = paraguay.read_text(encoding="utf-8")
    svgs = _svgs(html)
    for chart in ALWAYS:
        assert chart in svgs, chart
        assert svgs[chart].count('class="datum"') > 0, chart
        assert re.search(r'class="chart-title"[^>]*>[^<]+<', svgs[chart]) and 'class="axis-unit"' in svgs[chart], chart
    for chart, table in PARTNERSHIP.items():
        if _has_table(marts, table):
            assert chart in svgs and svgs[chart].count('class="datum"') > 0, chart
        else:
            assert chart not in svgs
            assert f'data-chart="{chart}">Not available in this build: the table marts.{table}' in html


def test_aid_and_trade_points_are_the_known_mart_values(paraguay, marts):
    svgs = _svgs(paraguay.read_text(encoding="utf-8"))
    aid = marts.execute(
        "select fiscal_year, amount_constant_usd from marts.fct_us_aid_country_year where iso3 = 'PRY' and aid_category = 'Total' "
        "and fiscal_period = 'FY' and transaction_type = 'Obligations' and fiscal_year >= ? and amount_constant_usd is not null",
        [X_START],
    ).fetchall()
    tooltips = dict(re.findall(r"<title>Obligations, (\d{4}): ([\d,.-]+)</title>", svgs["chart-aid"]))
    assert {int(k): v for k, v in tooltips.items()} == {year: f"{amount / 1e6:,.0f}" for year, amount in aid}
    known_imports = marts.execute(
        "select count(*) from marts.fct_us_trade_country_year where iso3 = 'PRY' and us_imports_usd is not null "
        "and not is_partial_period and year >= ?", [X_START]
    ).fetchone()[0]
    assert len(re.findall(r"<title>US imports from the country, \d{4}:", svgs["chart-trade"])) == known_imports
    # the year-to-date Census year (2026, January-August) is not drawn as a yearly point
    assert "US imports from the country, 2025:" in svgs["chart-trade"]
    assert "US imports from the country, 2026:" not in svgs["chart-trade"]


def test_agreements_are_marked_and_listed(paraguay, marts):
    html = paraguay.read_text(encoding="utf-8")
    agreements = marts.execute(
        "select count(*), count(*) filter (where year(coalesce(date_signed, date_in_force)) >= ?) "
        "from marts.fct_security_agreements where iso3 = 'PRY'",
        [X_START],
    ).fetchone()
    table = html[html.index('id="section-agreements"'):html.index('id="section-sources"')]
    assert table.count("<tr><td>") == agreements[0]
    assert "United States-Paraguay Status of Forces Agreement" in table and "signed 2025-12-15" in table
    assert _svgs(html)["chart-aid"].count('<g class="event">') == agreements[1] > 0


def test_sources_table_lists_every_load_and_coverage_ends_are_noted(paraguay, marts):
    html = paraguay.read_text(encoding="utf-8")
    sources = html[html.index('id="section-sources"'):]
    loads = marts.execute("select raw_table, left(sha256, 12) from meta.loads").fetchall()
    assert sources.count("<tr><td>") == len(loads)
    assert all(f"<td>{name}</td>" in sources and sha in sources for name, sha in loads)
    coverage = marts.execute("select max(coverage_ends_year) from marts.fct_exercises_country_year where iso3 = 'PRY'").fetchone()[0]
    assert f"data end {coverage} (shaded: no data)" in _svgs(html)["chart-exercises"]


def test_the_page_is_self_contained(paraguay):
    html = paraguay.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


def test_index_links_every_written_brief(built_warehouse, tmp_path):
    written = write_briefs(built_warehouse / "partnership.duckdb", tmp_path, ["COL", "slv"])
    assert sorted(p.name for p in written) == ["COL.html", "SLV.html", "index.html"]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'<a href="(\w+)\.html">', index)) == ["COL", "SLV"]
    with duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True) as con:
        lac = con.execute("select count(*) from marts.dim_country where is_lac").fetchone()[0]
    assert index.count("<tr><td>") == lac


def test_missing_partnership_marts_degrade_to_a_visible_note(built_warehouse, tmp_path):
    database = tmp_path / "partnership.duckdb"
    shutil.copy(built_warehouse / "partnership.duckdb", database)
    with duckdb.connect(str(database)) as con:
        for table in PARTNERSHIP.values():
            con.execute(f"drop table if exists marts.{table} cascade")
    write_briefs(database, tmp_path / "out", ["PRY"])
    html = (tmp_path / "out" / "PRY.html").read_text(encoding="utf-8")
    for chart, table in PARTNERSHIP.items():
        assert chart not in _svgs(html)
        assert f"Not available in this build: the table marts.{table} is not in the published warehouse." in html
    assert all(_svgs(html)[chart].count('class="datum"') > 0 for chart in ALWAYS)


def test_unknown_country_is_refused(built_warehouse, tmp_path):
    with pytest.raises(BriefError, match="unknown country 'ZZZ'"):
        write_briefs(built_warehouse / "partnership.duckdb", tmp_path, ["ZZZ"])


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _console_messages(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@pytest.mark.skipif(_chromium() is None, reason="Debian chromium is not installed (apt-get install -y chromium)")
def test_paraguay_brief_in_headless_chromium(paraguay, tmp_path, tmp_path_factory):
    chromium = _chromium()
    run = dict(capture_output=True, text=True, timeout=120)
    # the console check itself can fail: a page with a script error is caught
    broken = tmp_path / "broken.html"
    broken.write_text('<html><body><script>console.error("broken page");</script></body></html>', encoding="utf-8")
    probe = subprocess.run([chromium, *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0", "--dump-dom", broken.as_uri()], **run)
    assert any("broken page" in line for line in _console_messages(probe.stderr))

    dom = subprocess.run([chromium, *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0", "--dump-dom", paraguay.as_uri()], **run)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert _console_messages(dom.stderr) == []
    svgs = _svgs(dom.stdout)
    for chart in ALWAYS:
        assert svgs.get(chart, "").count('class="datum"') > 0, chart

    # the screenshot is a test artifact: HPW_TEST_ARTIFACTS names a folder to keep it in (default: pytest's basetemp)
    artifacts = Path(os.environ.get("HPW_TEST_ARTIFACTS") or tmp_path_factory.getbasetemp() / "artifacts")
    artifacts.mkdir(parents=True, exist_ok=True)
    png = artifacts / "brief_PRY.png"
    png.unlink(missing_ok=True)
    shot = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--hide-scrollbars", "--window-size=900,4400", f"--screenshot={png}", paraguay.as_uri()], **run
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (900, 4400)
    print(f"screenshot of the Paraguay brief: {png}")
