"""The partnership marts on the real bundled data: panel shape, coverage rules, score bounds, queries, docs."""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import PROJECT_ROOT

QUERIES = sorted((PROJECT_ROOT / "examples" / "queries").glob("*.sql"))
PARTNERSHIP_MARTS = [
    "partnership_panel",
    "partnership_index",
    "agreement_event_windows",
    "peer_comparison",
    "partnership_index_sensitivity",
    "agreement_event_windows_monthly",
    "partnership_country_summary",
]


def test_panel_has_one_row_per_lac_country_per_year(marts):
    lac = marts.execute("select count(*) from marts.dim_country where is_lac").fetchone()[0]
    # the latest year any source covers, asked of the source marts themselves
    last = marts.execute(
        """select max(y) from (
            select max(fiscal_year) y from marts.fct_us_aid_country_year union all
            select max(year) from marts.fct_us_trade_country_year union all
            select max(year) from marts.fct_us_troops_country_year union all
            select max(year) from marts.fct_exercises_country_year union all
            select max(year) from marts.fct_country_indicators union all
            select max(year(date_signed)) from marts.fct_security_agreements)"""
    ).fetchone()[0]
    rows, distinct = marts.execute(
        "select count(*), count(distinct (iso3, year)) from marts.partnership_panel"
    ).fetchone()
    assert rows == distinct == lac * (last - 1990 + 1)
    assert marts.execute("select min(year), max(year) from marts.partnership_panel").fetchone() == (1990, last)


def test_unknown_is_never_zero(marts):
    # MME coverage ends in 2010: later exercise counts are unknown, not 0
    assert (
        marts.execute(
            "select count(*) from marts.partnership_panel where year > 2010 and (exercises_total is not null or "
            "exercises_with_us is not null)"
        ).fetchone()[0]
        == 0
    )
    assert (
        marts.execute(
            "select count(*) from marts.partnership_panel where year <= 2010 and year >= 1990 and exercises_total is "
            "null"
        ).fetchone()[0]
        == 0
    )
    # DOTS starts in 1995: earlier trade is unknown, not 0
    assert (
        marts.execute(
            "select count(*) from marts.partnership_panel where year < 1995 and (us_total_trade_usd is not null or "
            "us_exports_usd is not null or us_trade_is_observed)"
        ).fetchone()[0]
        == 0
    )
    # aid after FA.gov's last fiscal year is unknown, not 0
    last_fy = marts.execute("select max(fiscal_year) from marts.fct_us_aid_country_year").fetchone()[0]
    assert (
        marts.execute(
            f"select count(*) from marts.partnership_panel where year > {last_fy} and us_aid_obligations_constant_usd "
            "is not null"
        ).fetchone()[0]
        == 0
    )


def test_panel_values_equal_their_source_marts(marts):
    mismatches = marts.execute(
        """select count(*) from marts.partnership_panel p
           join marts.fct_us_trade_country_year t using (iso3, year)
           where p.us_exports_usd is distinct from t.us_exports_usd
              or p.us_total_trade_usd is distinct from t.total_trade_usd"""
    ).fetchone()[0]
    assert mismatches == 0
    aid = marts.execute(
        """select count(*) from marts.partnership_panel p
           join marts.fct_us_aid_country_year a on a.iso3 = p.iso3 and a.fiscal_year = p.year
           where a.aid_category = 'Total' and a.transaction_type = 'Obligations' and a.fiscal_period = 'FY'
             and a.source = 'us_foreign_aid' and p.us_aid_obligations_constant_usd <> a.amount_constant_usd"""
    ).fetchone()[0]
    assert aid == 0
    pry_2019 = marts.execute(
        "select us_aid_obligations_current_usd from marts.partnership_panel where iso3='PRY' and year=2019"
    ).fetchone()[0]
    assert pry_2019 == 39271508


