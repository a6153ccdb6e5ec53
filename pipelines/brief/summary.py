"""The brief's first paragraph, in words, from the marts: how the partnership's model type moved, what changed
before and after the latest agreement, and what is not yet observed.

Built to read whatever this build has: a mart or column that is missing (partial-period flags, the security mix,
the Greenbook security-sector split, the training mart) is left out of the text, never guessed. A partial period
(a year its source covers only in part) never counts as an observation: it is named as partial instead.
"""

from __future__ import annotations

from datetime import date

WINDOW = 3  # years compared before and after an agreement's year (the year itself mixes both)
MODEL_TYPE_WORDS = {
    "security_led": "security-led",
    "economics_led": "economics-led",
    "security_plus_economics": "security plus economics",
    "limited": "limited",
}
# Tables whose rows make a country "have data" (a row with the named value known).
DATA_TABLES = {
    "fct_us_aid_country_year": "amount_current_usd is not null",
    "fct_us_trade_country_year": "coalesce(us_exports_usd, us_imports_usd) is not null",
    "fct_arms_imports_country_year": "tiv_total_mn is not null",
    "fct_us_troops_country_year": "personnel_total is not null",
    "fct_exercises_country_year": "exercises_total > 0",
    "fct_security_agreements": "true",
}


def table_columns(con, table: str, schema: str = "marts") -> set[str]:
    """The columns of a table; empty when the table is not in this build."""
    return {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def countries_with_data(con, iso3s: list[str]) -> set[str]:
    """Those of iso3s that at least one source has a known value for."""
    parts = [
        f"select iso3 from marts.{table} where {condition}"
        for table, condition in DATA_TABLES.items()
        if table_columns(con, table)
    ]
    if not parts or not iso3s:
        return set()
    found = con.execute(
        f"select distinct iso3 from ({' union all '.join(parts)}) where list_contains(?, iso3)", [list(iso3s)]
    ).fetchall()
    return {r[0] for r in found}


# A metric: (key, words, SQL returning (year, value, is_partial) for the country as $1, or None if unavailable).
def _metric_queries(con) -> list[tuple[str, str, str, str]]:
    """(key, words, unit, SQL) for every metric this build can answer; SQL yields (year, value, is_partial)."""
    metrics = []
    panel = table_columns(con, "partnership_panel")

    aid = table_columns(con, "fct_us_aid_country_year")
    trade = table_columns(con, "fct_us_trade_country_year")

    def flag(column: str) -> str:
        if column in panel:
            return f"coalesce({column}, false)"
        # a panel without the flag: the source mart's own flag for the same year
        if column == "us_aid_is_partial_period" and {"is_partial_period", "source"} <= aid:
            return (
                "exists (select 1 from marts.fct_us_aid_country_year a where a.iso3 = $1 "
                "and a.fiscal_year = partnership_panel.year and a.source = 'us_foreign_aid' "
                "and a.aid_category = 'Total' and a.transaction_type = 'Obligations' and a.fiscal_period = 'FY' "
                "and a.is_partial_period)"
            )
        if column == "us_trade_is_partial_period" and "is_partial_period" in trade:
            return (
                "exists (select 1 from marts.fct_us_trade_country_year t where t.iso3 = $1 "
                "and t.year = partnership_panel.year and t.is_partial_period)"
            )
        return "false"

    for column, words, unit, partial in (
        ("us_aid_obligations_constant_usd", "US aid obligations", "usd", "us_aid_is_partial_period"),
        ("us_total_trade_usd", "US goods trade", "usd", "us_trade_is_partial_period"),
        ("us_arms_tiv_mn", "US arms deliveries", "tiv", None),
        ("us_personnel_total", "US military personnel", "persons", None),
        ("exercises_with_us", "exercises with the US", "count", None),
    ):
        if column in panel:
            metrics.append(
                (
                    column,
                    words,
                    unit,
                    f"select year, {column}, {flag(partial) if partial else 'false'} "
                    f"from marts.partnership_panel where iso3 = $1",
                )
            )
    if {"source", "aid_category"} <= aid:
        partial = "bool_or(coalesce(is_partial_period, false))" if "is_partial_period" in aid else "false"
        metrics.append(
            (
                "security_sector_share",
                "the Greenbook security-sector share of US aid",
                "share",
                "select fiscal_year, "
                "sum(amount_constant_usd) filter (where aid_category = 'security_sector') / "
                "nullif(sum(amount_constant_usd) filter (where aid_category in ('Economic', 'Military')), 0), "
                f"{partial} from marts.fct_us_aid_country_year where iso3 = $1 and source = "
                "'us_foreign_aid_greenbook' and transaction_type = 'Obligations' and fiscal_period = 'FY' "
                "group by fiscal_year having count(*) filter (where aid_category = 'security_sector') > 0",
            )
        )
    training = table_columns(con, "fct_us_training_country_year")
    if {"fiscal_year", "trainees"} <= training:
        metrics.append(
            (
                "trainees",
                "personnel trained by the US",
                "persons",
                "select fiscal_year, sum(trainees), false from marts.fct_us_training_country_year "
                "where iso3 = $1 group by fiscal_year having count(trainees) > 0",
            )
        )
    return metrics


def _amount(value: float, unit: str) -> str:
    if unit == "usd":
        for size, word in ((1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
            if abs(value) >= size:
                return f"${value / size:,.1f} {word}"
        return f"${value:,.0f}"
    if unit == "share":
        return f"{value:.0%}"
    if unit == "tiv":
        return f"{value:,.1f} million TIV"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.1f}"


def _years(years: list[int]) -> str:
    return f"{years[0]}" if len(years) == 1 or years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def _runs(rows: list[tuple[int, str]]) -> list[tuple[str, int, int]]:
    """Consecutive years of the same model type as (type, first, last)."""
    runs: list[list] = []
    for year, kind in rows:
        if runs and runs[-1][0] == kind and runs[-1][2] == year - 1:
            runs[-1][2] = year
        else:
            runs.append([kind, year, year])
    return [tuple(r) for r in runs]


def _trajectory(con, iso3: str, name: str) -> list[str]:
    columns = table_columns(con, "partnership_index")
    if not {"year", "model_type", "economic_score", "security_score"} <= columns:
        return ["The partnership index is not in this build, so no model type is given."]
    partial = "coalesce(is_partial_period, false)" if "is_partial_period" in columns else "false"
    mix = "security_mix" if "security_mix" in columns else "null"
    rows = con.execute(
        f"select year, model_type, economic_score, security_score, {mix}, {partial} from marts.partnership_index "
        "where iso3 = ? order by year",
        [iso3],
    ).fetchall()
    scored = [r for r in rows if r[1] in MODEL_TYPE_WORDS and not r[5] and r[2] is not None and r[3] is not None]
    if not scored:
        return [
            f"Too few components are observed to give {name}'s partnership with the United States a model type "
            "in any year."
        ]
    runs = _runs([(r[0], r[1]) for r in scored])
    if len(runs) <= 5:
        parts = [f"{MODEL_TYPE_WORDS[kind]} ({_years([a, b])})" for kind, a, b in runs]
    else:  # a long history: the first type, how often it changed in between, the last three
        middle = runs[1:-3]
        parts = [
            f"{MODEL_TYPE_WORDS[runs[0][0]]} ({_years([runs[0][1], runs[0][2]])})",
            f"varied ({len(middle)} spells, {_years([middle[0][1], middle[-1][2]])})",
            *[f"{MODEL_TYPE_WORDS[kind]} ({_years([a, b])})" for kind, a, b in runs[-3:]],
        ]
    path = ", then ".join(parts)
    last = scored[-1]
    mix_text = f", security share of the mix {last[4]:.0%}" if last[4] is not None else ""
    sentences = [
        f"{name}'s partnership with the United States was {path}. In {last[0]}, the latest scored year, it was "
        f"{MODEL_TYPE_WORDS[last[1]]} (economic score {last[2]:.0f}, security score {last[3]:.0f} of 100{mix_text})."
    ]
    later = [r for r in rows if r[0] > last[0]]
    if later:
        reasons = []
        partial_years = [r[0] for r in later if r[5]]
        thin = [r[0] for r in later if not r[5]]
        if thin:
            reasons.append(f"{_years(thin)} too few observed components")
        if partial_years:
            reasons.append(f"{_years(partial_years)} partial")
        sentences.append(f"Later years are not scored yet ({'; '.join(reasons)}).")
    return sentences


def _series(con, iso3: str) -> list[tuple[str, str, str, dict[int, float], set[int]]]:
    """(key, words, unit, {year: known value of a full period}, {partial years}) per metric with any data."""
    found = []
    for key, words, unit, sql in _metric_queries(con):
        rows = con.execute(sql, [iso3]).fetchall()
        values = {int(y): float(v) for y, v, partial in rows if v is not None and not partial}
        partial = {int(y) for y, v, p in rows if p}
        if values or partial:
            found.append((key, words, unit, values, partial))
    return found


def _event_words(agreement: tuple) -> str:
    _, agreement_type, title, signed, _, in_force, _ = agreement
    when: date = signed or in_force
    return (
        f"the {agreement_type.replace('_', ' ')} \u201c{title}\u201d "
        f"({'signed' if signed else 'in force'} {when.isoformat()})"
    )


def _around_agreement(series, agreements: list[tuple]) -> list[str]:
    """agreements: the latest one and those dated in the year before it (e.g. a treaty and its ratification)."""
    year = min((a[3] or a[5]) for a in agreements).year
    before_years = list(range(year - WINDOW, year))
    after_years = list(range(year + 1, year + WINDOW + 1))
    moved, unseen = [], []
    for _, words, unit, values, partial in series:
        before = [values[y] for y in before_years if y in values]
        after = [values[y] for y in after_years if y in values]
        if before and after:
            b, a = sum(before) / len(before), sum(after) / len(after)
            ratio = (a - b) / abs(b) if b else None
            change = (
                "" if unit == "share" or ratio is None else ", unchanged" if abs(ratio) < 0.005 else f", {ratio:+.0%}"
            )
            per_year = "" if unit == "share" else " a year"
            moved.append(f"{words} {_amount(b, unit)}{per_year} before, {_amount(a, unit)} after{change}")
        elif before or any(y < year for y in values):
            last = max(values) if values else None
            ends = f"data end {last}" if last is not None else "no full year"
            if partial and max(partial) > (last or 0):
                ends += f", {max(partial)} partial"
            unseen.append(f"{words} ({ends})")
    if len(agreements) > 2:  # the latest, and how many led up to it (the table below lists them)
        first = min((a[3] or a[5]) for a in agreements)
        event = f"{_event_words(agreements[-1])} and {len(agreements) - 1} other agreements since {first.isoformat()}"
    else:
        event = " and ".join(_event_words(a) for a in agreements)
    plural = "s" if len(agreements) > 1 else ""
    sentences = []
    if moved:
        sentences.append(
            f"Around the latest agreement{plural}, {event}, averages over the {WINDOW} years before {year} and the "
            f"{WINDOW} after: " + "; ".join(moved) + "."
        )
    else:
        sentences.append(f"The latest agreement{plural}: {event}.")
    if unseen:
        sentences.append(f"Not yet observed after {'them' if plural else 'it'}: " + "; ".join(unseen) + ".")
    return sentences


def summary_sentences(con, iso3: str, name: str, agreements: list[tuple]) -> list[str]:
    """The first paragraph of the brief, sentence by sentence."""
    sentences = _trajectory(con, iso3, name)
    series = _series(con, iso3)
    dated = [a for a in agreements if (a[3] or a[5]) is not None]
    if dated:
        last = max((a[3] or a[5]) for a in dated)
        recent = [a for a in dated if (last - (a[3] or a[5])).days <= 365]
        sentences += _around_agreement(series, sorted(recent, key=lambda a: (a[3] or a[5], a[0])))
    else:
        sentences.append(f"No security agreement with the United States is recorded for {name}.")
        ends = [f"{words} {max(values)}" for _, words, _, values, _ in series if values]
        if ends:
            sentences.append("Latest observed year: " + "; ".join(ends) + ".")
    return sentences


def partial_years(con, iso3: str, kind: str) -> list[int]:
    """Years a chart's source covers only in part, from the partial-period flags of this build (none without)."""
    if kind == "aid":
        columns = table_columns(con, "fct_us_aid_country_year")
        if "is_partial_period" not in columns:
            return []
        one_source = " and source = 'us_foreign_aid'" if "source" in columns else ""
        sql = (
            "select distinct fiscal_year from marts.fct_us_aid_country_year where iso3 = ? and is_partial_period "
            f"and aid_category = 'Total' and fiscal_period = 'FY'{one_source} order by 1"
        )
    elif kind == "trade":
        if "is_partial_period" in table_columns(con, "fct_us_trade_country_year"):
            sql = (
                "select distinct year from marts.fct_us_trade_country_year where iso3 = ? and is_partial_period "
                "order by 1"
            )
        elif "us_trade_is_partial_period" in table_columns(con, "partnership_panel"):
            sql = (
                "select distinct year from marts.partnership_panel where iso3 = ? and us_trade_is_partial_period "
                "order by 1"
            )
        else:
            return []
    elif kind in ("index", "peers"):
        table = "partnership_index" if kind == "index" else "peer_comparison"
        if "is_partial_period" not in table_columns(con, table):
            return []
        sql = f"select distinct year from marts.{table} where iso3 = ? and is_partial_period order by 1"
    else:
        raise ValueError(kind)
    return [int(r[0]) for r in con.execute(sql, [iso3]).fetchall()]
