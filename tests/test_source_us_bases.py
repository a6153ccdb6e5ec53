"""US military sites in Latin America & the Caribbean (David Vine's list as updated by troopdata).

The file is read independently here with Python's csv module; the parser and the mart are checked against it.
"""

from __future__ import annotations

import csv

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources import us_bases
from tests.conftest import SNAPSHOTS
from tests.synthetic import rewrite_csv_cell

BASES_FILE = SNAPSHOTS / "us_bases" / "basedata_lac.csv"


def base_rows() -> list[dict[str, str]]:
    with BASES_FILE.open(encoding="latin-1", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def bases():
    return us_bases.parse(BASES_FILE)


# ---------------------------------------------------------------- us_bases: file and raw table


def test_bases_file_has_the_documented_quirks():
    raw = BASES_FILE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"Conc\xf3n" in raw and b"Guantanamo Bay\tCuba" in raw and b",NA," in raw
    rows = base_rows()
    assert sum(r["basename"] == "NA" for r in rows) == 1
    assert sum(int(r["base"]) + int(r["lilypad"]) + int(r["fundedsite"]) > 1 for r in rows) == 1


def test_bases_parses_every_data_row(bases):
    rows = base_rows()
    assert bases.height == len(rows) == 56


def test_bases_latin1_tab_and_na_names(bases):
    names = bases["site_name"].to_list()
    assert "Fuerte Aguayo NB, Concón" in names and not any("\ufffd" in n for n in names if n)
    assert "Guantanamo Bay Cuba" in names and not any("\t" in n for n in names if n)
    assert bases.filter(pl.col("site_name").is_null())["source_row"].to_list() == [
        i for i, r in enumerate(base_rows(), start=1) if r["basename"] == "NA"
    ]
    assert not bases["site_name"].eq("NA").any()


def test_bases_values_equal_the_file(bases):
    rows = base_rows()
    expected = pl.DataFrame(
        {
            "lat": [float(r["lat"]) for r in rows],
            "lon": [float(r["lon"]) for r in rows],
            "is_base": [r["base"] == "1" for r in rows],
            "is_lilypad": [r["lilypad"] == "1" for r in rows],
            "is_funded_site": [r["fundedsite"] == "1" for r in rows],
            "source_iso3": [r["iso3c"] for r in rows],
        }
    )
    assert bases.select(expected.columns).equals(expected)


def test_bases_utf8_copy_parses_the_same(tmp_path, bases):
    copy = tmp_path / BASES_FILE.name
    copy.write_bytes(BASES_FILE.read_bytes().decode("latin-1").encode("utf-8"))
    assert us_bases.parse(copy).drop("source_row").equals(bases.drop("source_row"))


def test_bases_every_name_and_code_maps(bases):
    rows = base_rows()
    assert bases["iso3"].null_count() == 0
    assert dict(bases.select("country_name", "iso3").unique().iter_rows()) == {
        r["countryname"]: r["iso3c"] for r in rows
    }


def test_bases_rejects_shifted_latitude_and_bad_flag(tmp_path):
    bad = tmp_path / BASES_FILE.name
    rewrite_csv_cell(BASES_FILE, bad, data_row=4, column="lat", value="175.552", encoding="latin-1")
    rewrite_csv_cell(bad, bad, data_row=20, column="fundedsite", value="2", encoding="latin-1")
    with pytest.raises(ContractViolation) as err:
        us_bases.parse(bad)
    message = str(err.value)
    assert "[us_bases]" in message and "'is_funded_site'" in message and "'2'" in message and "row(s) 20" in message
    rewrite_csv_cell(BASES_FILE, bad, data_row=4, column="lat", value="175.552", encoding="latin-1")
    with pytest.raises(ContractViolation) as err:
        us_bases.parse(bad)
    message = str(err.value)
    assert "[us_bases]" in message and "'lat'" in message and "175.552" in message and "row(s) 4" in message


def test_bases_rejects_mismatched_code_and_siteless_row(tmp_path):
    bad = tmp_path / BASES_FILE.name
    rewrite_csv_cell(BASES_FILE, bad, data_row=52, column="iso3c", value="PRY", encoding="latin-1")
    for flag in ("base", "lilypad", "fundedsite"):
        rewrite_csv_cell(bad, bad, data_row=7, column=flag, value="0", encoding="latin-1")
    with pytest.raises(ContractViolation) as err:
        us_bases.parse(bad)
    message = str(err.value)
    assert "[us_bases]" in message and "'source_iso3'" in message and "'PRY'" in message and "row(s) 52" in message
    assert "'site_name'" in message and "'Belize City'" in message and "row(s) 7" in message


def test_bases_rejects_a_site_listed_twice(tmp_path):
    bad = tmp_path / BASES_FILE.name
    lines = BASES_FILE.read_bytes().splitlines(keepends=True)
    bad.write_bytes(b"".join(lines) + lines[3])  # data row 3 (Hattieville) pasted again at the end
    with pytest.raises(ContractViolation) as err:
        us_bases.parse(bad)
    message = str(err.value)
    assert "[us_bases]" in message and "'site_name'" in message and "'Hattieville @ 17.45,-88.383333'" in message
    assert f"row(s) 3, {len(base_rows()) + 1}" in message


def test_bases_unknown_country_fails_naming_it(tmp_path):
    bad = tmp_path / BASES_FILE.name
    rewrite_csv_cell(BASES_FILE, bad, data_row=1, column="countryname", value="Patagonia", encoding="latin-1")
    # codes come first: with a COW number of the Americas that no state holds, the unknown name may be ours
    rewrite_csv_cell(bad, bad, data_row=1, column="ccode", value="99", encoding="latin-1")
    with pytest.raises(UnmappedCountryError, match=r"\[us_bases\].*'99 / Patagonia'"):
        us_bases.parse(bad)


# ---------------------------------------------------------------- dim_us_sites


def test_sites_mart_equals_the_file(marts):
    kinds = []
    for r in base_rows():
        kind = "base" if r["base"] == "1" else "lilypad" if r["lilypad"] == "1" else "funded_site"
        name = None if r["basename"] == "NA" else " ".join(r["basename"].split())
        kinds.append((r["iso3c"], name, kind, float(r["lat"]), float(r["lon"])))
    got = marts.execute("select iso3, site_name, site_kind, lat, lon from marts.dim_us_sites").fetchall()
    assert sorted(got, key=repr) == sorted(kinds, key=repr)
    multi = marts.execute(
        "select site_kind, is_base, is_lilypad, is_funded_site from marts.dim_us_sites "
        "where site_name = 'IMF Santa Rosa, Iquitos'"
    ).fetchall()
    assert multi == [("lilypad", False, True, True)]
    assert marts.execute("select count(*) from marts.dim_us_sites where site_name is null").fetchone()[0] == 1
    assert marts.execute("select count(*) from marts.dim_us_sites where iso3 = 'PRY'").fetchone()[0] == 0  # none listed
