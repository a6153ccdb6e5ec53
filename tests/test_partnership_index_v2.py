"""Index version 2 rules on the real bundled data: coverage stability, partial periods, agreements in force,
size-fair ratios, the sensitivity table and the monthly event window."""

from __future__ import annotations

import csv
import datetime as dt

from tests.conftest import PROJECT_ROOT

TERMS = PROJECT_ROOT / "data" / "reference" / "security_agreement_terms.csv"


def test_removing_a_component_at_its_coverage_edges_flips_no_label(marts):
    rows = marts.execute(
        """select scenario, dropped_component, dropped_year, country_years_compared, labels_changed, changes,
                  component_sets_changed, labels_lost, scores_changed
           from marts.partnership_index_sensitivity where scenario_kind = 'coverage'"""
    ).fetchall()
    # every scored component has its last covered year tested, and the components that enter coverage inside the
    # panel (trade 1995, training 1999) their first
    components = {
        r[0] for r in marts.execute("select distinct component from intermediate.int_partnership_components").fetchall()
    }
    assert {r[1] for r in rows if r[0].startswith("coverage_last_")} == components
    assert {r[1] for r in rows if r[0].startswith("coverage_first_")} >= {"us_trade_pct_gdp", "us_trainees_per_100k"}
    # the edge is a year that is typed: never the partial year 2026, where removing a value would test nothing
    partial_years = {
        r[0]
        for r in marts.execute("select distinct year from marts.partnership_panel where is_partial_period").fetchall()
    }
    statuses = {"fta_in_force", "agreement_intensity"}
    for scenario, component, year, compared, changed, changes, sets, lost, scores in rows:
        assert year not in partial_years, scenario
        assert compared > 900
        # the removal is real: every component that varies from year to year moves scores when its edge year goes
        # (statuses such as an FTA in force hold the same value in the neighbouring year that stands in for it)
        assert component in statuses or scores > 10, f"{scenario}: nothing rested on the removed value"
        assert sets == 0, f"{scenario}: a component set changed"
        assert lost == 0, f"{scenario}: a score was lost"
        assert changed == 0, f"{scenario} ({year}): {changes}"


def test_sensitivity_table_has_every_kind_of_choice(marts):
    kinds = dict(
        marts.execute("select scenario_kind, count(*) from marts.partnership_index_sensitivity group by 1").fetchall()
    )
    assert kinds["headline"] == 1 and kinds["threshold"] >= 6 and kinds["weights"] >= 8 and kinds["coverage"] >= 10
    head = marts.execute(
        "select labels_changed, share_changed from marts.partnership_index_sensitivity where scenario = 'headline'"
    ).fetchone()
    assert head == (0, 0.0)
    # a stricter or looser threshold does move types: the table is not trivially zero
    assert (
        marts.execute(
            "select min(share_changed) from marts.partnership_index_sensitivity "
            "where scenario like 'intensity_threshold_%'"
        ).fetchone()[0]
        > 0
    )


def test_partial_periods_are_flagged_and_never_typed(marts):
    # 2026 trade is January-August; FY2024 aid is the summary's partial last year
    trade = marts.execute(
        "select min(us_trade_months_covered), bool_and(us_trade_is_partial_period) from marts.partnership_panel "
        "where year = 2026 and us_trade_is_observed"
    ).fetchone()
    assert trade[0] < 12 and trade[1]
    assert marts.execute(
        "select bool_and(us_aid_is_partial_period) and bool_and(is_partial_period) from marts.partnership_panel "
        "where year = 2024"
    ).fetchone()[0]
    assert (
        marts.execute(
            "select count(*) from marts.partnership_panel where year < 2024 and us_aid_is_partial_period"
        ).fetchone()[0]
        == 0
    )
    untyped = marts.execute(
        "select count(*), count(*) filter (where model_type = 'insufficient_data' and economic_score is null "
        "and security_score is null) from marts.partnership_index where is_partial_period"
    ).fetchone()
    assert untyped[0] > 0 and untyped[0] == untyped[1]
    # never compared as a full year
    assert (
        marts.execute(
            "select count(*) from marts.peer_comparison where is_partial_period and difference_from_median is not null"
        ).fetchone()[0]
        == 0
    )
    assert (
        marts.execute(
            "select count(*) from marts.agreement_event_windows w join marts.partnership_panel p using (iso3, year) "
            "where p.is_partial_period and w.coverage_status in ('scored', 'partial')"
        ).fetchone()[0]
        == 0
    )


