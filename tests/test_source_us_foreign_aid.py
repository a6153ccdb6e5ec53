"""ForeignAssistance.gov: both real layouts parse exactly, quirks are kept explicit, the contract bites."""

from __future__ import annotations

import csv

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources import us_foreign_aid
from tests.conftest import SNAPSHOTS
from tests.synthetic import fa_activity_military, rewrite_csv_cell

SUMMARY_FILE = SNAPSHOTS / "us_foreign_aid_country" / "us_foreign_aid_country.csv"
ACTIVITY_FILE = SNAPSHOTS / "us_foreign_aid_country" / "El_Salvador_2022-2002_Econ_Other.csv"


def csv_rows(path):
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def summary():
    return us_foreign_aid.parse_summary(SUMMARY_FILE)


@pytest.fixture(scope="module")
def activity():
    return us_foreign_aid.parse_activity(ACTIVITY_FILE)


def test_summary_parses_every_data_row(summary):
    header, rows = csv_rows(SUMMARY_FILE)
    assert len(header) == 11
    assert summary.height == len(rows) == 4649


def test_summary_is_crlf_with_header_only_quoting():
    raw = SUMMARY_FILE.read_bytes()
    assert raw.count(b"\r\n") == 4650 and raw.startswith(b'"Country Code","Country Name"')


def test_activity_parses_every_data_row_with_51_columns(activity):
    header, rows = csv_rows(ACTIVITY_FILE)
    assert len(header) == 51 and "Funding Acount ID" in header
    assert activity.height == len(rows) == 4399
    # the publisher's typo lands under the corrected name, values intact
    assert activity["funding_account_id"].to_list() == [r[header.index("Funding Acount ID")] or None for r in rows]


def test_transition_quarter_is_its_own_period(summary):
    _, rows = csv_rows(SUMMARY_FILE)
    tq_rows = [r for r in rows if r[8] == "1976tq"]
    assert tq_rows, "the real file holds 1976tq rows"
    tq = summary.filter(pl.col("fiscal_period") == "TQ")
    assert tq.height == len(tq_rows)
    assert set(tq["fiscal_year"]) == {1976} and set(tq["fiscal_year_label"]) == {"1976tq"}
    # FY1976 and the transition quarter stay separate rows for the same country
    bra_1976 = summary.filter((pl.col("country_code") == "BRA") & (pl.col("fiscal_year") == 1976))
    assert sorted(bra_1976["fiscal_period"].to_list()) == ["FY", "TQ"]


def test_regional_pseudo_codes_are_aggregates_not_countries(summary):
    _, rows = csv_rows(SUMMARY_FILE)
    regional_names = {r[1] for r in rows if r[1].endswith(" Region")}
    aggregates = summary.filter(pl.col("entity_kind") == "aggregate")
    assert set(aggregates["country_name"]) == regional_names
    assert {"WHN", "LCN"} <= set(aggregates["country_code"])
    assert aggregates["iso3"].null_count() == aggregates.height
    assert aggregates.height == sum(1 for r in rows if r[1].endswith(" Region"))


def test_literal_null_income_group_becomes_null(summary):
    whn = summary.filter(pl.col("country_code") == "WHN")
    assert whn["income_group_acronym"].null_count() == whn.height


def test_countries_outside_universe_are_flagged_not_dropped(summary):
    canada = summary.filter(pl.col("country_code") == "CAN")
    assert canada.height > 0 and not canada["in_universe"].any()
    assert summary.filter(pl.col("country_code") == "PRY")["in_universe"].all()


def test_military_rows_in_the_51_column_layout_parse(tmp_path):
    frame = us_foreign_aid.parse_activity(fa_activity_military(tmp_path, rows=40))
    assert frame.height == 40
    assert set(frame["foreign_assistance_objective_name"]) == {"Military"}


# --- the contract rejects bad input, naming column, value and row -------------------------------------------


def test_rejects_wrong_type(tmp_path):
    bad = tmp_path / "us_foreign_aid_country.csv"
    rewrite_csv_cell(SUMMARY_FILE, bad, data_row=17, column="current_amount", value="12,5O0")
    with pytest.raises(ContractViolation) as err:
        us_foreign_aid.parse_summary(bad)
    message = str(err.value)
    assert (
        "us_foreign_aid" in message
        and "current_amount_usd" in message
        and "'12,5O0'" in message
        and "row(s) 17" in message
    )


def test_rejects_missing_required_column(tmp_path):
    bad = tmp_path / "us_foreign_aid_country.csv"
    text = SUMMARY_FILE.read_text(encoding="utf-8").replace('"Transaction Type Name"', '"Transaction Kind"', 1)
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ContractViolation, match=r"column 'transaction_type' failed required column present"):
        us_foreign_aid.parse_summary(bad)


def test_rejects_unknown_transaction_type(tmp_path):
    bad = tmp_path / "us_foreign_aid_country.csv"
    rewrite_csv_cell(SUMMARY_FILE, bad, data_row=5, column="Transaction Type Name", value="Pledges")
    with pytest.raises(ContractViolation) as err:
        us_foreign_aid.parse_summary(bad)
    assert "transaction_type" in str(err.value) and "'Pledges'" in str(err.value) and "row(s) 5" in str(err.value)


