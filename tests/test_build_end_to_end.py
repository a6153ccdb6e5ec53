"""End to end: every asset materialised in-process into a temporary warehouse, then the marts queried.

The reconciliations compare the marts against the publisher files read independently (Python's csv module),
over every row.
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from pipelines.build import run_build
from tests.conftest import SNAPSHOTS
from tests.synthetic import dots_world, fa_activity_with_military, fa_summary_world
from tests.warehouse_copy import copy_warehouse

pytestmark = pytest.mark.e2e

SUMMARY_FILE = SNAPSHOTS / "us_foreign_aid_country" / "us_foreign_aid_country.csv"
DOTS_FILE = SNAPSHOTS / "imf_dots_us_trade" / "dots_us.csv"


def test_paraguay_2019_obligations_straight_from_the_publisher_row(marts):
    row = marts.execute(
        "select amount_current_usd, amount_constant_usd from marts.fct_us_aid_country_year "
        "where iso3='PRY' and fiscal_year=2019 and transaction_type='Obligations' and aid_category='Total'"
    ).fetchall()
    assert row == [(39271508, 43983113)]


def test_every_aid_amount_equals_the_summed_raw_rows(marts):
    universe = {r[0] for r in marts.execute("select iso3 from marts.dim_country").fetchall()}
    expected = defaultdict(lambda: [0, 0])
    with SUMMARY_FILE.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["Country Code"] not in universe:
                continue  # regional pseudo-codes and countries outside LAC + USA
            label = row["Fiscal Year"]
            key = (
                row["Country Code"],
                int(label[:4]),
                "TQ" if label.endswith("tq") else "FY",
                row["Transaction Type Name"],
            )
            expected[key][0] += int(row["current_amount"])
            expected[key][1] += int(row["constant_amount"])
    actual = {
        (iso3, fy, period, tt): [cur, const]
        for iso3, fy, period, tt, cur, const in marts.execute(
            "select iso3, fiscal_year, fiscal_period, transaction_type, amount_current_usd, amount_constant_usd "
            "from marts.fct_us_aid_country_year where aid_category = 'Total'"
        ).fetchall()
    }
    assert len(actual) == len(expected) > 4000
    assert actual == dict(expected)


def test_economic_split_equals_the_activity_rows(marts):
    expected = defaultdict(int)
    with (SNAPSHOTS / "us_foreign_aid_country" / "El_Salvador_2022-2002_Econ_Other.csv").open(
        encoding="utf-8", newline=""
    ) as handle:
        for row in csv.DictReader(handle):
            expected[(row["Country Code"], int(row["Fiscal Year"]), row["Foreign Assistance Objective Name"])] += int(
                row["Current Dollar Amount"]
            )
    actual = {
        (iso3, fy, cat): amount
        for iso3, fy, cat, amount in marts.execute(
            "select iso3, fiscal_year, aid_category, amount_current_usd from marts.fct_us_aid_country_year "
            "where aid_category <> 'Total' and source = 'us_foreign_aid'"
        ).fetchall()
    }
    assert actual == dict(expected)


def test_regional_aggregates_never_reach_country_facts(marts):
    assert (
        marts.execute(
            "select count(*) from marts.fct_us_aid_country_year where iso3 in ('WHN','LCN','CAN')"
        ).fetchone()[0]
        == 0
    )
    loads = dict(marts.execute("select raw_table, rows_aggregate from meta.loads").fetchall())
    with SUMMARY_FILE.open(encoding="utf-8", newline="") as handle:
        regional = sum(1 for r in csv.DictReader(handle) if r["Country Name"].endswith(" Region"))
    assert loads["us_foreign_aid_summary"] == regional


def test_every_dots_value_equals_the_file_and_blanks_stay_null(marts):
    # IMF code -> ISO3 from the concordance's own data file (not the parser), the project's code aliases on top
    import pickle

    import countrycode

    with (Path(countrycode.__file__).parent / "data" / "codelist.pickle").open("rb") as handle:
        codelist = pickle.load(handle)
    codes = {str(int(imf)): iso3 for imf, iso3 in zip(codelist["imf"], codelist["iso3c"]) if imf is not None and iso3}
    codes["353"] = "ANT"  # Netherlands Antilles: no current ISO3 in the concordance, ISO 3166-3 ANT
    for line in (SNAPSHOTS.parent / "reference" / "country_aliases.csv").read_text(encoding="utf-8").splitlines():
        parts = line.split(",")
        if parts[0] == "imf_dots_us_trade" and parts[1].isdigit() and parts[2]:
            codes[parts[1]] = parts[2]
    universe = {r[0] for r in marts.execute("select iso3 from marts.dim_country").fetchall()}
    expected = {}
    with DOTS_FILE.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            iso3 = codes[row[3]]
            if iso3 in universe:
                expected[(iso3, int(row[4]))] = (float(row[5]) if row[5] else None, float(row[7]) if row[7] else None)
    actual = {
        (iso3, year): (exp, imp)
        for iso3, year, exp, imp in marts.execute(
            "select iso3, year, us_exports_usd, us_imports_usd from marts.fct_us_trade_country_year "
            "where source = 'IMF DOTS'"
        ).fetchall()
    }
    assert actual == expected
    cuba_blank = marts.execute(
        "select count(*) from marts.fct_us_trade_country_year "
        "where iso3='CUB' and us_imports_usd is null and source = 'IMF DOTS'"
    ).fetchone()[0]
    assert cuba_blank == 14
    assert (
        marts.execute(
            "select count(*) from marts.fct_us_trade_country_year "
            "where us_imports_usd is null and total_trade_usd is not null"
        ).fetchone()[0]
        == 0
    )


def test_dim_country_flags_focus_countries(marts):
    focus = {r[0] for r in marts.execute("select iso3 from marts.dim_country where is_focus").fetchall()}
    assert focus == {"PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"}
    assert (
        marts.execute("select wb_income_group from marts.dim_country where iso3='PRY'").fetchone()[0]
        == "Upper middle income"
    )


def test_provenance_is_recorded_per_raw_table(marts):
    loads = marts.execute("select raw_table, sha256, bytes, rows_in, rows_landed, vintage from meta.loads").fetchall()
    by_name = {r[0]: r for r in loads}
    summary = by_name["us_foreign_aid_summary"]
    assert summary[1] == hashlib.sha256(SUMMARY_FILE.read_bytes()).hexdigest()
    assert summary[2] == SUMMARY_FILE.stat().st_size and summary[3] == summary[4] == 4649 and summary[5]
    vintages = {
        r[0] for r in marts.execute("select distinct source_vintage from marts.fct_us_trade_country_year").fetchall()
    }
    assert vintages == {by_name["imf_dots_us_trade"][5], by_name["census_trade_by_country"][5]}


def test_exports_one_parquet_per_mart(built_warehouse, marts):
    tables = {
        r[0]
        for r in marts.execute("select table_name from information_schema.tables where table_schema='marts'").fetchall()
    }
    exported = {p.stem for p in (built_warehouse / "exports").glob("*.parquet")}
    assert tables == exported
    with duckdb.connect() as scratch:
        rows = scratch.execute(
            "select count(*) from read_parquet(?)",
            [str(built_warehouse / "exports" / "fct_us_aid_country_year.parquet")],
        ).fetchall()[0][0]
    assert rows == marts.execute("select count(*) from marts.fct_us_aid_country_year").fetchone()[0]


@pytest.mark.builds  # a refresh of three raw tables
def test_full_world_files_give_the_same_lac_marts(tmp_path, built_warehouse, monkeypatch, reused_root):
    fa_world, fa_outside_added, fa_aggregates_added = fa_summary_world(tmp_path)
    dots_file, dots_outside_added, dots_aggregates_added = dots_world(tmp_path)
    activity_file, military_only = fa_activity_with_military(tmp_path)
    monkeypatch.setenv("HPW_US_FOREIGN_AID_SUMMARY_PATH", str(fa_world))  # the documented environment variable
    # a user's warehouse built from the bundled files: the three files given re-land, with what is downstream
    root = copy_warehouse(built_warehouse, reused_root)
    lines: list[str] = []
    result = run_build(
        warehouse_dir=root,
        log_level="WARNING",
        echo=lines.append,
        file_overrides={
            "imf_dots_us_trade": str(dots_file),  # the documented --file route
            "us_foreign_aid_activity": str(activity_file),
        },
    )
    assert result.success, result.error
    assert "  refresh: 3 raw table(s) changed (imf_dots_us_trade, us_foreign_aid_activity, us_foreign_aid_summary)" in (
        lines
    )
    summary = {a.asset: a for a in result.assets}
    base = duckdb.connect(str(built_warehouse / "partnership.duckdb"), read_only=True)
    base_loads = dict(base.execute("select raw_table, rows_outside_universe from meta.loads").fetchall())
    base_aggregates = dict(base.execute("select raw_table, rows_aggregate from meta.loads").fetchall())
    assert (
        summary["raw/us_foreign_aid_summary"].rows_outside_universe
        == base_loads["us_foreign_aid_summary"] + fa_outside_added
    )
    assert (
        summary["raw/us_foreign_aid_summary"].rows_aggregate
        == base_aggregates["us_foreign_aid_summary"] + fa_aggregates_added
    )
    assert (
        summary["raw/imf_dots_us_trade"].rows_outside_universe == base_loads["imf_dots_us_trade"] + dots_outside_added
    )
    assert summary["raw/imf_dots_us_trade"].rows_aggregate == dots_aggregates_added
    world = duckdb.connect(str(root / "partnership.duckdb"), read_only=True)
    for table, columns in {
        "fct_us_aid_country_year where aid_category <> 'Military'": (
            "iso3, fiscal_year, fiscal_period, transaction_type, aid_category, amount_current_usd, amount_constant_usd"
        ),
        "fct_us_trade_country_year": "iso3, year, us_exports_usd, us_imports_usd, total_trade_usd, trade_balance_usd",
        "dim_country": "*",
    }.items():
        query = f"select {columns} from marts.{table} order by all"
        assert world.execute(query).fetchall() == base.execute(query).fetchall(), table
    # the Military path of the activity layout (SYNTHETIC rows) reaches the mart with its own category
    military = defaultdict(int)
    with military_only.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            military[(row["Country Code"], int(row["Fiscal Year"]))] += int(row["Current Dollar Amount"])
    actual = dict(
        world.execute(
            "select (iso3, fiscal_year), amount_current_usd from marts.fct_us_aid_country_year "
            "where aid_category = 'Military' and source = 'us_foreign_aid'"
        ).fetchall()
    )
    assert {tuple(k.values()) if isinstance(k, dict) else tuple(k): v for k, v in actual.items()} == dict(military)
    world.close()  # the folder is reused by the next test on this worker (tests/conftest.py, reused_folder)
    base.close()


# A failed build leaving the published file byte-identical (error named, raw check failed, no half-built file):
# tests/test_published.py::test_failed_build_with_a_reader_open_leaves_file_and_exports_unchanged, with a reader open.


def test_rerun_with_nothing_changed_is_a_no_op(built_warehouse):
    before = (built_warehouse / "partnership.duckdb").stat().st_mtime_ns
    result = run_build(warehouse_dir=built_warehouse, echo=lambda *_: None)
    assert result.success and result.up_to_date
    assert (built_warehouse / "partnership.duckdb").stat().st_mtime_ns == before