def test_agreements_count_only_while_in_force(marts):
    with TERMS.open(newline="", encoding="utf-8") as handle:
        terms = list(csv.DictReader(handle))
    ids = {r[0] for r in marts.execute("select agreement_id from marts.fct_security_agreements").fetchall()}
    assert {t["agreement_id"] for t in terms} <= ids, "every reference line names a curated agreement"
    assert all(t["evidence"] and t["source_url"].startswith("http") for t in terms)
    # Paraguay's 1943 mission: four-year term; the 2005 immunity mission: 2005-06 to 2006-12; Ecuador's Manta FOL
    # handed back in 2009; Colombia's DCA suspended by the Constitutional Court in 2010
    pry = dict(
        (y, (m, s))
        for y, m, s in marts.execute(
            "select year, mission_in_force, sofa_in_force from marts.partnership_panel where iso3 = 'PRY'"
        ).fetchall()
    )
    assert all(pry[y][0] == 0 for y in range(1990, 2027))
    assert [pry[y][1] for y in (2004, 2005, 2006, 2007)] == [0, 1, 1, 0]
    presence = dict(
        marts.execute(
            "select iso3 || year, presence_agreements_in_force from marts.partnership_panel "
            "where iso3 in ('ECU', 'COL') "
            "and year in (2009, 2010, 2011)"
        ).fetchall()
    )
    assert presence["ECU2009"] == 1 and presence["ECU2010"] == 0
    assert presence["COL2010"] == 1 and presence["COL2011"] == 0
    # the reference end dates are honoured for every line that has one
    for t in terms:
        if not t["in_force_to"]:
            continue
        end = dt.date.fromisoformat(t["in_force_to"]).year
        iso3 = t["agreement_id"][:3]
        after = marts.execute(
            "select security_agreements_in_force from marts.partnership_panel where iso3 = ? and year = ?",
            [iso3, end + 1],
        ).fetchone()
        during = marts.execute(
            "select security_agreements_in_force from marts.partnership_panel where iso3 = ? and year = ?", [iso3, end]
        ).fetchone()
        if after and during and end + 1 <= 2026 and end >= 1990:
            assert during[0] >= after[0], t["agreement_id"]


def test_ratios_to_size_do_not_leave_coverage_with_the_world_bank_lag(marts):
    # GDP and population end in 2021 in the bundle; trade % GDP and per-capita ratios continue on flagged estimates
    last_pop = marts.execute(
        "select max(year) from marts.fct_country_indicators where indicator_code = 'SP.POP.TOTL'"
    ).fetchone()[0]
    rows = marts.execute(
        "select year, us_trade_pct_gdp, gdp_is_estimated, population_is_estimated, gdp_current_usd "
        "from marts.partnership_panel where iso3 = 'PRY' and year between ? and 2025 order by year",
        [last_pop + 1],
    ).fetchall()
    assert rows and all(r[1] is not None and r[2] and r[3] and r[4] is None for r in rows)
    # at most four years: nothing estimated beyond the carry limit
    assert (
        marts.execute(
            "select count(*) from marts.partnership_panel where population_is_estimated and year > ?", [last_pop + 4]
        ).fetchone()[0]
        == 0
    )

    # an estimated GDP moves with the published real GDP index where there is one (Brazil: to 2024) and is held
    # where there is none (Paraguay): both ratios recomputed here from the indicator and trade marts
    def value(iso3, code, year):
        row = marts.execute(
            "select value from marts.fct_country_indicators where iso3 = ? and indicator_code = ? and year = ?",
            [iso3, code, year],
        ).fetchone()
        return row[0] if row else None

    for iso3 in ("BRA", "PRY"):
        real21, real23 = value(iso3, "NY.GDP.MKTP.KD", 2021), value(iso3, "NY.GDP.MKTP.KD", 2023)
        growth = real23 / real21 if real21 and real23 else 1.0
        trade = marts.execute(
            "select total_trade_usd from marts.fct_us_trade_country_year where iso3 = ? and year = 2023", [iso3]
        ).fetchone()[0]
        ratio = marts.execute(
            "select us_trade_pct_gdp from marts.partnership_panel where iso3 = ? and year = 2023", [iso3]
        ).fetchone()[0]
        assert abs(ratio - 100 * trade / (value(iso3, "NY.GDP.MKTP.CD", 2021) * growth)) < 1e-9 * ratio
    assert value("BRA", "NY.GDP.MKTP.KD", 2023) is not None and value("PRY", "NY.GDP.MKTP.KD", 2023) is None