def test_rejects_out_of_range_year_and_absurd_amount(tmp_path):
    bad = tmp_path / "us_foreign_aid_country.csv"
    rewrite_csv_cell(SUMMARY_FILE, bad, data_row=3, column="Fiscal Year", value="1800")
    rewrite_csv_cell(bad, bad, data_row=9, column="constant_amount", value="1000000000000000")
    with pytest.raises(ContractViolation) as err:
        us_foreign_aid.parse_summary(bad)
    message = str(err.value)
    assert "'fiscal_year'" in message and "1800" in message and "row(s) 3" in message
    assert "'constant_amount_usd'" in message and "1000000000000000" in message and "row(s) 9" in message


def test_rejects_unknown_objective_in_activity_layout(tmp_path):
    bad = tmp_path / "activity.csv"
    rewrite_csv_cell(ACTIVITY_FILE, bad, data_row=2, column="Foreign Assistance Objective Name", value="Economic ")
    rewrite_csv_cell(bad, bad, data_row=4, column="Foreign Assistance Objective Name", value="Humanitarian")
    with pytest.raises(ContractViolation) as err:
        us_foreign_aid.parse_activity(bad)
    assert "foreign_assistance_objective_name" in str(err.value) and "'Humanitarian'" in str(err.value)


def test_rejects_duplicate_key_rows(tmp_path):
    bad = tmp_path / "us_foreign_aid_country.csv"
    lines = SUMMARY_FILE.read_bytes().split(b"\r\n")
    bad.write_bytes(b"\r\n".join(lines[:3] + [lines[2]] + lines[3:]))
    with pytest.raises(ContractViolation, match="unique"):
        us_foreign_aid.parse_summary(bad)


def test_unmapped_country_fails_naming_it_and_the_source(tmp_path):
    bad = tmp_path / "us_foreign_aid_country.csv"
    rewrite_csv_cell(SUMMARY_FILE, bad, data_row=1, column="Country Code", value="ZZZ")
    rewrite_csv_cell(bad, bad, data_row=1, column="Country Name", value="Freedonia")
    with pytest.raises(UnmappedCountryError) as err:
        us_foreign_aid.parse_summary(bad)
    assert "[us_foreign_aid]" in str(err.value) and "Freedonia" in str(err.value)


def _land(database, path):
    from pipelines.sources.base import SourceFile

    return us_foreign_aid.ACTIVITY.land(database, SourceFile.inspect(path, "test", bundled=False))


def _amount(database, source_row):
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "select current_amount_usd from raw.us_foreign_aid_activity where source_row = ?", [source_row]
        ).fetchone()[0]


def test_landed_parquet_is_reused_for_an_unchanged_file_and_replaced_for_a_changed_one(tmp_path):
    from pipelines.warehouse import raw_parquet_dir

    database = tmp_path / "build.duckdb"
    _land(database, ACTIVITY_FILE)
    [landed] = raw_parquet_dir(database).glob("*.parquet")
    written = landed.stat().st_mtime_ns
    _land(database, ACTIVITY_FILE)
    assert list(raw_parquet_dir(database).glob("*.parquet")) == [landed] and landed.stat().st_mtime_ns == written

    changed = tmp_path / "activity.csv"
    rewrite_csv_cell(ACTIVITY_FILE, changed, data_row=5, column="Current Dollar Amount", value="123")
    _land(database, changed)
    [replaced] = raw_parquet_dir(database).glob("*.parquet")
    assert replaced != landed and _amount(database, 5) == 123


def test_a_build_never_prunes_the_parquet_the_published_database_reads(tmp_path):
    import shutil

    from pipelines.warehouse import raw_parquet_dir

    root = tmp_path / "warehouse"
    build, published = root / ".build" / "partnership.duckdb", root / "partnership.duckdb"
    versions = []
    for i, amount in enumerate(("111", "222", "333")):
        version = tmp_path / f"activity_{i}.csv"
        rewrite_csv_cell(ACTIVITY_FILE, version, data_row=5, column="Current Dollar Amount", value=amount)
        versions.append(version)

    _land(build, versions[0])
    shutil.move(build, published)  # build 1 is published
    _land(build, versions[1])  # build 2 fails after landing: never published
    folder = raw_parquet_dir(build)
    assert folder == root / "raw_parquet" and len(list(folder.glob("*.parquet"))) == 2
    _land(build, versions[2])  # build 3: the file of build 2 goes, the published one stays readable
    assert len(list(folder.glob("*.parquet"))) == 2
    assert _amount(published, 5) == 111 and _amount(build, 5) == 333
    shutil.move(build, published)  # build 3 is published: the next landing may drop build 1's file
    _land(build, versions[0])
    assert len(list(folder.glob("*.parquet"))) == 2 and _amount(published, 5) == 333 and _amount(build, 5) == 111
