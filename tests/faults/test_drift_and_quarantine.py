"""Issue 7, cases that must *not* stop the build, and the schema-drift gate.

- 6: an extra column passes the drift gate with a warning naming it, and lands in raw;
- 14: a value the contract marks tolerable that does not parse goes to meta.quarantine (source, file, row, column,
  value, reason), NULL in raw, counted in the build summary and meta.loads.rows_rejected — no row dropped;
- 4 (reverse) and 13: a Latin-1 publisher's file re-saved as UTF-8, and longer preambles, read to the same data.
Removals, renames and type changes stopping the build are cases 5 and 7 in test_bad_input.py.
"""

from __future__ import annotations

import csv

import duckdb
import pytest

from data_contracts._base import ContractViolation, contract_run
from pipelines.sources import RAW_TABLES
from tests.conftest import reused_folder
from tests.faults import corrupt as c
from tests.faults.conftest import publish_copy

TABLES = {t.name: t for t in RAW_TABLES}
# Two real-looking bad cells in detail lines the DMDC contract marks tolerable: an OCR `O` for a zero, and a
# thousands separator. Data rows 2 and 6 of the bundled file (United States, June 1953 / September 1957).
TOLERABLE_CELLS = [
    (2, "Navy Other", "navy_other", "24O357"),
    (6, "Navy Temporary Ashore", "navy_temporary_ashore", "63,621"),
]


def _troops_with_bad_detail_cells(tmp):
    path = c.TROOPS
    for n, (row, column, _, value) in enumerate(TOLERABLE_CELLS):
        path = c.set_cell(path, tmp / str(n), row, column, value)
    return path


@pytest.fixture(scope="module")
def tolerated(built_warehouse, tmp_path_factory):
    """One build with an additive column in the IMF file and two tolerable bad cells in the DMDC file (a refresh of
    those two raw tables and what is downstream of them, published)."""
    tmp = tmp_path_factory.mktemp("tolerated")
    published = publish_copy(built_warehouse, reused_folder(tmp_path_factory, "warehouse"), whole=True)
    dots = c.add_column(c.DOTS, tmp / "dots", "Unit", "US Dollars")
    troops = _troops_with_bad_detail_cells(tmp / "troops")
    result = published.build(imf_dots_us_trade=str(dots), us_troops_dmdc=str(troops))
    return result, published, troops


@pytest.mark.e2e
def test_06_extra_column_passes_with_a_warning_naming_it(tolerated):
    result, published, _ = tolerated
    assert result.success, result.error
    drift_warnings = [w for w in result.warnings if "imf_dots_us_trade" in w]
    assert drift_warnings and "['Unit']" in drift_warnings[0] and "dots_us.csv" in drift_warnings[0], result.warnings
    assert "warning: [imf_dots_us_trade] dots_us.csv: new column(s) ['Unit']" in result.summary_table()
    with duckdb.connect(str(published.database), read_only=True) as con:
        units = con.execute('select distinct "Unit" from raw.imf_dots_us_trade').fetchall()
    assert units == [("US Dollars",)]
    assert not [w for w in result.warnings if "imf_dots_us_trade" not in w]  # the DMDC file has no new column


@pytest.mark.e2e
def test_14_tolerable_bad_values_are_quarantined_and_counted(tolerated):
    result, published, troops = tolerated
    assert result.success, result.error
    with troops.open(encoding="utf-8", newline="") as handle:
        file_rows = sum(1 for _ in csv.DictReader(handle))
    with duckdb.connect(str(published.database), read_only=True) as con:
        held = con.execute(
            "select raw_table, source, file, source_row, column_name, value, reason from meta.quarantine order by "
            "source_row"
        ).fetchall()
        loads = dict(con.execute("select raw_table, rows_rejected from meta.loads").fetchall())
        landed = con.execute("select count(*) from raw.us_troops_dmdc").fetchone()[0]
        nulls = con.execute(
            "select source_row, navy_other, navy_temporary_ashore from raw.us_troops_dmdc where source_row in (2, 6) "
            "order by 1"
        ).fetchall()
    assert [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in held] == [
        ("us_troops_dmdc", "us_troops_dmdc", troops.name, row, column, value)
        for row, _, column, value in TOLERABLE_CELLS
    ]
    assert all("not a Int64; set to NULL" in r[6] and "read by no mart" in r[6] for r in held)
    assert landed == file_rows  # the row is kept (value unknown), never dropped
    with c.TROOPS.open(encoding="utf-8", newline="") as handle:
        original = list(csv.DictReader(handle))
    # the quarantined cell is NULL, the row's other cells are as published
    assert nulls == [(2, None, int(original[1]["Navy Temporary Ashore"])), (6, int(original[5]["Navy Other"]), None)]
    assert loads["us_troops_dmdc"] == 2 and loads["imf_dots_us_trade"] == 0
    assert result.rows_quarantined == 2
    assert {a.asset: a.rows_rejected for a in result.assets}["raw/us_troops_dmdc"] == 2
    assert "quarantined: 2 row(s)" in result.summary_table()


def test_14_the_same_bad_value_in_a_strict_column_still_fails(tmp_path):
    bad = c.set_cell(c.TROOPS, tmp_path, 2, "Total", "24O357")
    with pytest.raises(ContractViolation) as err, contract_run() as contracts:
        TABLES["us_troops_dmdc"].parse(bad)
    assert "column 'total' failed type Int64: value(s) '24O357' at row(s) 2" in str(err.value)
    assert contracts.findings.quarantined.height == 0


@pytest.mark.parametrize(
    "table, src",
    [("sipri_arms_register", c.SIPRI_REGISTER), ("us_bases", c.BASES)],
    ids=["04_utf8_where_latin1_declared_sipri", "04_utf8_where_latin1_declared_bases"],
)
def test_04_utf8_copy_of_a_latin1_file_reads_the_same(tmp_path, table, src):
    resaved = c.reencoded(src, tmp_path, "latin-1", "utf-8")
    assert resaved.read_bytes() != src.read_bytes() and b"\xc3" in resaved.read_bytes()  # really re-encoded
    original, copy = TABLES[table].parse(src), TABLES[table].parse(resaved)
    assert copy.equals(original)


@pytest.mark.parametrize(
    "table, make",
    [
        (
            "sipri_tiv_imports",
            lambda t: c.longer_preamble(c.SIPRI_IMPORTS, t, ["Note: figures revised in this release", ""], "latin-1"),
        ),
        (
            "worldbank_wdi_csv",
            lambda t: c.longer_preamble(
                c.wdi_folder(t) / c.WDI_HOMICIDE, t / "worldbank_wdi", ['"Notes","Series revised"', ""]
            ),
        ),
    ],
    ids=["13_sipri_preamble_two_lines_longer", "13_world_bank_preamble_two_lines_longer"],
)
def test_13_longer_preamble_header_still_found(tmp_path, table, make):
    changed = make(tmp_path)
    assert (
        changed.read_bytes()
        != (c.SIPRI_IMPORTS if table == "sipri_tiv_imports" else c.WDI_DIR / c.WDI_HOMICIDE).read_bytes()
    )
    original = TABLES[table].parse(TABLES[table].bundled_path)
    again = TABLES[table].parse(changed)
    data = [
        col
        for col in original.columns
        if col not in {"file_sha256", "file_vintage", "vintage_date", "last_updated", "data_source", "dialect"}
    ]
    assert again.height == original.height
    assert again.select(data).sort(data).equals(original.select(data).sort(data))
