"""Codes before names, historical entities, out-of-region judgement, contradictions, and tolerated publisher quirks.

Fast tests on the parsers and the crosswalk (no build); the builds of real other vintages are in test_vintages.py.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import polars as pl
import pytest

from data_contracts._base import contract_run
from pipelines import countries
from pipelines.cli import main
from pipelines.countries import CrosswalkConflictError, UnmappedCountryError, resolve
from pipelines.sources import RAW_TABLES_BY_NAME
from tests.conftest import SNAPSHOTS

VINTAGES = Path(__file__).parent.parent / "fixtures" / "vintages"
DOTS = SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv"
FA = SNAPSHOTS / "us_foreign_aid_country" / "us_foreign_aid_country.csv"


def pairs(source: str, rows: list[tuple], **kwargs) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=["code", "name"] + (["region"] if len(rows[0]) == 3 else []), orient="row")
    return resolve(frame, source, code_col="code", name_col="name", **kwargs)


@pytest.fixture(autouse=True)
def _clean_log():
    countries.take_outcomes()
    yield
    countries.take_outcomes()


def test_imf_codes_resolve_from_the_concordance_including_historical_entities():
    out = pairs(
        "imf_dots_us_trade",
        [
            ("288", "Paraguay"),
            ("186", "Türkiye, Rep of"),
            ("512", "Afghanistan, Islamic Rep. of"),
            ("188", "Yugoslavia"),
            ("934", "Czechoslovakia"),
            ("487", "West Bank and Gaza"),
        ],
    )
    assert out["iso3"].to_list() == ["PRY", "TUR", "AFG", "YUG", "CSK", "PSE"]
    methods = {o.name: o.method for o in countries.take_outcomes("imf_dots_us_trade")}
    assert methods["Türkiye, Rep of"] == "code" and methods["Yugoslavia"] == "historical"


def test_cow_codes_resolve_and_territories_keep_their_own_iso3():
    out = pairs(
        "us_troops_dmdc",
        [("150", "Paraguay"), ("2", "Puerto Rico"), ("365", "Russia"), ("345", "Yugoslavia")],
        code_system="cown",
    )
    assert out["iso3"].to_list() == ["PRY", "PRI", "RUS", "YUG"]


@pytest.mark.parametrize(
    "source, rows, kwargs, named",
    [
        ("imf_dots_us_trade", [("298", "Paraguay")], {}, ("298", "URY", "Paraguay", "PRY")),
        ("us_foreign_aid", [("URY", "Paraguay")], {"code_is_iso3": True}, ("URY", "URY", "Paraguay", "PRY")),
        ("us_foreign_aid", [("ARG", "El Salvador")], {"code_is_iso3": True}, ("ARG", "ARG", "El Salvador", "SLV")),
    ],
)
def test_a_name_code_contradiction_stops_naming_both(source, rows, kwargs, named):
    with pytest.raises(CrosswalkConflictError) as err:
        pairs(source, rows, **kwargs)
    assert all(part in str(err.value) for part in named) and f"[{source}]" in str(err.value)


def test_out_of_region_never_blocks_in_region_never_slips():
    out = pairs(
        "us_foreign_aid",
        [("TIB", "China (Tibet)", "East Asia and Oceania"), ("NULL", "Berlin, West", "Europe and Eurasia")],
        code_is_iso3=True,
        region_col="region",
    )
    assert out["entity_kind"].to_list() == ["unresolved", "unresolved"] and not out["in_universe"].any()
    listed = countries.unresolved_frame(countries.take_outcomes("us_foreign_aid"))
    assert listed["why"].str.contains("publisher region").all()
    with pytest.raises(UnmappedCountryError) as err:
        pairs(
            "us_foreign_aid",
            [("NULL", "Islas del Cisne", "Western Hemisphere")],
            code_is_iso3=True,
            region_col="region",
        )
    assert "Islas del Cisne" in str(err.value)
    # an unknown code in the IMF Western Hemisphere block, or a name with no evidence at all, may be ours: stop
    with pytest.raises(UnmappedCountryError):
        pairs("imf_dots_us_trade", [("234", "Islas del Cisne")])
    out = pairs("imf_dots_us_trade", [("126", "Belgium-Luxembourg")])
    assert out["entity_kind"].item() == "unresolved"
    with pytest.raises(UnmappedCountryError):
        resolve(pl.DataFrame({"name": ["Freedonia"]}), "sipri_arms_transfers", name_col="name")


def test_trailing_blank_lines_are_tolerated(tmp_path):
    table = RAW_TABLES_BY_NAME["imf_dots_us_trade"]
    padded = tmp_path / "dots_us.csv"
    padded.write_bytes(DOTS.read_bytes() + b"\r\n\r\n")
    assert table.parse(padded).equals(table.parse(DOTS))
    summary = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
    padded = tmp_path / "us_foreign_aid_country.csv"
    padded.write_bytes(FA.read_bytes() + b"\n\n")
    assert summary.parse(padded).height == summary.parse(FA).height


def test_integers_written_with_a_decimal_zero_are_the_same_integers(tmp_path):
    text = FA.read_text(encoding="utf-8").splitlines()
    resaved = tmp_path / "us_foreign_aid_country.csv"
    # the way spreadsheets re-save whole numbers: the last two columns (amounts) as 1234.0
    lines = [text[0]] + [",".join(line.split(",")[:-2] + [f"{v}.0" for v in line.split(",")[-2:]]) for line in text[1:]]
    resaved.write_text("\n".join(lines) + "\n", encoding="utf-8")
    table = RAW_TABLES_BY_NAME["us_foreign_aid_summary"]
    original, again = table.parse(FA), table.parse(resaved)
    assert again["current_amount_usd"].to_list() == original["current_amount_usd"].to_list()
    assert again["constant_amount_usd"].dtype == pl.Int64


def test_next_sipri_milex_release_with_a_new_base_year_sheet(tmp_path):
    bundled = SNAPSHOTS / "sipri_milex" / "SIPRI-Milex-data-1948-2023.xlsx"
    renamed = tmp_path / "SIPRI-Milex-data-1949-2024.xlsx"
    with zipfile.ZipFile(bundled) as src, zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():  # the next release names its constant-dollar sheet for its base year
            data = src.read(item.filename)
            if item.filename in ("xl/workbook.xml", "docProps/app.xml"):
                data = data.replace(b"Constant (2022) US$", b"Constant (2023) US$")
            dst.writestr(item, data)
    frame = RAW_TABLES_BY_NAME["sipri_milex"].parse(renamed)
    assert set(frame["measure"].unique()) == {"constant_2023_usd_mn", "current_usd_mn", "share_gdp", "per_capita_usd"}


def test_an_unrelated_json_beside_the_world_bank_responses_is_left_alone(tmp_path):
    table = RAW_TABLES_BY_NAME["worldbank_wdi_json"]
    bundled = SNAPSHOTS / "worldbank_wdi" / table.default_file
    shutil.copy(bundled, tmp_path / bundled.name)
    (tmp_path / "download-notes.json").write_text('{"downloaded_by": "me", "note": "not World Bank data"}')
    assert table.parse(tmp_path / bundled.name).equals(table.parse(bundled))


def test_sipri_register_plausibility_rows_are_kept_and_flagged():
    path = VINTAGES / "sipri_arms_register" / "trade-register_2024-10-13_paraguay_peru.csv"
    with contract_run() as contracts:
        frame = RAW_TABLES_BY_NAME["sipri_arms_register"].parse(path)
    pr72 = frame.filter(pl.col("weapon_designation") == "PR-72P")
    assert pr72.select("number_ordered", "number_delivered").row(0) == (0, 6)
    flags = contracts.findings.flags
    assert set(flags["reason"]) == {"plausibility: number_delivered <= number_ordered"}
    assert int(pr72["source_row"].item()) in flags["source_row"].to_list()


def test_check_file_exit_status_says_whether_a_build_would_stop(capsys):
    good = VINTAGES / "imf_dots_us_trade" / "dots_us_all_partners_2021_2022.csv"
    assert main(["check-file", f"imf_dots_us_trade={good}"]) == 0
    out = capsys.readouterr().out
    assert "Belgium-Luxembourg" in out and "a build would accept this file" in out
    bad = (
        Path(__file__).parent.parent.parent
        / "data"
        / "fixtures"
        / "vintages"
        / "us_foreign_aid_country_unknown_lac_name_synthetic.csv"
    )
    assert main(["check-file", f"us_foreign_aid_summary={bad}"]) == 1
    assert "Islas del Cisne" in capsys.readouterr().out
    assert main(["check-file", "not_a_table=x.csv"]) == 1
