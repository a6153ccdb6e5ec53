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
from pipelines.brief.svg import BADGE_R, WIDTH, Chart, Event, Series, render, spread

pytestmark = pytest.mark.e2e

ALWAYS = ["chart-aid", "chart-trade", "chart-arms", "chart-troops", "chart-exercises"]
PARTNERSHIP = {"chart-scores": "partnership_index", "chart-peers": "peer_comparison"}
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _svgs(html: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r'<svg class="chart" id="([\w-]+)".*?</svg>', html, re.S)}


def _has_table(con, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?", [name]
        ).fetchone()[0]
    )


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
        "select fiscal_year, amount_constant_usd from marts.fct_us_aid_country_year where iso3 = 'PRY' and "
        "aid_category = 'Total' and fiscal_period = 'FY' and transaction_type = 'Obligations' and fiscal_year >= ? "
        "and amount_constant_usd is not null",
        [X_START],
    ).fetchall()
    tooltips = dict(re.findall(r"<title>Obligations, (\d{4}): ([\d,.-]+)</title>", svgs["chart-aid"]))
    assert {int(k): v for k, v in tooltips.items()} == {year: f"{amount / 1e6:,.0f}" for year, amount in aid}
    known_imports = marts.execute(
        "select count(*) from marts.fct_us_trade_country_year where iso3 = 'PRY' and us_imports_usd is not null "
        "and not is_partial_period and year >= ?",
        [X_START],
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
    table = html[html.index('id="section-agreements"') : html.index('id="section-sources"')]
    assert table.count("<tr><td>") == agreements[0]
    assert "United States-Paraguay Status of Forces Agreement" in table and "signed 2025-12-15" in table
    assert _svgs(html)["chart-aid"].count('<g class="event">') == agreements[1] > 0


def test_sources_table_lists_every_load_and_coverage_ends_are_noted(paraguay, marts):
    html = paraguay.read_text(encoding="utf-8")
    sources = html[html.index('id="section-sources"') :]
    loads = marts.execute("select raw_table, left(sha256, 12) from meta.loads").fetchall()
    assert sources.count("<tr><td>") == len(loads)
    assert all(f"<td>{name}</td>" in sources and sha in sources for name, sha in loads)
    coverage = marts.execute(
        "select max(coverage_ends_year) from marts.fct_exercises_country_year where iso3 = 'PRY'"
    ).fetchone()[0]
    assert f"data end {coverage} (shaded: no data)" in _svgs(html)["chart-exercises"]


def test_the_page_is_self_contained(paraguay):
    html = paraguay.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@import" not in html and "url(" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html)


# LAC countries some source has a known value for, read here straight from the fact tables
WITH_DATA = """
    select iso3 from marts.dim_country where is_lac and iso3 in (
        select iso3 from marts.fct_us_aid_country_year where amount_current_usd is not null
        union select iso3 from marts.fct_us_trade_country_year
              where us_exports_usd is not null or us_imports_usd is not null
        union select iso3 from marts.fct_arms_imports_country_year where tiv_total_mn is not null
        union select iso3 from marts.fct_us_troops_country_year where personnel_total is not null
        union select iso3 from marts.fct_exercises_country_year where exercises_total > 0
        union select iso3 from marts.fct_security_agreements)
"""


def test_index_links_every_written_brief_and_lists_only_countries_with_data(built_warehouse, tmp_path):
    written = write_briefs(built_warehouse / "partnership.duckdb", tmp_path, ["COL", "slv"])
    assert sorted(p.name for p in written) == ["COL.html", "SLV.html", "index.html"]
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert sorted(re.findall(r'<a href="(\w+)\.html">', index)) == ["COL", "SLV"]
    with duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True) as con:
        with_data = {r[0] for r in con.execute(WITH_DATA).fetchall()}
        lac = {r[0] for r in con.execute("select iso3 from marts.dim_country where is_lac").fetchall()}
    assert "BVT" in lac - with_data and {"PRY", "COL", "SLV"} <= with_data  # Bouvet Island: no source has a row
    assert index.count("<tr><td>") == len(with_data)
    assert set(re.findall(r"<td>([A-Z]{3})</td>", index)) == with_data


def test_a_country_without_data_gets_no_brief_in_all_and_a_one_line_page_by_name(built_warehouse, tmp_path):
    with duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True) as con:
        with_data = {r[0] for r in con.execute(WITH_DATA).fetchall()}
    written = write_briefs(built_warehouse / "partnership.duckdb", tmp_path / "all", None)
    assert {p.stem for p in written} == with_data | {"index"}
    write_briefs(built_warehouse / "partnership.duckdb", tmp_path / "one", ["BVT"])
    page = (tmp_path / "one" / "BVT.html").read_text(encoding="utf-8")
    assert re.findall(r"<p[^>]*>(.*?)</p>", page) == [
        "No data: no source of this warehouse has a row for Bouvet Island (BVT), so there is no brief."
    ]
    assert "<svg" not in page and "BVT" not in (tmp_path / "one" / "index.html").read_text(encoding="utf-8")


