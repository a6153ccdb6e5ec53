"""Foreign Military Training Report (SFM XML folder + the State Department FY2006 page).

The files are read independently here: the XML with regular expressions over the raw text (the parser streams it
with ElementTree), the HTML by splitting the page's <TR>/<TD> markup with regular expressions (the parser uses
html.parser). Parser, raw table and mart are compared with those readings.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines import fetch
from pipelines.countries import UnmappedCountryError
from pipelines.sources import fmtr_training
from tests.conftest import PROJECT_ROOT, SNAPSHOTS
from tests.livehttp import LiveServer

FOLDER = SNAPSHOTS / "fmtr_training"
XML_FILES = sorted((FOLDER / "xml").glob("*.xml"))
HTML_FILE = FOLDER / "html" / "Western_Hemisphere_2006_2007.html"
PROGRAM_GROUPS = PROJECT_ROOT / "data" / "reference" / "fmtr_program_groups.csv"

TOKEN = re.compile(r'<country name="([^"]*)"|<program name="([^"]*)"|<training>(.*?)</training>', re.S)
FY = re.compile(r"(?:FY|Fiscal Year)\s*(\d{4}|\d{2})\b")
LEADING_NUMBER = re.compile(r"\s*\$?\s*(-?[\d,]+(?:\.\d+)?)")


def field(block: str, tag: str) -> str | None:
    match = re.search(rf"<{tag}>(.*?)</{tag}>", block, re.S)
    return html.unescape(match.group(1)) if match else None


def number(text: str | None) -> float | None:
    match = LEADING_NUMBER.match(text or "")
    return float(match.group(1).replace(",", "")) if match else None


def four_digit(token: str) -> int:
    value = int(token)
    return value if value > 100 else (1900 + value if value >= 90 else 2000 + value)


def regex_courses(path: Path) -> list[dict]:
    """Every <training> of one XML file with its country, program, FY and printed numbers (regex reading)."""
    text = path.read_text(encoding="utf-8")
    country = program = None
    courses = []
    for match in TOKEN.finditer(text):
        if match.group(1) is not None:
            country = html.unescape(match.group(1))
        elif match.group(2) is not None:
            program = html.unescape(match.group(2))
        else:
            block = match.group(3)
            courses.append(
                {
                    "country": " ".join(country.split()),
                    "program": program,
                    "fiscal_year": four_digit(FY.findall(program)[-1]),
                    "trainees": number(field(block, "quantity")),
                    "cost": number(field(block, "total_cost")),
                }
            )
    return courses


def regex_html_rows(path: Path) -> list[list[str]]:
    """Cell texts of every <TR> of the page (tags stripped, &nbsp; and whitespace folded)."""
    text = path.read_text(encoding="utf-8")
    rows = []
    for tr in re.findall(r"<TR>(.*?)</TR>", text, re.S | re.I):
        cells = re.findall(r"<TD[^>]*>(.*?)</TD>", tr, re.S | re.I)
        rows.append([" ".join(html.unescape(re.sub(r"<[^>]+>", " ", c)).replace("\xa0", " ").split()) for c in cells])
    return rows


@pytest.fixture(scope="module")
def xml_rows() -> pl.DataFrame:
    return fmtr_training.parse_xml_folder(fmtr_training.XML.bundled_path)


@pytest.fixture(scope="module")
def html_rows() -> pl.DataFrame:
    return fmtr_training.parse_html(HTML_FILE)


@pytest.fixture(scope="module")
def independent() -> dict[str, list[dict]]:
    return {path.name: regex_courses(path) for path in XML_FILES}


# ---------------------------------------------------------------- XML: records and numbers


@pytest.mark.slow  # an independent regex reading of 35 MB of XML
def test_every_training_element_of_every_file_is_a_row(xml_rows, independent):
    assert len(XML_FILES) == 25
    parsed = dict(xml_rows.group_by("file").len().iter_rows())
    counted = {name: len(courses) for name, courses in independent.items()}
    assert parsed == counted
    # SOURCE.md: "<training> elements per report: from 1,884 (FY2020) to 9,669 (the FY2005 all-regions file)"
    assert counted["2020_2021_Western_Hemisphere_fmtrpt_dedup.xml"] == 1884
    assert counted["2005_2006_All_Regions_fmtrpt_dedup.xml"] == 9669
    assert xml_rows.height == sum(counted.values()) == 82052


@pytest.mark.slow  # an independent regex reading of 35 MB of XML
def test_numbers_equal_the_printed_cells_blank_stays_null(xml_rows, independent):
    expected = pl.DataFrame(
        [
            {"file": name, "source_row": i, "exp_trainees": c["trainees"], "exp_cost": c["cost"]}
            for name, courses in independent.items()
            for i, c in enumerate(courses, start=1)
        ],
        schema={"file": pl.String, "source_row": pl.Int64, "exp_trainees": pl.Float64, "exp_cost": pl.Float64},
    )
    joined = xml_rows.join(expected, on=["file", "source_row"], how="full", coalesce=True)
    assert joined.height == xml_rows.height
    assert joined.filter(~pl.col("trainees").cast(pl.Float64).eq_missing(pl.col("exp_trainees"))).is_empty()
    assert joined.filter(~pl.col("cost_usd").eq_missing(pl.col("exp_cost"))).is_empty()
    # `$ ` is a blank cost: NULL, never 0 (749 such cells, 1,000+ more courses have no cost element at all)
    blank = xml_rows.filter(pl.col("cost_as_printed") == "$")
    assert blank.height == 749 and blank["cost_usd"].null_count() == 749
    assert xml_rows["cost_usd"].null_count() > blank.height
    assert (
        xml_rows.filter(pl.col("cost_as_printed").is_null())["cost_usd"].null_count()
        == xml_rows.filter(pl.col("cost_as_printed").is_null()).height
    )


def test_scraper_run_in_cells_keep_their_leading_number_and_are_flagged(xml_rows):
    spilled = xml_rows.filter(pl.col("cost_as_printed") == "1965 6/1/2009")
    assert spilled.height == 40 and set(spilled["cost_usd"]) == {1965.0} and spilled["value_spill"].all()
    lackland = xml_rows.filter(pl.col("trainees_as_printed") == "1 LACKLAND AFB, TX 78236")
    assert lackland["trainees"].to_list() == [1] and lackland["value_spill"].all()
    assert not xml_rows.filter(pl.col("cost_as_printed") == "$13,063")["value_spill"].any()


def test_plausibility_issues_are_kept_and_flagged(xml_rows):
    flagged = xml_rows.filter(pl.col("plausibility_issue") == "zero_trainees_with_cost")
    assert flagged.height > 0
    assert (flagged["trainees"] == 0).all() and (flagged["cost_usd"] > 0).all()
    assert xml_rows.filter((pl.col("trainees") == 0) & (pl.col("cost_usd") > 0)).height == flagged.height


# ---------------------------------------------------------------- fiscal years and the two-year reports


@pytest.mark.slow  # an independent regex reading of 35 MB of XML
def test_two_year_reports_split_by_program_fy(xml_rows, independent):
    for report, first in (("1999_2000", 1999), ("2000_2001", 2000)):
        courses = [c for name, cs in independent.items() if name.startswith(report) for c in cs]
        years = {c["fiscal_year"] for c in courses}
        assert years == {first, first + 1}
        rows = xml_rows.filter(pl.col("report_fiscal_year") == first)
        assert rows.filter(pl.col("is_report_year")).height == sum(c["fiscal_year"] == first for c in courses)
        assert rows.filter(~pl.col("is_report_year"))["fiscal_year"].unique().to_list() == [first + 1]
    # every later report holds only its own year
    later = xml_rows.filter(pl.col("report_fiscal_year") > 2000)
    assert later["is_report_year"].all()


def test_fy2000_and_fy2001_counted_once_from_the_report_that_records_them(marts, independent):
    def trainees(report: str, fiscal_year: int, country: str) -> float:
        return sum(
            c["trainees"] or 0
            for name, cs in independent.items()
            if name.startswith(report)
            for c in cs
            if c["fiscal_year"] == fiscal_year and c["country"] == country
        )

    for fiscal_year, reporting, planning in ((2000, "2000_2001", "1999_2000"), (2001, "2001_2002", "2000_2001")):
        mart = marts.execute(
            "select sum(trainees) from marts.fct_us_training_country_year where iso3 = 'COL' and fiscal_year = ?",
            [fiscal_year],
        ).fetchone()[0]
        done, planned = trainees(reporting, fiscal_year, "Colombia"), trainees(planning, fiscal_year, "Colombia")
        assert planned > 0 and mart == done
        assert mart != done + planned


# ---------------------------------------------------------------- countries, regions, aggregates


@pytest.mark.slow  # an independent regex reading of 35 MB of XML
def test_fy2005_all_regions_file_keeps_only_the_western_hemisphere_in_universe(xml_rows, independent):
    courses = independent["2005_2006_All_Regions_fmtrpt_dedup.xml"]
    western = sum("Western Hemisphere Region" in c["program"] for c in courses)
    rows = xml_rows.filter(pl.col("file") == "2005_2006_All_Regions_fmtrpt_dedup.xml")
    assert rows.filter(pl.col("in_universe")).height == western
    assert rows.filter(~pl.col("in_universe")).height == len(courses) - western > 5000
    assert set(rows.filter(~pl.col("in_universe"))["region"]) == {
        "Africa",
        "East Asia and Pacific",
        "Europe",
        "Near East",
        "South Asia",
    }


def test_printed_name_variants_resolve(xml_rows):
    names = dict(xml_rows.select("country_name", "iso3").unique().iter_rows())
    assert names["Trinidad-Tobago"] == names["Trinidad - Tobago"] == names["Trinidad and Tobago"] == "TTO"
    assert names["Antigua And Barbuda (UK)"] == names["Antigua and Barbuda"] == "ATG"
    assert names["St Kitts & Nevis"] == names["Saint Kitts & Nevis"] == "KNA"
    assert names["Bolivia INC"] == "BOL"


def synthetic_copy(tmp_path: Path, source: Path, replace: list[tuple[str, str]], name: str | None = None) -> Path:
    """SYNTHETIC: a real report file with some text replaced (real layout), in its own folder."""
    text = source.read_text(encoding="utf-8")
    for old, new in replace:
        assert old in text
        text = text.replace(old, new, 1)
    folder = tmp_path / "synthetic"
    folder.mkdir(exist_ok=True)
    target = folder / (name or source.name)
    target.write_text(text, encoding="utf-8")
    return target


REPORT_2019 = FOLDER / "xml" / "2019_2020_Western_Hemisphere_fmtrpt_dedup.xml"


def test_regional_entry_and_misprint_columbia(tmp_path):
    path = synthetic_copy(
        tmp_path,
        REPORT_2019,
        [
            ('<country name="Antigua and Barbuda">', '<country name="Western Hemisphere Region">'),
            ('<country name="Colombia">', '<country name="Columbia">'),
        ],
    )
    rows = fmtr_training.parse_xml(path)
    regional = rows.filter(pl.col("country_name") == "Western Hemisphere Region")
    assert regional.height > 0 and regional["iso3"].null_count() == regional.height
    assert set(regional["entity_kind"]) == {"aggregate"} and not regional["in_universe"].any()
    assert set(rows.filter(pl.col("country_name") == "Columbia")["iso3"]) == {"COL"}


def test_unknown_country_fails_loudly(tmp_path):
    path = synthetic_copy(tmp_path, REPORT_2019, [('<country name="Colombia">', '<country name="Gran Colombia">')])
    with pytest.raises(UnmappedCountryError, match="Gran Colombia"):
        fmtr_training.parse_xml(path)


def test_aggregates_and_other_regions_never_reach_the_mart(marts):
    bad = marts.execute("""
        select f.iso3 from marts.fct_us_training_country_year f
        left join marts.dim_country d using (iso3)
        where d.iso3 is null or f.iso3 is null
    """).fetchall()
    assert bad == []
    outside = marts.execute("""
        select count(*) from marts.fct_us_training_country_year
        where iso3 in (select iso3 from marts.country_crosswalk where source = 'fmtr_training' and not in_universe)
    """).fetchone()[0]
    assert outside == 0


# ---------------------------------------------------------------- contract rejections


def test_contract_names_column_value_and_row(tmp_path):
    text = REPORT_2019.read_text(encoding="utf-8")
    quantities = re.findall(r"<quantity>(.*?)</quantity>", text)
    path = synthetic_copy(
        tmp_path,
        REPORT_2019,
        [
            ("<quantity>1 </quantity>", "<quantity>one </quantity>"),
            ("<total_cost>$13,063 </total_cost>", "<total_cost>thirteen thousand</total_cost>"),
        ],
    )
    row = quantities.index("1 ") + 1  # first course printed with 1 trainee
    with pytest.raises(ContractViolation) as caught:
        fmtr_training.parse_xml(path)
    message = str(caught.value)
    assert "column 'trainees' failed type Int64" in message and "'one'" in message and f"row(s) {row}" in message
    assert "column 'cost_usd' failed type Float64" in message and "'thirteen thousand'" in message
    assert path.name in message


def test_negative_trainees_rejected_negative_cost_kept(tmp_path):
    path = synthetic_copy(
        tmp_path,
        REPORT_2019,
        [
            ("<quantity>1 </quantity>", "<quantity>-4</quantity>"),
        ],
    )
    with pytest.raises(ContractViolation, match=r"trainees.*greater_than_or_equal_to\(0\).*-4"):
        fmtr_training.parse_xml(path)
    negative_cost = [("<total_cost>$13,063 </total_cost>", "<total_cost>-$13,063</total_cost>")]
    path = synthetic_copy(tmp_path, REPORT_2019, negative_cost, name="2019_2020_negative.xml")
    rows = fmtr_training.parse_xml(path)
    negative = rows.filter(pl.col("cost_usd") < 0)
    assert negative["cost_usd"].to_list() == [-13063.0]
    assert negative["plausibility_issue"].to_list() == ["negative_cost"]


def test_unknown_program_label_fails_with_hint(tmp_path):
    path = synthetic_copy(
        tmp_path,
        REPORT_2019,
        [
            (
                '<program name="IMET-1 - Fiscal Year 2019 Department of State Training">',
                '<program name="Brand New Program - Fiscal Year 2019 Department of State Training">',
            ),
        ],
    )
    with pytest.raises(ContractViolation, match=r"column 'program'.*fmtr_program_groups\.csv.*Brand New Program"):
        fmtr_training.parse_xml(path)


def test_file_without_report_years_or_courses_is_rejected(tmp_path):
    odd = tmp_path / "western_hemisphere.xml"
    odd.write_bytes(REPORT_2019.read_bytes())
    with pytest.raises(ContractViolation, match="report years"):
        fmtr_training.parse_xml(odd)
    empty = tmp_path / "2019_2020_empty.xml"
    empty.write_text('<?xml version="1.0"?>\n<countries>\n</countries>\n', encoding="utf-8")
    with pytest.raises(ContractViolation, match="at least one <training>"):
        fmtr_training.parse_xml(empty)


# ---------------------------------------------------------------- program groups


def test_every_program_in_the_bundled_data_is_mapped_and_every_mapping_is_used(xml_rows, html_rows):
    mapping = pl.read_csv(PROGRAM_GROUPS, infer_schema_length=0)
    assert mapping["program"].is_unique().all()
    seen = set(xml_rows["program"]) | set(html_rows["program"])
    assert xml_rows["program_group"].null_count() == html_rows["program_group"].null_count() == 0
    assert seen == set(mapping["program"])
    groups = dict(mapping.select("program", "program_group").iter_rows())
    long_label = "Drug Interdiction and Counter-Drug Activities, Section 1004"
    assert groups["Section 1004"] == groups[long_label] == "counter_drug"
    assert groups["IMET-1"] == groups["International Military Education And Training (IMET)"] == "imet"
    # every program heading with courses (not the empty `<program name=".."/>` ones) is one the parser read
    headings = {
        " ".join(html.unescape(h).split())
        for path in XML_FILES
        for h in re.findall(r'<program name="([^"]*)">', path.read_text())
    }
    assert headings == set(xml_rows["program_name"])


# ---------------------------------------------------------------- FY2006 page


def test_html_course_count_and_printed_totals(html_rows):
    rows = regex_html_rows(HTML_FILE)
    totals = [r for r in rows if r and re.search(r"FY 2006 (Program )?Totals$", r[0])]
    courses = [r for r in rows if len(r) == 8 and re.fullmatch(r"\d+", r[1]) and r not in totals]
    assert len(courses) == html_rows.height == 3071
    country_totals = {
        r[0].removesuffix(" FY 2006 Totals"): (int(r[1]), float(r[5].strip("$").replace(",", "")))
        for r in totals
        if "Program" not in r[0]
    }
    assert len(country_totals) == 33
    parsed = html_rows.group_by(pl.col("country_name").str.to_lowercase()).agg(
        pl.col("trainees").sum(), pl.col("cost_usd").sum()
    )
    parsed = {name: (t, c) for name, t, c in parsed.iter_rows()}
    for name, (trainees, cost) in country_totals.items():
        got = parsed[name.lower()]
        assert got[0] == trainees and abs(got[1] - cost) < 1.0, name
    assert set(html_rows["fiscal_year"]) == {2006} and html_rows["is_report_year"].all()


def test_html_course_row_that_breaks_its_program_total_fails(tmp_path):
    text = HTML_FILE.read_text(encoding="utf-8")
    corrupted = text.replace("<P>3005</P>", "<P>3006</P>", 1)  # SYNTHETIC: one course cost changed
    path = tmp_path / HTML_FILE.name
    path.write_text(corrupted, encoding="utf-8")
    with pytest.raises(ContractViolation, match="printed program totals.*Antigua and Barbuda / CTFP"):
        fmtr_training.parse_html(path)


def test_html_live_address_downloads_the_page(tmp_path, monkeypatch):
    table = fmtr_training.HTML
    with LiveServer() as server:
        monkeypatch.setenv("HPW_MODE", "live")
        monkeypatch.setenv("HPW_LIVE_BASE_URL", server.base_url)
        monkeypatch.setenv("HPW_DATA_DIR", str(tmp_path / "data"))
        acquired = fetch.acquire(table, None, tmp_path)
        assert acquired.ingestion.mode == "live" and acquired.ingestion.http_status == 200
        assert server.gets("/t/pm/rls/rpt/fmtrpt/2007/92089.htm")
        live = table.parse(acquired.file.path)
        # the XML folder has no live address: it reads its snapshot, and says so
        xml = fetch.acquire(fmtr_training.XML, None, tmp_path)
        assert xml.file.bundled and xml.notes
    assert live.equals(fmtr_training.parse_html(HTML_FILE))


# ---------------------------------------------------------------- mart reconciliation


def test_mart_reconciles_with_an_independent_reading_of_every_file(marts, independent):
    iso3 = dict(
        marts.execute(
            "select source_name, iso3 from marts.country_crosswalk where source = 'fmtr_training' and in_universe"
        ).fetchall()
    )
    expected: dict[tuple[str, int], list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
    for name, courses in independent.items():
        report_year = int(name[:4])
        for c in courses:
            if c["fiscal_year"] == report_year and c["country"] in iso3:
                key = (iso3[c["country"]], report_year)
                expected[key][0] += c["trainees"] or 0
                expected[key][1] += c["cost"] or 0
                expected[key][2] += 1
    rows = regex_html_rows(HTML_FILE)
    country = None
    for r in rows:
        if len(r) == 1:
            country = r[0]
        elif len(r) == 8 and re.fullmatch(r"\d+", r[1]) and not r[0].endswith("Totals"):
            key = (iso3[country], 2006)
            expected[key][0] += int(r[1])
            expected[key][1] += number(r[5]) or 0
            expected[key][2] += 1
    mart = {
        (i, y): (t, c, n)
        for i, y, t, c, n in marts.execute("""
        select iso3, fiscal_year, coalesce(sum(trainees), 0), coalesce(sum(cost_usd), 0), sum(courses)
        from marts.fct_us_training_country_year group by iso3, fiscal_year
    """).fetchall()
    }
    assert set(mart) == set(expected)
    for key, (trainees, cost, courses) in expected.items():
        got = mart[key]
        assert got[0] == trainees and abs(got[1] - cost) < 0.01 and got[2] == courses, key
    # SOURCE.md spot values (sum of quantity and total_cost, program FY = report year)
    assert expected[("COL", 2003)][0] == 10106 and round(expected[("COL", 2003)][1] / 1e6, 1) == 27.9
    assert expected[("MEX", 2016)][0] == 10990 and expected[("PRY", 2019)][0] == 8752


def test_mart_key_figures(marts):
    by_group = dict(
        marts.execute("""
        select program_group, trainees from marts.fct_us_training_country_year
        where iso3 = 'COL' and fiscal_year = 2003
    """).fetchall()
    )
    # SOURCE.md: Colombia FY2003 Section 1004 8,493 trainees, INCLE 596, IMET 506
    assert by_group["counter_drug"] == 8493 and by_group["incle"] == 596 and by_group["imet"] == 506
    years = marts.execute(
        "select min(fiscal_year), max(fiscal_year), count(distinct fiscal_year) from marts.fct_us_training_country_year"
    ).fetchone()
    assert years == (1999, 2020, 22)
    sources = dict(
        marts.execute(
            "select fiscal_year = 2006, any_value(source) from marts.fct_us_training_country_year group by 1"
        ).fetchall()
    )
    assert "State Department" in sources[True] and "Security Force Monitor" in sources[False]


def test_html_windows_1252_copy_parses_the_same(tmp_path, html_rows):
    copy = tmp_path / HTML_FILE.name  # SYNTHETIC: the page re-saved by a browser as Windows-1252
    # The page as published holds 44 U+FFFD where dashes and apostrophes were lost (`ECEMAR \ufffd Air Command`);
    # the synthetic copy puts an en dash there, byte 0x96 in Windows-1252 and invalid as UTF-8.
    copy.write_bytes(HTML_FILE.read_text(encoding="utf-8").replace("\ufffd", "\u2013").encode("cp1252"))
    assert b"\x96" in copy.read_bytes()
    expected = html_rows.drop("file_sha256").with_columns(pl.col(pl.String).str.replace_all("\ufffd", "\u2013"))
    assert fmtr_training.parse_html(copy).drop("file_sha256").equals(expected)


def test_user_folder_override_reads_every_report_in_it(tmp_path, monkeypatch):
    folder = tmp_path / "downloads"
    folder.mkdir()
    chosen = [FOLDER / "xml" / "2018_2019_Western_Hemisphere_fmtrpt_dedup.xml", REPORT_2019]
    for path in chosen:
        (folder / path.name).write_bytes(path.read_bytes())
    monkeypatch.setenv("HPW_FMTR_TRAINING_XML_PATH", str(folder / REPORT_2019.name))
    located = fmtr_training.XML.locate()
    assert not located.bundled and located.path.parent == folder.resolve()
    rows = fmtr_training.XML.parse(located.path)
    assert dict(rows.group_by("file").len().iter_rows()) == {p.name: len(regex_courses(p)) for p in chosen}
