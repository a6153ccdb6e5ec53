"""Issue 7, bad input (cases 1-14): real-looking corruptions of the bundled files, each through `hpw build --file`.

Every failing case asserts the three promises: a clear error (source, file, row/line, column, the offending value,
what was expected), the published warehouse byte-identical, and the bad file kept byte for byte under
`<warehouse>/.rejected/<source>/` with its sha256 and the error. Test ids start with the case number of the issue.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pipelines.sources import RAW_TABLES
from tests.conftest import reused_folder
from tests.faults import corrupt as c
from tests.faults.conftest import publish_copy

pytestmark = pytest.mark.e2e
TABLES = {t.name: t for t in RAW_TABLES}


def _wdi_homicide(tmp: Path, value: str) -> Path:
    folder = c.wdi_folder(tmp)
    return c.edit_row(folder / c.WDI_HOMICIDE, folder, "Paraguay", "2019", value, header_first="Country Name")


# (case id, raw table, make the bad file under tmp, fragments the error must contain)
FAILING = [
    (
        "01_empty_file",
        "imf_dots_us_trade",
        lambda t: c.write(t, "dots_us.csv", b""),
        ["[imf_dots_us_trade] dots_us.csv", "is empty (0 bytes)", "expected a header and data rows"],
    ),
    (
        "01_header_only_file",
        "us_foreign_aid_summary",
        lambda t: c.header_only(c.FA_SUMMARY, t),
        ["[us_foreign_aid] us_foreign_aid_country.csv", "(data rows)", "at least one data row", "no data rows"],
    ),
    (
        "02_truncated_mid_row",
        "imf_dots_us_trade",
        lambda t: c.truncated(c.DOTS, t, keep_lines=200, cut_at=30),
        ["[imf_dots_us_trade] dots_us.csv", "looks truncated", "line 201", "cut mid-row", '"Dominic'],
    ),
    (
        "02_truncated_mid_row_unquoted",
        "us_foreign_aid_summary",
        lambda t: c.truncated(c.FA_SUMMARY, t, keep_lines=200, cut_at=30),
        ["[us_foreign_aid] us_foreign_aid_country.csv", "row(s) 200", "not_nullable", "looks truncated", "line 201"],
    ),
    (
        "03_html_error_page_for_csv",
        "us_troops_dmdc",
        lambda t: c.write(t, c.TROOPS.name, c.HTML_ERROR_PAGE),
        [f"[us_troops_dmdc] {c.TROOPS.name}", "HTML page", "503 Service Temporarily Unavailable", "not CSV data"],
    ),
    (
        "03_json_error_body_for_csv",
        "us_bases",
        lambda t: c.write(t, c.BASES.name, c.JSON_ERROR_BODY),
        [f"[us_bases] {c.BASES.name}", "JSON body", "Internal Server Error", "not CSV data"],
    ),
    (
        "03_html_error_page_for_xlsx",
        "sipri_milex",
        lambda t: c.write(t, c.MILEX.name, c.HTML_ERROR_PAGE),
        ["[sipri_milex] SIPRI-Milex-data-1948-2023.xlsx", "HTML page", "not an xlsx workbook"],
    ),
    (
        "04_latin1_file_where_utf8_declared",
        "imf_dots_us_trade",
        lambda t: c.reencoded(c.DOTS, t, "utf-8-sig", "latin-1"),
        ["[imf_dots_us_trade] dots_us.csv", "not valid UTF-8", "line 928", r"b'\xe7ao", "expected UTF-8"],
    ),
    (
        "05_required_column_renamed",
        "imf_dots_us_trade",
        lambda t: c.rename_header(c.DOTS, t, "Time Period", "Year"),
        ["[imf_dots_us_trade] dots_us.csv", "column 'year'", "removed or renamed", "missing ['year']", "new ['Year']"],
    ),
    (
        "05_required_column_missing",
        "us_foreign_aid_summary",
        lambda t: c.rename_header(c.FA_SUMMARY, t, "constant_amount", None),
        [
            "[us_foreign_aid] us_foreign_aid_country.csv",
            "column 'constant_amount_usd'",
            "missing ['constant_amount_usd']",
            "expected [",
        ],
    ),
    (
        "07_numbers_become_text",
        "us_foreign_aid_summary",
        lambda t: c.set_cell(c.FA_SUMMARY, t, 17, "current_amount", "1.2 million"),
        [
            "[us_foreign_aid] us_foreign_aid_country.csv",
            "column 'current_amount_usd'",
            "type Int64",
            "'1.2 million'",
            "row(s) 17",
        ],
    ),
    (
        "07_column_type_changed_every_value",
        "imf_dots_us_trade",
        lambda t: c.map_column(c.DOTS, t, c.DOTS_EXPORTS, lambda v: f"{int(v):,}"),  # Excel's thousands format
        [
            "[imf_dots_us_trade] dots_us.csv",
            "column 'exports_fob_usd'",
            "schema drift: type changed",
            "'126,024,200,000'",
            "row(s) 1, 2, 3",
        ],
    ),
    (
        "08_duplicate_key_rows",
        "imf_dots_us_trade",
        lambda t: c.duplicate_row(c.DOTS, t, 100),
        ["[imf_dots_us_trade] dots_us.csv", "multiple_fields_uniqueness", "partner_imf_code", "row(s) 100, 101"],
    ),
    # 234: an unused code of the IMF's Western Hemisphere block, so the unknown entity may be in the universe
    (
        "09_unknown_country_name",
        "imf_dots_us_trade",
        lambda t: c.set_cell(
            c.set_cell(c.DOTS, t / "a", 30, "Counterpart Country Name", "Republic of Atlantis"),
            t,
            30,
            "Counterpart Country Code",
            "234",
        ),
        [
            "[imf_dots_us_trade] dots_us.csv",
            "not in the crosswalk",
            "Republic of Atlantis",
            "line(s) 31",
            "country_aliases.csv",
        ],
    ),
    (
        "09_unknown_country_code",
        "us_foreign_aid_summary",
        lambda t: c.set_cell(
            c.set_cell(c.FA_SUMMARY, t / "a", 30, "Country Code", "XQZ"), t, 30, "Country Name", "Atlantis"
        ),
        ["[us_foreign_aid] us_foreign_aid_country.csv", "not in the crosswalk", "XQZ", "line(s) 31"],
    ),
    (
        "10_aid_of_10e15_usd",
        "us_foreign_aid_summary",
        lambda t: c.set_cell(c.FA_SUMMARY, t, 30, "current_amount", "1000000000000000"),
        [
            "[us_foreign_aid] us_foreign_aid_country.csv",
            "column 'current_amount_usd'",
            "in_range",
            "1000000000000000",
            "row(s) 30",
        ],
    ),
    (
        "10_tiv_below_zero",
        "sipri_tiv_imports",
        lambda t: c.edit_row(
            c.SIPRI_IMPORTS, t, "Paraguay", "1951", "-5", encoding="latin-1", header_first="Recipient"
        ),
        ["[sipri_arms_transfers] import-values_1950-2024_lac_us.csv", "tiv", "-5", "row(s)"],
    ),
    (
        "10_homicide_rate_above_1000",
        "worldbank_wdi_csv",
        lambda t: _wdi_homicide(t, "1520.3"),
        ["[worldbank_wdi]", c.WDI_HOMICIDE, "1520.3", "row(s)"],
    ),
    (
        "11_year_1800",
        "imf_dots_us_trade",
        lambda t: c.set_cell(c.DOTS, t, 12, "Time Period", "1800"),
        ["[imf_dots_us_trade] dots_us.csv", "column 'year'", "greater_than_or_equal_to(1948)", "'1800'", "row(s) 12"],
    ),
    (
        "11_year_2999",
        "us_foreign_aid_summary",
        lambda t: c.set_cell(c.FA_SUMMARY, t, 12, "Fiscal Year", "2999"),
        [
            "[us_foreign_aid] us_foreign_aid_country.csv",
            "column 'fiscal_year'",
            "less_than_or_equal_to",
            "'2999'",
            "row(s) 12",
        ],
    ),
    (
        "11_unparsable_date",
        "security_agreements",
        lambda t: c.set_cell(c.AGREEMENTS, t, 1, "date_signed", "15/12/2025"),
        [
            "[security_agreements] security_agreements.csv",
            "column 'date_signed_text'",
            "'15/12/2025'",
            "row(s) 1",
            "YYYY-MM-DD",
        ],
    ),
    (
        "12_corrupted_xlsx_bad_zip",
        "sipri_milex",
        lambda t: c.bad_zip(c.MILEX, t),
        [
            "[sipri_milex] SIPRI-Milex-data-1948-2023.xlsx",
            "not a valid xlsx workbook",
            "zip archive is damaged or incomplete",
        ],
    ),
    (
        "12_xlsx_missing_sheet",
        "sipri_milex",
        lambda t: c.xlsx_without_sheet(c.MILEX, t, "Share of GDP", "Share of GDP (new)"),
        [
            "[sipri_milex] SIPRI-Milex-data-1948-2023.xlsx",
            "required sheet present",
            "missing sheet 'Share of GDP'",
            "Share of GDP (new)",
        ],
    ),
    (
        "13_preamble_too_long_for_header_search",
        "sipri_tiv_imports",
        lambda t: c.longer_preamble(
            c.SIPRI_IMPORTS, t, [f"Note {i}: figures revised" for i in range(60)], encoding="latin-1"
        ),
        ["[sipri_arms_transfers] import-values_1950-2024_lac_us.csv", "(header line)", "found within the first"],
    ),
]


def _rounds(cases) -> list[list[tuple]]:
    """Pack the cases into builds: one corrupted file per raw table per build (each raw asset fails on its own)."""
    rounds: list[list[tuple]] = []
    for case in cases:
        free = next((r for r in rounds if case[1] not in {other[1] for other in r}), None)
        free.append(case) if free is not None else rounds.append([case])
    return rounds


ROUNDS = _rounds(FAILING)
ROUND_OF = {case[0]: n for n, cases in enumerate(ROUNDS) for case in cases}


@pytest.fixture(scope="module")
def builds(built_warehouse, tmp_path_factory):
    """Run each round's build once, lazily: `run_build` with every corrupted file of the round given by --file, a
    refresh of those raw tables on a whole copy of the session build (what a user's `hpw build --file` runs).

    All rounds share one published copy, which each round must leave byte-identical for the next."""
    published = publish_copy(built_warehouse, reused_folder(tmp_path_factory, "bad_input"), whole=True)
    done: dict[int, dict] = {}

    def run(case_id: str) -> dict:
        n = ROUND_OF[case_id]
        if n not in done:
            bad = {}
            for cid, _table, make, _ in ROUNDS[n]:
                folder = tmp_path_factory.mktemp(f"case{cid}")
                path = make(folder)
                bad[cid] = (path, hashlib.sha256(path.read_bytes()).hexdigest())
            result = published.build(**{case[1]: str(bad[case[0]][0]) for case in ROUNDS[n]})
            done[n] = {"result": result, "bad": bad, "unchanged": published.unchanged(), "root": published.root}
        return done[n]

    return run


# one xdist group per round: a round's cases share its build, different rounds may run on different workers
@pytest.mark.parametrize(
    "table, make, fragments",
    [
        pytest.param(*case[1:], id=case[0], marks=pytest.mark.xdist_group(f"bad_input_round_{ROUND_OF[case[0]]}"))
        for case in FAILING
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(builds, request, table, make, fragments):
    case_id = request.node.callspec.id
    run = builds(case_id)
    result, (bad, bad_sha), root = run["result"], run["bad"][case_id], run["root"]

    assert not result.success
    error = result.failures.get(table, "")
    missing = [f for f in fragments if f not in error]
    assert not missing, f"error of {table} lacks {missing}:\n{error}"
    assert run["unchanged"], "the published warehouse changed"
    assert not (root / ".build" / "partnership.duckdb").exists()
    # whatever broke the file, Dagster shows it as a failed `contract` check on that raw asset
    assert {a.asset: a.checks_failed for a in result.assets}.get(f"raw/{table}") == 1
    # the bad file is kept, byte for byte, with its sha256 and the error beside it
    kept = [
        p for p in result.rejected_files if p.name.endswith("_" + bad.name) and p.parent.name == TABLES[table].source
    ]
    assert kept, result.rejected_files
    assert kept[0].parent == root / ".rejected" / TABLES[table].source
    assert hashlib.sha256(kept[0].read_bytes()).hexdigest() == bad_sha
    note = kept[0].with_name(kept[0].name + ".error.txt").read_text(encoding="utf-8")
    assert f"sha256: {bad_sha}" in note and fragments[0] in note