def _summary(html: str) -> str:
    import html as html_module

    return html_module.unescape(re.search(r'<p class="summary" id="summary">(.*?)</p>', html, re.S).group(1))


def test_first_paragraph_answers_in_words_from_the_data(paraguay, built_warehouse, marts, tmp_path):
    summary = _summary(paraguay.read_text(encoding="utf-8"))
    if _has_table(marts, "partnership_index"):
        year, model_type = marts.execute(
            "select year, model_type from marts.partnership_index where iso3 = 'PRY' and model_type not in "
            "('insufficient_data') and economic_score is not null and security_score is not null "
            + (
                "and not coalesce(is_partial_period, false) "
                if "is_partial_period" in _columns(marts, "partnership_index")
                else ""
            )
            + "order by year desc limit 1"
        ).fetchone()
        words = {
            "security_led": "security-led",
            "economics_led": "economics-led",
            "security_plus_economics": "security plus economics",
            "limited": "limited",
        }[model_type]
        assert f"In {year}, the latest scored year, it was {words}" in summary
    # the SOFA signed 2025-12-15 is the latest agreement; nothing after it is observed yet
    assert "Status of Forces Agreement\u201d (signed 2025-12-15)" in summary
    last_aid = marts.execute(
        "select max(fiscal_year) from marts.fct_us_aid_country_year where iso3 = 'PRY' and aid_category = 'Total' "
        "and transaction_type = 'Obligations' and fiscal_period = 'FY' and amount_constant_usd is not null"
        + (" and not is_partial_period" if "is_partial_period" in _columns(marts, "fct_us_aid_country_year") else "")
    ).fetchone()[0]
    assert f"Not yet observed after them: US aid obligations (data end {last_aid}" in summary

    # Colombia's 2022 Major Non-NATO Ally designation: aid averaged over 2019-2021 and 2023-2025, read here
    # from the aid mart itself
    write_briefs(built_warehouse / "partnership.duckdb", tmp_path, ["COL"])
    colombia = _summary((tmp_path / "COL.html").read_text(encoding="utf-8"))
    aid_columns = _columns(marts, "fct_us_aid_country_year")
    one_source = " and source = 'us_foreign_aid'" if "source" in aid_columns else ""
    one_source += " and not is_partial_period" if "is_partial_period" in aid_columns else ""  # never an observation
    before, after = marts.execute(
        "select avg(amount_constant_usd) filter (where fiscal_year between 2019 and 2021), "
        "avg(amount_constant_usd) filter (where fiscal_year between 2023 and 2025) from marts.fct_us_aid_country_year "
        "where iso3 = 'COL' and aid_category = 'Total' and transaction_type = 'Obligations' and fiscal_period = 'FY'"
        + one_source
    ).fetchone()
    assert "Major Non-NATO Ally" in colombia and "(signed 2022-05-23)" in colombia
    assert (
        f"US aid obligations ${before / 1e6:,.1f} million a year before, ${after / 1e6:,.1f} million after" in colombia
    )