def test_scores_are_bounded_and_typed(marts):
    out_of_bounds = marts.execute(
        """select count(*) from marts.partnership_index
           where economic_score not between 0 and 100 or security_score not between 0 and 100
              or partnership_score not between 0 and 100"""
    ).fetchone()[0]
    assert out_of_bounds == 0
    assert (
        marts.execute(
            "select count(*) from marts.partnership_index where economic_score is not null and security_score is not "
            "null and (model_type is null or model_type = 'insufficient_data')"
        ).fetchone()[0]
        == 0
    )
    types = {r[0] for r in marts.execute("select distinct model_type from marts.partnership_index").fetchall()}
    assert types <= {"security_plus_economics", "security_led", "economics_led", "limited", "insufficient_data"}
    assert {"security_plus_economics", "economics_led", "limited"} <= types
    # too few components in the scored set never produce a score
    assert (
        marts.execute(
            "select count(*) from marts.partnership_index where (economic_components_scored < 2 and economic_score is "
            "not null) or (security_components_scored < 2 and security_score is not null)"
        ).fetchone()[0]
        == 0
    )


def test_focus_countries_have_scores(marts):
    scored = {
        r[0]
        for r in marts.execute(
            "select distinct iso3 from marts.partnership_index where partnership_score is not null"
        ).fetchall()
    }
    assert {"PRY", "COL", "BRA", "ARG", "BOL", "HND", "GTM", "SLV"} <= scored


def test_paraguay_sofa_window_shows_where_data_ends(marts):
    rows = marts.execute(
        "select rel_year, year, coverage_status from marts.agreement_event_windows where iso3='PRY' and "
        "agreement_type='SOFA' order by rel_year"
    ).fetchall()
    assert [r[0] for r in rows] == list(range(-5, 6))
    assert rows[0][1] == 2020 and rows[0][2] == "scored"
    assert all(status == "not_yet_covered" for rel, _, status in rows if rel >= 2)
    windows = marts.execute(
        "select count(*), count(distinct agreement_id) from marts.agreement_event_windows"
    ).fetchone()
    dated = marts.execute(
        "select count(*) from marts.fct_security_agreements where iso3 is not null and date_signed is not null"
    ).fetchone()[0]
    assert windows == (11 * dated, dated)


def test_peer_medians_exclude_the_country_itself(marts):
    # Paraguay's neighbours median for a metric equals the median of ARG, BRA, BOL values computed here
    row = marts.execute(
        """select year, peer_median from marts.peer_comparison
           where iso3='PRY' and peer_group='paraguay_neighbours' and metric='us_total_trade_usd' and year=2010"""
    ).fetchone()
    values = [
        r[0]
        for r in marts.execute(
            "select us_total_trade_usd from marts.partnership_panel where iso3 in ('ARG','BRA','BOL') and year=2010 "
            "order by 1"
        ).fetchall()
    ]
    assert row[1] == pytest.approx(values[1])


@pytest.mark.parametrize("path", QUERIES, ids=[p.stem for p in QUERIES])
def test_example_query_runs_and_answers_for_its_countries(marts, path):
    sql = path.read_text()
    assert sql.startswith("-- Question:"), "each example starts with its question"
    relation = marts.execute(sql)
    columns = [d[0] for d in relation.description]
    rows = relation.fetchall()
    assert rows, f"{path.name} returned no rows"
    named = set(re.findall(r"'([A-Z]{3})'", sql))
    if "iso3" in columns:
        returned = {r[columns.index("iso3")] for r in rows}
        assert named <= returned, f"{path.name}: no rows for {named - returned}"


def test_six_example_queries():
    assert len(QUERIES) == 6


@pytest.mark.parametrize(
    "section, table", [("### Panel columns", "partnership_panel"), ("### Index columns", "partnership_index")]
)
def test_methodology_lists_every_column(marts, section, table):
    doc = (PROJECT_ROOT / "docs" / "methodology.md").read_text()
    part = doc.split(section, 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z0-9_]+)` \|", part, flags=re.M)
    columns = [
        r[0]
        for r in marts.execute(
            "select column_name from information_schema.columns where table_schema='marts' and table_name=? order by "
            "ordinal_position",
            [table],
        ).fetchall()
    ]
    assert documented == columns


def test_contracts_are_enforced_on_the_partnership_marts():
    manifest = json.loads((PROJECT_ROOT / "models" / "target" / "manifest.json").read_text())
    nodes = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    for name in PARTNERSHIP_MARTS:
        assert nodes[name]["config"]["contract"]["enforced"], name
        assert all(c.get("data_type") for c in nodes[name]["columns"].values()), name
    unit_tests = [n for n in manifest.get("unit_tests", {}).values() if n["model"] == "partnership_index"]
    assert len(unit_tests) >= 4
