"""MME v7 (Latin America & Caribbean extract): parser, quirks, contract and the exercises country-year mart.

Expected values are computed from the file with Python's csv module, independently of the polars parser.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources.mme_exercises import parse_exercises, parse_participants

FILE = Path(__file__).resolve().parent.parent / "data" / "snapshots" / "mme_exercises" / "mme_v7_lac.csv"
FOCUS = ["PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"]

# Every participant spelling in the bundled file and the state it must resolve to (written out by hand,
# so a new or remapped name fails here). `-9` is MME's "not identified" code and is not a participant.
EXPECTED_ISO3 = {
    "Albania": "ALB",
    "Angola": "AGO",
    "Antigua & Barbuda": "ATG",
    "Argentina": "ARG",
    "Australia": "AUS",
    "Austria": "AUT",
    "Bahamas": "BHS",
    "Barbados": "BRB",
    "Belgium": "BEL",
    "Belize": "BLZ",
    "Bermuda": "BMU",
    "Bolivia": "BOL",
    "Brazil": "BRA",
    "Burundi": "BDI",
    "Cameroon": "CMR",
    "Canada": "CAN",
    "Cape Verde": "CPV",
    "Central African Republic": "CAF",
    "Chad": "TCD",
    "Chile": "CHL",
    "China": "CHN",
    "Colombia": "COL",
    "Congo - Brazzaville": "COG",
    "Congo - Kinshasa": "COD",
    "Costa Rica": "CRI",
    "Cuba": "CUB",
    "Denmark": "DNK",
    "Dominica": "DMA",
    "Dominican Republic": "DOM",
    "Ecuador": "ECU",
    "El Salvador": "SLV",
    "Equatorial Guinea": "GNQ",
    "France": "FRA",
    "Gabon": "GAB",
    "German Democratic Republic": "DDR",
    "Germany": "DEU",
    "Grenada": "GRD",
    "Guatemala": "GTM",
    "Guinea-Bissau": "GNB",
    "Guyana": "GUY",
    "Haiti": "HTI",
    "Honduras": "HND",
    "India": "IND",
    "Indonesia": "IDN",
    "Italy": "ITA",
    "Jamaica": "JAM",
    "Japan": "JPN",
    "Luxembourg": "LUX",
    "Malaysia": "MYS",
    "Mexico": "MEX",
    "Morocco": "MAR",
    "Mozambique": "MOZ",
    "Netherlands": "NLD",
    "Netherlands Antilles": "ANT",
    "New Zealand": "NZL",
    "Nicaragua": "NIC",
    "Nigeria": "NGA",
    "Norway": "NOR",
    "Panama": "PAN",
    "Paraguay": "PRY",
    "Peru": "PER",
    "Philippines": "PHL",
    "Poland": "POL",
    "Portugal": "PRT",
    "Romania": "ROU",
    "Russia": "RUS",
    "Rwanda": "RWA",
    "Singapore": "SGP",
    "South Africa": "ZAF",
    "South Korea": "KOR",
    "Spain": "ESP",
    "St. Kitts & Nevis": "KNA",
    "St. Lucia": "LCA",
    "St. Vincent & Grenadines": "VCT",
    "Suriname": "SUR",
    "Sweden": "SWE",
    "São Tomé & Príncipe": "STP",
    "Thailand": "THA",
    "Timor-Leste": "TLS",
    "Trinidad & Tobago": "TTO",
    "Turkey": "TUR",
    "United Kingdom": "GBR",
    "United States": "USA",
    "Uruguay": "URY",
    "Venezuela": "VEN",
    "Vietnam": "VNM",
    "st. christopher": "KNA",
}


def _rows(path: Path = FILE) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _state_columns(rows: list[dict[str, str]]) -> list[str]:
    return [c for c in rows[0] if re.fullmatch(r"State[A-Z]{1,2}", c)]


def _cells(rows: list[dict[str, str]]) -> list[tuple[str, str]]:
    """(MMEID, name) for every non-empty participant cell."""
    states = _state_columns(rows)
    return [(r["MMEID"], r[c].strip()) for r in rows for c in states if r[c].strip()]


def _write_corrupted(tmp_path: Path, row_number: int, **changes: str) -> Path:
    """Copy of the real file with some cells of one data record (1-based) changed."""
    rows = _rows()
    rows[row_number - 1].update(changes)
    out = tmp_path / FILE.name
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return out


@pytest.fixture(scope="module")
def exercises() -> pl.DataFrame:
    return parse_exercises(FILE)


@pytest.fixture(scope="module")
def participants() -> pl.DataFrame:
    return parse_participants(FILE)


# ---------------------------------------------------------------- row counts


def test_exercises_have_one_row_per_data_record(exercises):
    rows = _rows()
    assert exercises.height == len(rows) == 244
    assert exercises["mmeid"].to_list() == [r["MMEID"] for r in rows]


def test_participants_have_one_row_per_named_cell(participants, exercises):
    cells = _cells(_rows())
    named = [c for c in cells if c[1] != "-9"]
    assert len(cells) == 1111
    assert participants.height == len(named) == 1105
    assert sorted(zip(participants["mmeid"], participants["participant_name"])) == sorted(named)
    assert exercises["named_participant_cells"].sum() == len(named)


# ---------------------------------------------------------------- quirks


def test_wide_participant_columns_statea_to_stateam(participants):
    states = _state_columns(_rows())
    assert len(states) == 39 and states[0] == "StateA" and states[-1] == "StateAM"
    assert set(participants["participant_slot"]) <= set(states)
    # the widest exercise fills 28 slots, in order
    widest = participants.group_by("mmeid").agg(pl.col("participant_position").max()).max()
    assert widest["participant_position"][0] == 28


def test_every_participant_name_maps(participants):
    names = {name for _, name in _cells(_rows())} - {"-9"}
    assert names == set(EXPECTED_ISO3)
    mapping = dict(participants.select("participant_name", "iso3").unique().iter_rows())
    assert mapping == EXPECTED_ISO3
    assert set(participants["entity_kind"]) == {"country"}


def test_ampersand_and_st_spellings_map(participants):
    mapping = dict(participants.select("participant_name", "iso3").unique().iter_rows())
    assert mapping["Trinidad & Tobago"] == "TTO"
    assert mapping["Antigua & Barbuda"] == "ATG"
    assert mapping["St. Vincent & Grenadines"] == "VCT"
    assert mapping["São Tomé & Príncipe"] == "STP"
    assert mapping["St. Kitts & Nevis"] == mapping["st. christopher"] == "KNA"


def test_st_christopher_next_to_st_kitts_counts_once(participants):
    # Tradewinds 92 (mme978) lists both spellings of Saint Kitts and Nevis, and Antigua & Barbuda twice.
    kna = participants.filter((pl.col("mmeid") == "mme978") & (pl.col("iso3") == "KNA"))
    assert kna["participant_name"].to_list() == ["st. christopher", "St. Kitts & Nevis"]
    assert kna["repeated_in_exercise"].to_list() == [False, True]
    repeated = participants.filter("repeated_in_exercise").select("mmeid", "iso3").rows()
    assert sorted(repeated) == [("mme3498", "DMA"), ("mme978", "ATG"), ("mme978", "KNA")]


def test_minus_nine_participant_flags_exercise(exercises, participants):
    rows = _rows()
    states = _state_columns(rows)
    expected = sorted(r["MMEID"] for r in rows if any(r[c].strip() == "-9" for c in states))
    assert len(expected) == 6
    assert sorted(exercises.filter("has_unidentified_participant")["mmeid"]) == expected
    assert "-9" not in participants["participant_name"].to_list()


def test_minus_nine_text_is_null(exercises):
    rows = _rows()
    assert exercises["exercise_name"].null_count() == sum(r["Ex_Name"] == "-9" for r in rows) == 60
    assert exercises["location"].null_count() == sum(r["Location"] == "-9" for r in rows) == 2
    assert "-9" not in exercises["exercise_name"].drop_nulls().to_list()


def test_m_d_yy_dates_take_century_from_parsed_year(exercises):
    by_id = {r["mmeid"]: r for r in exercises.iter_rows(named=True)}
    assert by_id["mme112"]["start_date_text"] == "7/15/80"
    assert by_id["mme112"]["start_date"] == date(1980, 7, 15)
    assert by_id["mme112"]["end_date"] == date(1980, 8, 22)
    assert by_id["mme1839"]["start_date_text"] == "2/12/00"
    assert by_id["mme1839"]["start_date"] == date(2000, 2, 12)


def test_xx_date_parts_are_null_not_zero(exercises):
    rows = _rows()
    mme324 = exercises.filter(pl.col("mmeid") == "mme324").row(0, named=True)
    assert mme324["start_date_text"] == "1983-06-xx"
    assert (mme324["start_year"], mme324["start_month"], mme324["start_day"], mme324["start_date"]) == (
        1983,
        6,
        None,
        None,
    )
    assert exercises["start_day"].null_count() == sum(r["s.day"] == "xx" for r in rows) == 60
    assert exercises["end_day"].null_count() == sum(r["e.day"] == "xx" for r in rows) == 83
    assert exercises["start_date"].null_count() == 60
    assert (exercises["start_day"] == 0).sum() == 0


def test_parsed_years_match_file(exercises):
    assert exercises["start_year"].to_list() == [int(r["s.year"]) for r in _rows()]
    assert exercises["start_year"].min() == 1980 and exercises["start_year"].max() == 2010


def test_end_before_start_is_flagged_not_dropped(exercises):
    assert exercises.filter("end_before_start")["mmeid"].to_list() == ["mme3156"]


def test_flags_are_booleans(exercises):
    rows = _rows()
    assert exercises["is_sea"].sum() == sum(r["Sea"] == "1" for r in rows) == 144
    assert exercises["is_cyber"].sum() == 0


# ---------------------------------------------------------------- contract


def test_contract_rejects_year_2999(tmp_path):
    path = _write_corrupted(tmp_path, 5, **{"s.year": "2999"})
    with pytest.raises(ContractViolation) as err:
        parse_exercises(path)
    message = str(err.value)
    assert message.startswith("[mme_exercises] mme_v7_lac.csv")
    assert "column 'start_year' failed less_than_or_equal_to(2016): value(s) '2999' at row(s) 5" in message


def test_contract_rejects_unparsable_date(tmp_path):
    path = _write_corrupted(tmp_path, 7, StartDate="July 1980")
    with pytest.raises(ContractViolation) as err:
        parse_exercises(path)
    message = str(err.value)
    assert "[mme_exercises]" in message and "start_date_text" in message
    assert "'July 1980'" in message and "row(s) 7" in message


def test_contract_rejects_date_disagreeing_with_parts(tmp_path):
    # 7/15/80 written, but the coders' parts moved to 1990: one of them is wrong.
    path = _write_corrupted(tmp_path, 1, **{"s.year": "1990"})
    with pytest.raises(ContractViolation, match=r"start_date_text.*7/15/80 vs parts 1990-7-15.*row\(s\) 1"):
        parse_exercises(path)


def test_contract_rejects_impossible_calendar_date(tmp_path):
    path = _write_corrupted(tmp_path, 1, StartDate="2/30/80", **{"s.month": "2", "s.day": "30"})
    with pytest.raises(ContractViolation, match=r"start_date_text.*real calendar date.*'2/30/80'.*row\(s\) 1"):
        parse_exercises(path)


def test_unknown_participant_name_fails(tmp_path):
    path = _write_corrupted(tmp_path, 3, StateB="Atlantis")
    with pytest.raises(UnmappedCountryError, match="Atlantis"):
        parse_participants(path)


# ---------------------------------------------------------------- mart


def _expected_counts() -> tuple[dict[tuple[str, int], tuple[int, int]], int, int]:
    """(iso3, start year) -> (exercises, exercises with the US), from the raw file alone."""
    rows = _rows()
    states = _state_columns(rows)
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for r in rows:
        iso3s = {EXPECTED_ISO3[r[c].strip()] for c in states if r[c].strip() and r[c].strip() != "-9"}
        for iso3 in iso3s:
            counts[(iso3, int(r["s.year"]))][0] += 1
            counts[(iso3, int(r["s.year"]))][1] += "USA" in iso3s
    years = [int(r["s.year"]) for r in rows]
    return {k: tuple(v) for k, v in counts.items()}, min(years), max(years)


def test_mart_matches_independent_counts_for_every_country_year(marts):
    expected, first, last = _expected_counts()
    universe = {r[0] for r in marts.sql("select iso3 from marts.dim_country").fetchall()}
    mart = {
        (iso3, year): (total, with_us, ends)
        for iso3, year, total, with_us, ends in marts.sql(
            "select iso3, year, exercises_total, exercises_with_us, coverage_ends_year from "
            "marts.fct_exercises_country_year"
        ).fetchall()
    }
    # one row per universe country per covered year, none after coverage
    assert set(mart) == {(iso3, y) for iso3 in universe for y in range(first, last + 1)}
    assert (first, last) == (1980, 2010)
    for key, (total, with_us, ends) in mart.items():
        exp_total, exp_us = expected.get(key, (0, 0))
        assert (total, with_us, ends) == (exp_total, exp_us, last), key
    # every universe country-year with an exercise in the file is in the mart
    assert {k for k in expected if k[0] in universe} <= set(mart)
    assert sum(v[0] for k, v in expected.items() if k[0] in universe) == sum(v[0] for v in mart.values())


def test_mart_has_focus_countries(marts):
    got = dict(
        marts.sql("select iso3, sum(exercises_total) from marts.fct_exercises_country_year group by iso3").fetchall()
    )
    for iso3 in FOCUS:
        assert iso3 in got and got[iso3] > 0, iso3
    # e.g. Paraguay: 18 exercise listings in the file, all distinct exercises
    assert got["PRY"] == 18


def test_mart_has_no_rows_after_coverage(marts):
    ((max_year, ends),) = marts.sql(
        "select max(year), max(coverage_ends_year) from marts.fct_exercises_country_year"
    ).fetchall()
    assert max_year == ends == 2010