def test_monthly_window_is_honest_about_unpublished_months(marts):
    last = marts.execute("select max(month) from marts.fct_us_trade_country_month").fetchone()[0]
    rows = marts.execute(
        "select month, coverage_status, total_trade_usd from marts.agreement_event_windows_monthly"
    ).fetchall()
    assert rows
    for month, status, total in rows:
        if month > last:
            assert status == "not_yet_observed" and total is None
        if status == "observed":
            assert total is not None
    # the window's values are the month mart's
    mismatch = marts.execute(
        """select count(*) from marts.agreement_event_windows_monthly w join marts.fct_us_trade_country_month m
           using (iso3, month) where w.us_exports_usd is distinct from m.us_exports_usd"""
    ).fetchone()[0]
    assert mismatch == 0


def test_country_summary_gives_the_words_their_numbers(marts):
    pry = marts.execute(
        """select type_trajectory, latest_agreement_type, latest_agreement_date, scored_years_after,
                  months_after_observed, months_after_not_yet_observed, monthly_trade_before_usd
           from marts.partnership_country_summary where iso3 = 'PRY'"""
    ).fetchone()
    types = dict(
        marts.execute(
            "select year, model_type from marts.partnership_index "
            "where iso3 = 'PRY' and model_type <> 'insufficient_data'"
        ).fetchall()
    )
    # the trajectory's runs cover exactly the typed years, in order
    covered = []
    for run in pry[0].split("; "):
        years, label = run.split(" ")
        first, _, last = years.partition("-")
        span = range(int(first), int(last or first) + 1)
        assert all(types[y] == label for y in span)
        covered += list(span)
    assert covered == sorted(types)
    assert pry[1] == "SOFA" and str(pry[2]) == "2025-12-15"
    assert pry[3] == 0, "no scored year after the SOFA yet"
    assert pry[4] == 8 and pry[5] == 0 and pry[6] > 0
    # Colombia's MNNA (2022) window straddles the 2020/2021 era boundary: flagged as not like for like
    assert marts.execute(
        "select crosses_scoring_era from marts.partnership_country_summary where iso3 = 'COL'"
    ).fetchone()[0]


def test_types_follow_the_documented_rule_on_their_basis(marts):
    """Recompute every published type from the published scores: the year's own, or in an edge year the mean of the
    year and its scored neighbours of the same era (docs/methodology.md, rules 6 and 7)."""
    rows = marts.execute(
        "select iso3, year, scoring_era, economic_score, security_score, model_type, type_basis "
        "from marts.partnership_index"
    ).fetchall()
    scored = {(r[0], r[1]): r for r in rows if r[3] is not None and r[4] is not None}

    def label(economic, security):
        if max(economic, security) <= 50:
            return "limited"
        mix = security / (economic + security)
        return "security_led" if mix >= 0.6 else "economics_led" if mix <= 0.4 else "security_plus_economics"

    edge_years = set(range(1995, 1998)) | set(range(1999, 2002)) | {2008, 2009, 2010, 2018, 2019, 2020}
    edge_years |= set(range(2022, 2027))
    checked = {"year": 0, "edge_three_years": 0}
    for iso3, year, era, economic, security, model_type, basis in rows:
        if (iso3, year) not in scored:
            assert model_type == "insufficient_data" and basis is None
            continue
        if basis == "year":
            assert model_type == label(economic, security), (iso3, year)
        else:
            assert basis == "edge_three_years" and year in edge_years, (iso3, year, basis)
            near = [scored[(iso3, y)] for y in (year - 1, year, year + 1) if (iso3, y) in scored]
            near = [r for r in near if r[2] == era]
            mean_e = sum(r[3] for r in near) / len(near)
            mean_s = sum(r[4] for r in near) / len(near)
            assert model_type == label(mean_e, mean_s), (iso3, year)
        checked[basis] += 1
    assert checked["year"] > 500 and checked["edge_three_years"] > 400
    # a one-year event inside coverage keeps its own year: Paraguay's 2005 immunity mission
    assert scored[("PRY", 2005)][5:] == ("security_led", "year")


def test_absolute_components_stay_on_their_scale(marts):
    # the register's even spread of a deal over its delivery years lets the five-year US share pass 1 in the panel
    # (Dominican Republic 2020-2022); the scored component is capped at 1
    over = marts.execute("select count(*) from marts.partnership_panel where us_share_arms_imports_5y > 1").fetchone()
    assert over[0] > 0
    top = marts.execute(
        "select max(value), min(value) from intermediate.int_partnership_components where scale = 'absolute'"
    ).fetchone()
    assert top[0] <= 1 and top[1] >= 0
