"""Hand-curated security agreements: every row cited, real partial dates, documented types, crosswalked codes.

Expected values are read from the CSV with Python's csv module (independently of the parser), never hard-coded
from the pipeline's own output.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from datetime import date

import polars as pl
import pycountry
import pytest

from data_contracts._base import ContractViolation
from data_contracts.security_agreements import AGREEMENT_TYPES, SecurityAgreements, date_precision, first_day
from pipelines.sources import security_agreements
from tests.conftest import SNAPSHOTS
from tests.synthetic import rewrite_csv_cell

FOLDER = SNAPSHOTS / "security_agreements"
FILE = FOLDER / "security_agreements.csv"
COLUMNS = [
    "country_iso3",
    "agreement_type",
    "title",
    "date_signed",
    "date_in_force",
    "counterpart",
    "notes",
    "source_citation",
    "source_url",
]
PRECISION_BY_LENGTH = {10: "day", 7: "month", 4: "year"}


def csv_rows() -> list[dict[str, str]]:
    with FILE.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def row_number(predicate) -> int:
    """1-based data-row number of the single CSV row matching predicate."""
    hits = [i for i, r in enumerate(csv_rows(), start=1) if predicate(r)]
    assert len(hits) == 1, hits
    return hits[0]


@pytest.fixture(scope="module")
def parsed():
    return security_agreements.parse(FILE)


def reject(tmp_path, edits: list[tuple[int, str, str]]) -> str:
    """Parse a copy of the real file with cells replaced; return the ContractViolation message."""
    bad = tmp_path / "security_agreements.csv"
    src = FILE
    for data_row, column, value in edits:
        rewrite_csv_cell(src, bad, data_row=data_row, column=column, value=value)
        src = bad
    with pytest.raises(ContractViolation) as err:
        security_agreements.parse(bad)
    message = str(err.value)
    assert message.startswith("[security_agreements] security_agreements.csv breaks its contract")
    return message


# ---------------------------------------------------------------- file and raw table


def test_file_layout_is_as_documented():
    raw = FILE.read_bytes()
    raw.decode("utf-8")
    assert b"\r\n" not in raw and not raw.startswith(b"\xef\xbb\xbf")
    with FILE.open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == COLUMNS


def test_parses_every_data_row(parsed):
    rows = csv_rows()
    assert parsed.height == len(rows) == 50  # SOURCE.md: 50 rows
    assert parsed["source_row"].to_list() == list(range(1, len(rows) + 1))


def test_raw_table_row_count_equals_file(marts):
    landed = marts.execute("select count(*) from raw.security_agreements").fetchone()[0]
    assert landed == len(csv_rows())


# ---------------------------------------------------------------- quirks on the real file


def test_partial_dates_parse_with_their_precision(parsed):
    # Precision from the text's length, an independent reading of the three allowed forms.
    rows = csv_rows()
    for column in ("date_signed", "date_in_force"):
        texts = [r[column] for r in rows]
        expected_precision = [PRECISION_BY_LENGTH[len(t)] if t else None for t in texts]
        expected_date = [date.fromisoformat(t + {10: "", 7: "-01", 4: "-01-01"}[len(t)]) if t else None for t in texts]
        assert parsed[f"{column}_precision"].to_list() == expected_precision
        assert parsed[column].to_list() == expected_date
        assert parsed[f"{column}_text"].to_list() == [t or None for t in texts]
    # The file holds all three forms, in both columns.
    assert set(parsed["date_signed_precision"].drop_nulls()) == {"day", "month", "year"}
    assert set(parsed["date_in_force_precision"].drop_nulls()) == {"day", "month"}


@pytest.mark.parametrize(
    "text, expected, precision",
    [
        ("2025-12-15", date(2025, 12, 15), "day"),
        ("2024-02-29", date(2024, 2, 29), "day"),
        ("2015-07", date(2015, 7, 1), "month"),
        ("2001", date(2001, 1, 1), "year"),
        (None, None, None),
    ],
)
def test_each_partial_date_form(text, expected, precision):
    frame = pl.DataFrame({"d": [text]}, schema={"d": pl.String})
    out = frame.select(first_day(pl.col("d")).alias("date"), date_precision(pl.col("d")).alias("precision"))
    assert out.row(0) == (expected, precision)


def test_blank_dates_stay_null(parsed):
    rows = csv_rows()
    for column in ("date_signed", "date_in_force"):
        assert parsed[column].null_count() == sum(1 for r in rows if r[column] == "") > 0


def test_multi_country_pseudo_codes_are_aggregates(parsed):
    pseudo = {r["country_iso3"] for r in csv_rows() if pycountry.countries.get(alpha_3=r["country_iso3"]) is None}
    assert pseudo == {"XCA", "XCB"}  # SOURCE.md: the two user-assigned codes
    agg = parsed.filter(pl.col("country_iso3").is_in(list(pseudo)))
    assert agg["entity_kind"].to_list() == ["aggregate", "aggregate"] and agg["iso3"].null_count() == 2
    countries = parsed.filter(~pl.col("country_iso3").is_in(list(pseudo)))
    assert (countries["iso3"] == countries["country_iso3"]).all() and (countries["entity_kind"] == "country").all()
    # Aruba and Curacao (Kingdom of the Netherlands FOL) are separate rows, both in the LAC universe.
    assert countries.filter(pl.col("iso3").is_in(["ABW", "CUW"]))["in_universe"].to_list() == [True, True]


def test_agreement_types_are_the_documented_list(parsed):
    # The contract's list is exactly the one SOURCE.md documents, and the file uses only those values.
    text = (FOLDER / "SOURCE.md").read_text(encoding="utf-8")
    section = text.split("## agreement_type values", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^- (.+?) — ", section, flags=re.M)
    assert sorted(documented) == sorted(AGREEMENT_TYPES) and all(AGREEMENT_TYPES.values())
    assert {r["agreement_type"] for r in csv_rows()} <= set(AGREEMENT_TYPES)
    # A value holding a comma and parentheses survives the RFC-4180 quoting whole.
    assert "Research, development, test and evaluation agreement (RDT&E)" in parsed["agreement_type"].to_list()


def test_every_real_row_is_cited(parsed):
    assert all(r["source_citation"] or r["source_url"] for r in csv_rows())
    assert parsed.filter(pl.col("source_citation").is_null() & pl.col("source_url").is_null()).height == 0


def test_citation_or_url_alone_is_enough(tmp_path):
    ok = tmp_path / "security_agreements.csv"
    rewrite_csv_cell(FILE, ok, data_row=1, column="source_url", value="")
    rewrite_csv_cell(ok, ok, data_row=2, column="source_citation", value="")
    frame = security_agreements.parse(ok)
    assert frame["source_url"][0] is None and frame["source_citation"][1] is None


# ---------------------------------------------------------------- the contract rejects corruptions


def test_rejects_a_row_citing_nothing(tmp_path):
    row = row_number(lambda r: r["country_iso3"] == "PRY" and r["agreement_type"] == "SOFA")
    message = reject(tmp_path, [(row, "source_citation", ""), (row, "source_url", "")])
    assert "source_citation or source_url required" in message
    assert '"source_citation":null' in message and '"source_url":null' in message
    assert f"row(s) {row}" in message


@pytest.mark.parametrize("column", ["date_signed", "date_in_force"])
@pytest.mark.parametrize("value", ["2025-13-01", "2025-02-30", "25-12-15", "12/15/2025", "2025-1", "0202"])
def test_rejects_an_invalid_date(tmp_path, column, value):
    row = row_number(lambda r: r["country_iso3"] == "PRY" and r["agreement_type"] == "SOFA")
    message = reject(tmp_path, [(row, column, value)])
    assert f"column '{column}_text'" in message and repr(value) in message and f"row(s) {row}" in message


def test_rejects_an_unknown_agreement_type(tmp_path):
    row = row_number(lambda r: r["country_iso3"] == "CHL")
    message = reject(tmp_path, [(row, "agreement_type", "Status of Forces Agreement")])
    assert (
        "column 'agreement_type'" in message
        and "'Status of Forces Agreement'" in message
        and f"row(s) {row}" in message
    )


@pytest.mark.parametrize("value", ["PYR", "pry", ""])
def test_rejects_an_unknown_iso3(tmp_path, value):
    row = row_number(lambda r: r["country_iso3"] == "PRY" and r["agreement_type"] == "SOFA")
    message = reject(tmp_path, [(row, "country_iso3", value)])
    assert "column 'country_iso3'" in message and repr(value) in message and f"row(s) {row}" in message


def test_rejects_entry_into_force_years_before_signing(tmp_path):
    row = row_number(lambda r: r["country_iso3"] == "BRA" and r["agreement_type"] == "Technology safeguards agreement")
    message = reject(tmp_path, [(row, "date_in_force", "2018-12")])
    assert "date_in_force not in an earlier year than date_signed" in message and f"row(s) {row}" in message


def test_rejects_a_duplicated_agreement(tmp_path):
    bad = tmp_path / "security_agreements.csv"
    lines = FILE.read_bytes().split(b"\n")
    bad.write_bytes(b"\n".join(lines[:2] + [lines[1]] + lines[2:]))
    with pytest.raises(ContractViolation, match=r"(?s)country_iso3.*row\(s\) 1, 2"):
        security_agreements.parse(bad)


def test_contract_declares_the_parsed_columns(parsed):
    assert set(SecurityAgreements.to_schema().columns) == set(parsed.columns)


# ---------------------------------------------------------------- the mart


def test_paraguay_sofa_row(marts):
    expected = [r for r in csv_rows() if r["country_iso3"] == "PRY" and r["agreement_type"] == "SOFA"]
    assert len(expected) == 1
    expected = expected[0]
    result = marts.execute("select * from marts.fct_security_agreements where iso3='PRY' and agreement_type='SOFA'")
    columns = [d[0] for d in result.description]
    rows = [dict(zip(columns, r)) for r in result.fetchall()]
    assert len(rows) == 1
    got = rows[0]
    assert got["date_signed"] == date.fromisoformat(expected["date_signed"]) == date(2025, 12, 15)
    assert got["date_signed_precision"] == "day"
    assert got["source_citation"] == expected["source_citation"] and "Department of State" in got["source_citation"]
    assert got["source_url"] == expected["source_url"]
    assert got["title"] == expected["title"] and got["counterpart"] == expected["counterpart"]
    assert got["date_in_force"] is None and expected["date_in_force"] == ""
    title_hash = hashlib.md5(expected["title"].encode("utf-8")).hexdigest()[:8]
    assert got["agreement_id"] == f"PRY-sofa-2025-12-15-{title_hash}"
    assert got["source_vintage"] == security_agreements.SECURITY_AGREEMENTS.vintage


def test_every_csv_row_appears_once_in_the_mart_with_equal_fields(marts):
    def as_text(column: str) -> str:
        # Back to the text the curator wrote: the DATE cut to its precision.
        return (
            f"case {column}_precision when 'day' then strftime({column}, '%Y-%m-%d') "
            f"when 'month' then strftime({column}, '%Y-%m') when 'year' then strftime({column}, '%Y') end"
        )

    mart_rows = marts.execute(
        f"""select source_country_code, agreement_type, title, {as_text("date_signed")}, {as_text("date_in_force")},
                   counterpart, notes, source_citation, source_url
            from marts.fct_security_agreements"""
    ).fetchall()
    from_mart = Counter(tuple("" if v is None else v for v in row) for row in mart_rows)
    from_file = Counter(tuple(r[c] for c in COLUMNS) for r in csv_rows())
    assert len(mart_rows) == sum(from_file.values())
    assert from_mart == from_file
    assert max(from_file.values()) == 1  # each row once
    ids = marts.execute("select count(distinct agreement_id), count(*) from marts.fct_security_agreements").fetchone()
    assert ids[0] == ids[1] == len(mart_rows)


def test_mart_keeps_multi_country_rows_with_null_iso3(marts):
    rows = marts.execute(
        "select source_country_code, entity_kind, iso3 from marts.fct_security_agreements "
        "where entity_kind <> 'country' order by 1"
    ).fetchall()
    assert rows == [("XCA", "aggregate", None), ("XCB", "aggregate", None)]