def _columns(con, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'marts' and table_name = ?",
            [table],
        ).fetchall()
    }


def _badges(svg: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in re.findall(r'<circle class="badge" cx="([\d.]+)" cy="([\d.]+)"', svg)]


def test_agreement_badges_never_overlap(built_warehouse, tmp_path, marts):
    focus = [r[0] for r in marts.execute("select iso3 from marts.dim_country where is_focus").fetchall()]
    write_briefs(built_warehouse / "partnership.duckdb", tmp_path, focus)
    checked = 0
    for iso3 in focus:
        for chart, svg in _svgs((tmp_path / f"{iso3}.html").read_text(encoding="utf-8")).items():
            badges = _badges(svg)
            assert len(badges) == svg.count('<g class="event">'), (iso3, chart)
            for i, (x, y) in enumerate(badges):
                assert BADGE_R <= x <= WIDTH - BADGE_R, (iso3, chart, x)
                for x2, y2 in badges[i + 1 :]:
                    assert (x - x2) ** 2 + (y - y2) ** 2 >= (2 * BADGE_R) ** 2, (iso3, chart, (x, y), (x2, y2))
            checked += len(badges)
    assert checked > 0
    # a dense case: twelve agreements in the last two years of the axis, and sixty in one year (more than a row holds)
    dense = [Event(2024 + i / 6, str(i), "") for i in range(12)]
    crowded = [Event(2025.5, str(i), "") for i in range(60)]
    for events in (dense, crowded):
        svg = render(Chart("dense", "t", "u", [Series("s", [(2000, 1.0), (2025, 2.0)], "#000")], (1990, 2026), events))
        badges = _badges(svg)
        assert len(badges) == len(events)
        assert all(
            (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 >= (2 * BADGE_R) ** 2
            for i, a in enumerate(badges)
            for b in badges[i + 1 :]
        )


def test_spread_keeps_each_badge_near_its_date():
    assert spread([100.0, 300.0], 10, 500, 17) == [[100.0, 300.0]]  # nothing to move
    assert spread([495.0, 498.0, 499.0], 10, 500, 17) == [[466.0, 483.0, 500.0]]  # pulled back inside, in order


def test_partial_years_are_marked_and_labelled(paraguay, marts):
    svg = render(
        Chart(
            "p", "t", "u", [Series("s", [(2022, 1.0), (2023, 2.0), (2024, 0.5)], "#000")], (1990, 2025), partial=[2024]
        )
    )
    assert re.findall(r'class="partial-period" data-year="(\d+)"', svg) == ["2024"]
    assert "partial year (incomplete data)" in svg
    # in the brief: every partial fiscal year the aid mart flags is marked on the aid chart
    if "is_partial_period" in _columns(marts, "fct_us_aid_country_year"):
        flagged = sorted(
            {
                r[0]
                for r in marts.execute(
                    "select fiscal_year from marts.fct_us_aid_country_year where iso3 = 'PRY' and is_partial_period "
                    "and aid_category = 'Total' and fiscal_period = 'FY' and fiscal_year >= ?",
                    [X_START],
                ).fetchall()
            }
        )
        aid = _svgs(paraguay.read_text(encoding="utf-8"))["chart-aid"]
        assert [int(y) for y in re.findall(r'class="partial-period" data-year="(\d+)"', aid)] == flagged


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
    probe = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0", "--dump-dom", broken.as_uri()], **run
    )
    assert any("broken page" in line for line in _console_messages(probe.stderr))

    dom = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, "--enable-logging=stderr", "--v=0", "--dump-dom", paraguay.as_uri()], **run
    )
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
        [
            chromium,
            *CHROMIUM_FLAGS,
            "--hide-scrollbars",
            "--window-size=900,4400",
            f"--screenshot={png}",
            paraguay.as_uri(),
        ],
        **run,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (900, 4400)
    print(f"screenshot of the Paraguay brief: {png}")
