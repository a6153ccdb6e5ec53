"""SIPRI Arms Transfers: trade register + TIV import/export tables (parsers, contracts, marts).

Expected values are read independently from the bundled files with Python's csv module (latin-1), never
through the parsers under test.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import polars as pl
import pytest

from data_contracts._base import ContractViolation
from pipelines.countries import UnmappedCountryError
from pipelines.sources import sipri_arms_transfers as sipri

SNAPSHOT = Path(__file__).resolve().parent.parent / "data" / "snapshots" / "sipri_arms_transfers"
REGISTER_FILE = SNAPSHOT / "trade-register_lac_us.csv"
IMPORTS_FILE = SNAPSHOT / "import-values_1950-2024_lac_us.csv"
EXPORTS_FILE = SNAPSHOT / "export-values_1950-2024_lac_us.csv"
FOCUS = ["PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"]


# ---------------------------------------------------------------- independent reads of the files


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="latin-1", newline="") as handle:
        return list(csv.reader(handle))


def register_csv() -> tuple[list[str], list[list[str]]]:
    rows = _csv_rows(REGISTER_FILE)
    at = next(i for i, r in enumerate(rows) if r[:2] == ["Recipient", "Supplier"])
    return rows[at], [r for r in rows[at + 1 :] if r]


def tiv_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = _csv_rows(path)
    at = next(i for i, r in enumerate(rows) if len(r) > 1 and r[1] == "1950")
    return rows[at], [r for r in rows[at + 1 :] if r]


@pytest.fixture(scope="module")
def register() -> pl.DataFrame:
    return sipri.parse_register(REGISTER_FILE)


@pytest.fixture(scope="module")
def imports() -> pl.DataFrame:
    return sipri.parse_tiv_imports(IMPORTS_FILE)


@pytest.fixture(scope="module")
def exports() -> pl.DataFrame:
    return sipri.parse_tiv_exports(EXPORTS_FILE)


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


# ---------------------------------------------------------------- row counts


def test_register_parses_every_data_row(register):
    header, data = register_csv()
    assert len(header) == 16
    assert len(data) == 4189  # SOURCE.md: 4,189 deal lines kept
    assert register.height == len(data)
    assert register["source_row"].to_list() == list(range(1, len(data) + 1))
    assert register["recipient_name"].to_list() == [r[0].strip() for r in data]
    # The preamble's `Data generated:` line is carried as the file's own vintage.
    assert register["data_generated"].unique().to_list() == ["13 Mar 2025 10:02:49 AM"]


@pytest.mark.parametrize(("path", "fixture", "n_rows"), [(IMPORTS_FILE, "imports", 39), (EXPORTS_FILE, "exports", 20)])
def test_tiv_tables_parse_every_data_row(path, fixture, n_rows, request):
    frame = request.getfixturevalue(fixture)
    header, data = tiv_csv(path)
    years = [c for c in header if c.isdigit()]
    assert len(data) == n_rows and years[0] == "1950" and years[-1] == "2024" and len(years) == 75
    # Long form: one row per table row x year column, and every table row is there.
    assert frame.height == len(data) * len(years)
    assert frame["source_row"].n_unique() == len(data)
    assert frame["country_name"].unique(maintain_order=True).to_list() == [r[0] for r in data]


# ---------------------------------------------------------------- quirks: trade register


def test_latin1_text_is_decoded(register):
    comments = register.filter(pl.col("comments").str.contains("Guaiquer")).get_column("comments").to_list()
    assert comments == ["For POVZEE (Avante-2200 or Guaiquerí) OPV"]
    _, data = register_csv()
    assert sorted(register["weapon_designation"].unique().to_list()) == sorted({r[6].strip() for r in data})


def test_file_is_latin1_and_a_utf8_copy_reads_the_same(tmp_path, register):
    raw = REGISTER_FILE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    path = tmp_path / "register_utf8.csv"
    path.write_bytes(raw.decode("latin-1").encode("utf-8"))
    assert sipri.parse_register(path).equals(register)


def test_question_mark_flags_follow_their_column(register):
    header, data = register_csv()
    # The three single-space headers sit right after the column they qualify.
    assert [header[i - 1] for i, h in enumerate(header) if h == " "] == [
        "Year of order",
        "Number ordered",
        "Number delivered",
    ]
    for flag_col, position in (("order_year_flag", 3), ("number_ordered_flag", 5), ("number_delivered_flag", 9)):
        expected = [r[position] or None for r in data]
        assert register[flag_col].to_list() == expected, flag_col
    assert (register["order_year_flag"] == "?").sum() == 2122


def test_delivery_years_and_blank_markers(register):
    _, data = register_csv()
    assert register["delivery_years"].to_list() == [r[10] or None for r in data]
    firsts = [min(map(int, r[10].split("; "))) if r[10] else None for r in data]
    assert register["first_delivery_year"].to_list() == firsts
    # Empty `Number ordered` = not yet available -> null, never 0.
    assert register.filter(pl.col("number_ordered").is_null()).height == sum(1 for r in data if r[4] == "") == 11
    # `0` delivered TIV here comes with number_delivered 0 and no delivery years (nothing delivered yet).
    zero = register.filter(pl.col("tiv_delivered_mn") == 0)
    assert zero.height == 107
    assert zero["number_delivered"].unique().to_list() == [0] and zero["delivery_years"].null_count() == 107
    assert register["status"].unique().sort().to_list() == ["New", "Second hand", "Second hand but modernized"]


def test_weapon_descriptions_kept_verbatim(register):
    """Vocabulary changes between vintages (SOURCE.md): descriptions are kept as published, not normalised."""
    _, data = register_csv()
    assert register["weapon_description"].to_list() == [r[7].strip() for r in data]
    assert "surface-to-surface missile" in register["weapon_description"].to_list()


def test_header_found_when_preamble_changes_length(tmp_path, register):
    lines = REGISTER_FILE.read_bytes().split(b"\n")
    longer = tmp_path / "register_longer_preamble.csv"
    longer.write_bytes(b"\n".join([b"An extra note line", b""] + lines))
    assert sipri.parse_register(longer).drop("source_row").equals(register.drop("source_row"))

    headless = tmp_path / "register_no_header.csv"
    headless.write_bytes(b"\n".join(lines[:11] + lines[12:]))
    with pytest.raises(ContractViolation, match=r"(?s)\[sipri_arms_transfers\].*header"):
        sipri.parse_register(headless)


def test_stray_carriage_return_does_not_split_a_record(tmp_path, register):
    raw = REGISTER_FILE.read_bytes()
    # SIPRI's full register has one CR inside a comment: put one in a comment here.
    corrupted = raw.replace(
        b"ordered via USA from US production line,4.5,27", b"ordered via USA\rfrom US production line,4.5,27", 1
    )
    assert corrupted != raw
    path = tmp_path / "register_cr.csv"
    path.write_bytes(corrupted)
    frame = sipri.parse_register(path)
    assert frame.height == register.height
    assert frame["comments"][0] == "A-29B version; financed by USA; ordered via USA from US production line"


def test_comma_inside_a_field_fails_clearly(tmp_path):
    """SIPRI exports are unquoted: a comma inside a comment would shift every later column."""
    lines, index, row = _data_line_number(REGISTER_FILE, b"Recipient,Supplier", b"Paraguay,")
    cells = lines[index].split(b",")
    cells[12] = b"Second-hand, aid"
    lines[index] = b",".join(cells)
    path = tmp_path / "register_comma.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(
        ContractViolation,
        match=rf"(?s)\[sipri_arms_transfers\].*record layout.*16 comma-separated fields.*at row\(s\) {row}\b",
    ):
        sipri.parse_register(path)


def test_crlf_copy_reads_like_the_lf_original(tmp_path, imports):
    path = tmp_path / "imports_crlf.csv"
    path.write_bytes(IMPORTS_FILE.read_bytes().replace(b"\n", b"\r\n"))
    assert sipri.parse_tiv_imports(path).equals(imports)


# ---------------------------------------------------------------- quirks: TIV tables


def test_tiv_cell_markers(imports):
    header, data = tiv_csv(IMPORTS_FILE)
    years = [c for c in header if c.isdigit()]
    cells = [(r[0], int(y), r[header.index(y)]) for r in data for y in years]
    below_half = {(n, y) for n, y, c in cells if c == "0 "}
    assert len(below_half) == 56
    got = imports.filter(pl.col("cell_status") == "below_half_mn")
    assert set(zip(got["country_name"], got["year"])) == below_half
    assert got["tiv_mn"].unique().to_list() == [0.0]
    # 2024 is blank in every row, the world total included: not compiled, unlike a blank in a covered year.
    assert all(c == "" for n, y, c in cells if y == 2024)
    assert imports.filter(pl.col("year") == 2024)["cell_status"].unique().to_list() == ["not_compiled"]
    blanks = {(n, y) for n, y, c in cells if c == "" and y != 2024}
    got = imports.filter(pl.col("cell_status") == "no_deliveries")
    assert set(zip(got["country_name"], got["year"])) == blanks
    assert got["tiv_mn"].null_count() == got.height


def test_tiv_percentages_totals_and_footer(imports, exports):
    us = imports.filter((pl.col("iso3") == "USA") & (pl.col("year") == 1950)).row(0, named=True)
    assert (us["range_total_tiv_mn"], us["range_share_pct"], us["share_of_total_pct"]) == (49597.0, 2.4, 2.4)
    for frame, label in ((imports, "Total world import"), (exports, "Total world export")):
        total = frame.filter(pl.col("country_name") == label)
        assert total["entity_kind"].unique().to_list() == ["aggregate"] and total["iso3"].null_count() == total.height
        assert total["range_share_pct"][0] == 100.0 and total["share_of_total_pct"][0] is None


def test_each_table_rejects_the_other_layout():
    with pytest.raises(ContractViolation, match=r"(?s)\[sipri_arms_transfers\].*'Exports by'"):
        sipri.parse_tiv_imports(EXPORTS_FILE)


# ---------------------------------------------------------------- names: every one is a country or declared


NON_COUNTRY_NAMES = {
    "Anti-Castro rebels (Cuba)*": "non_state",
    "Armas (Guatemala)*": "non_state",
    "Contras (Nicaragua)*": "non_state",
    "FMLN (El Salvador)*": "non_state",
    "Haiti rebels*": "non_state",
    "Mujahedin (Afghanistan)*": "non_state",
    "Regional Security System**": "organisation",
    "Total world import": "aggregate",
    "Total world export": "aggregate",
    "unknown recipient(s)": "aggregate",
    "unknown supplier(s)": "aggregate",
}


def test_every_sipri_name_maps_or_is_declared(register, imports, exports):
    _, reg = register_csv()
    names = {r[0].strip() for r in reg} | {r[1].strip() for r in reg}
    names |= {r[0] for r in tiv_csv(IMPORTS_FILE)[1]} | {r[0] for r in tiv_csv(EXPORTS_FILE)[1]}
    resolved = pl.concat(
        [
            register.select(name="recipient_name", iso3="recipient_iso3", kind="recipient_entity_kind"),
            register.select(name="supplier_name", iso3="supplier_iso3", kind="supplier_entity_kind"),
            imports.select(name="country_name", iso3="iso3", kind="entity_kind"),
            exports.select(name="country_name", iso3="iso3", kind="entity_kind"),
        ]
    ).unique()
    assert resolved["name"].n_unique() == resolved.height  # one reading per name
    assert set(resolved["name"]) == names and len(names) == 122
    mapping = {r["name"]: (r["iso3"], r["kind"]) for r in resolved.iter_rows(named=True)}
    declared = {n: k for n, (iso3, k) in mapping.items() if k != "country"}
    assert declared == NON_COUNTRY_NAMES
    assert all(mapping[n][0] is None for n in declared)
    assert all(len(iso3) == 3 for iso3, kind in mapping.values() if kind == "country")
    spot = {
        "Saint Vincent": "VCT",
        "Soviet Union": "SUN",
        "Czechoslovakia": "CSK",
        "Yugoslavia": "YUG",
        "South Vietnam": "VNM",
        "UAE": "ARE",
        "Russia": "RUS",
        "Turkiye": "TUR",
        "Congo": "COG",
        "South Korea": "KOR",
        "United States": "USA",
        "Bolivia": "BOL",
        "Venezuela": "VEN",
    }
    assert {n: mapping[n][0] for n in spot} == spot


def test_non_state_host_country(register):
    hosts = dict(
        register.filter(pl.col("recipient_entity_kind").is_in(["non_state", "organisation"]))
        .select("recipient_name", "recipient_host_iso3")
        .unique()
        .iter_rows()
    )
    assert hosts == {
        "Anti-Castro rebels (Cuba)*": "CUB",
        "Armas (Guatemala)*": "GTM",
        "Contras (Nicaragua)*": "NIC",
        "FMLN (El Salvador)*": "SLV",
        "Haiti rebels*": "HTI",
        "Regional Security System**": None,
    }


def test_unknown_country_name_raises(tmp_path):
    raw = REGISTER_FILE.read_bytes()
    path = tmp_path / "register_unknown_name.csv"
    path.write_bytes(raw.replace(b"\nParaguay,", b"\nParaguai,", 1))
    with pytest.raises(UnmappedCountryError, match="Paraguai"):
        sipri.parse_register(path)


# ---------------------------------------------------------------- contract rejects real-looking corruption


def _data_line_number(path: Path, header_prefix: bytes, line_prefix: bytes) -> tuple[list[bytes], int, int]:
    """(lines, index of the first line starting with line_prefix, its 1-based data-row number)."""
    lines = path.read_bytes().split(b"\n")
    header_at = next(i for i, line in enumerate(lines) if line.startswith(header_prefix))
    index = next(i for i, line in enumerate(lines) if i > header_at and line.startswith(line_prefix))
    return lines, index, index - header_at


def test_contract_rejects_mistyped_delivery_year(tmp_path):
    lines, index, row = _data_line_number(REGISTER_FILE, b"Recipient,Supplier", b"Paraguay,")
    cells = lines[index].split(b",")
    assert cells[10] == b"1982"
    cells[10] = b"198Z"  # a typo that keeps the cell's shape
    lines[index] = b",".join(cells)
    path = tmp_path / "register_bad_year.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ContractViolation) as err:
        sipri.parse_register(path)
    message = str(err.value)
    assert "[sipri_arms_transfers]" in message and path.name in message
    assert "column 'delivery_years'" in message and "'198Z'" in message and f"row(s) {row}" in message


def test_contract_rejects_misspelt_status(tmp_path):
    lines, index, row = _data_line_number(REGISTER_FILE, b"Recipient,Supplier", b"Colombia,United States,")
    cells = lines[index].split(b",")
    cells[11] = b"Second-hand"
    lines[index] = b",".join(cells)
    path = tmp_path / "register_bad_status.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(
        ContractViolation, match=rf"(?s)\[sipri_arms_transfers\].*column 'status'.*'Second-hand' at row\(s\) {row}\b"
    ):
        sipri.parse_register(path)


def test_contract_rejects_corrupted_tiv_cell(tmp_path):
    lines, index, row = _data_line_number(IMPORTS_FILE, b"Recipient,1950", b"Paraguay,")
    cells = lines[index].split(b",")
    year_at = lines[index - row].split(b",").index(b"1985")
    assert cells[year_at] == b"35"
    cells[year_at] = b"3S"
    lines[index] = b",".join(cells)
    path = tmp_path / "imports_bad_cell.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(
        ContractViolation, match=rf"(?s)\[sipri_arms_transfers\] {path.name}.*column 'tiv_mn'.*'3S' at row\(s\) {row}\b"
    ):
        sipri.parse_tiv_imports(path)


def test_contract_rejects_cells_that_do_not_add_up(tmp_path):
    """A well-formed but wrong number (35 -> 350, an extra digit) is caught by the row-total check, with its row."""
    lines, index, row = _data_line_number(IMPORTS_FILE, b"Recipient,1950", b"Paraguay,")
    cells = lines[index].split(b",")
    year_at = lines[index - row].split(b",").index(b"1985")
    cells[year_at] = b"350"
    lines[index] = b",".join(cells)
    path = tmp_path / "imports_wrong_cell.csv"
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(ContractViolation, match=rf"(?s)add up to the row's range total.*at row\(s\) {row}\b"):
        sipri.parse_tiv_imports(path)


# ---------------------------------------------------------------- marts: reconciliation over all rows


def test_raw_tables_hold_every_data_row(marts):
    _, register_rows = register_csv()
    assert marts.execute("select count(*) from raw.sipri_arms_register").fetchone()[0] == len(register_rows)
    for table, path in (("sipri_tiv_imports", IMPORTS_FILE), ("sipri_tiv_exports", EXPORTS_FILE)):
        header, data = tiv_csv(path)
        n_years = sum(1 for c in header if c.isdigit())
        count, rows = marts.execute(f"select count(*), count(distinct source_row) from raw.{table}").fetchone()
        assert (count, rows) == (len(data) * n_years, len(data)), table


def test_tiv_total_equals_import_table_cell(marts):
    header, data = tiv_csv(IMPORTS_FILE)
    years = [c for c in header if c.isdigit()]
    total_row = next(r for r in data if r[0] == "Total world import")
    compiled = {y for y in years if total_row[header.index(y)].strip()}
    name_to_iso3 = dict(
        marts.execute(
            "select distinct source_country_name, iso3 from staging.stg_sipri_tiv_imports "
            "where entity_kind = 'country' and in_universe"
        ).fetchall()
    )
    expected = {}
    for r in data:
        if r[0] not in name_to_iso3:
            continue
        for y in years:
            cell = r[header.index(y)]
            # Documented rule: blank in a compiled year = no deliveries = 0; a not-compiled year is NULL.
            expected[(name_to_iso3[r[0]], int(y))] = (float(cell) if cell.strip() else 0.0) if y in compiled else None
    got = {
        (iso3, year): total
        for iso3, year, total in marts.execute(
            "select iso3, year, tiv_total_mn from marts.fct_arms_imports_country_year "
            "where tiv_total_status <> 'not_covered'"
        ).fetchall()
    }
    assert len(expected) == 32 * 75  # the USA and 31 LAC countries
    assert got == expected


def test_us_share_definition(marts):
    rows = marts.execute(
        "select iso3, tiv_total_mn, tiv_from_us_mn, us_share from marts.fct_arms_imports_country_year"
    ).fetchall()
    for iso3, total, from_us, share in rows:
        if total is None or total == 0 or from_us is None:
            assert share is None, (iso3, total, from_us, share)
        else:
            assert share == pytest.approx(from_us / total)
    assert any(share is not None for *_, share in rows)


def test_focus_countries_have_import_rows(marts):
    got = dict(
        marts.execute(
            "select iso3, count(*) filter (where tiv_total_mn > 0) from marts.fct_arms_imports_country_year group by 1"
        ).fetchall()
    )
    for iso3 in FOCUS:
        assert got.get(iso3, 0) > 0, iso3


def test_tiv_delivered_per_deal_equals_register(marts):
    _, data = register_csv()
    rows = marts.execute(
        "select deal_id, recipient_name, supplier_name, tiv_delivered_mn, tiv_order_mn, delivery_years, "
        "order_year_uncertain from marts.fct_arms_transfers"
    ).fetchall()
    assert len(rows) > 4000
    for deal_id, recipient, supplier, delivered, order, years, uncertain in rows:
        source = data[deal_id - 1]
        assert (recipient, supplier) == (source[0], source[1]), deal_id
        assert delivered == _num(source[15]), deal_id
        assert order == _num(source[14]), deal_id
        assert years == ([int(y) for y in source[10].split("; ")] if source[10] else []), deal_id
        assert uncertain == (source[3] == "?"), deal_id


def test_arms_transfers_filter(marts, register):
    kept = {r[0] for r in marts.execute("select deal_id from marts.fct_arms_transfers").fetchall()}
    expected = set(
        register.filter(
            (pl.col("recipient_entity_kind") == "country") & pl.col("recipient_in_universe")
            | pl.col("recipient_entity_kind").is_in(["non_state", "organisation"])
        )["source_row"]
    )
    assert kept == expected
    names = {r[0] for r in marts.execute("select distinct recipient_name from marts.fct_arms_transfers").fetchall()}
    assert "Angola" not in names and "unknown recipient(s)" not in names
    assert {"Contras (Nicaragua)*", "Regional Security System**", "United States", "Paraguay"} <= names
    non_state = marts.execute(
        "select count(*) from marts.fct_arms_transfers where recipient_entity_kind <> 'country' and recipient_iso3 is "
        "not null"
    ).fetchone()[0]
    assert non_state == 0


def test_allocated_delivered_tiv_adds_up_per_deal(marts):
    """Every register deal: the equal shares over its delivery years add back to its delivered TIV."""
    _, data = register_csv()
    allocated = {
        deal_id: (total, years)
        for deal_id, total, years in marts.execute(
            "select deal_id, sum(tiv_delivered_allocated_mn), list(delivery_year order by delivery_year) "
            "from staging.stg_sipri_arms_deliveries_by_year group by deal_id"
        ).fetchall()
    }
    for deal_id, source in enumerate(data, start=1):
        delivered = _num(source[15])
        if not source[10]:
            assert deal_id not in allocated and delivered == 0, deal_id
            continue
        total, years = allocated[deal_id]
        assert years == [int(y) for y in source[10].split("; ")], deal_id
        assert math.isclose(total, delivered, abs_tol=1e-9), (deal_id, total, delivered)


def test_tiv_from_us_adds_up_to_register(marts):
    _, data = register_csv()
    universe = {r[0] for r in marts.execute("select iso3 from marts.dim_country").fetchall()}
    name_to_iso3 = dict(
        marts.execute("select distinct recipient_name, recipient_iso3 from staging.stg_sipri_arms_register").fetchall()
    )
    expected = sum(
        _num(r[15])
        for r in data
        if r[1] == "United States" and name_to_iso3[r[0]] in universe and name_to_iso3[r[0]] != "USA"
    )
    got = marts.execute("select sum(tiv_from_us_mn) from marts.fct_arms_imports_country_year").fetchone()[0]
    assert got == pytest.approx(expected) and expected > 10_000
