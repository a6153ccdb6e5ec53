"""The country brief: one self-contained HTML page per country, read from the published warehouse.

No JavaScript and no network at view time: charts are inline SVG (pipelines/brief/svg.py), styles inline.
Every query takes the country as a bound parameter. A chart whose mart is missing from this build (the
partnership marts) shows a visible "not available in this build" note instead of failing the page.

The first paragraph answers the question in words, generated from the marts (pipelines/brief/summary.py): the
model-type trajectory, what moved before and after the latest agreement, and what is not yet observed. Columns
that only some builds have (partial-period flags, the security mix, the aid split, training) are used when present.
A country no source has a row for gets no brief in `--all` and no line in the index; asked for by name, it gets
a one-line "no data" page.

    write_briefs(published_db, out_dir, ["PRY"])   ->  out_dir/PRY.html and out_dir/index.html
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from html import escape
from pathlib import Path

import duckdb

from pipelines.brief.summary import countries_with_data, partial_years, summary_sentences, table_columns
from pipelines.brief.svg import Band, Chart, Event, Series, render
from pipelines.errors import UserError

X_START = 1990  # the charts' common time axis starts here; the agreements table lists older events too
COLORS = {
    "obligations": "#1f5fa8",
    "disbursements": "#6aa84f",
    "exports": "#1f5fa8",
    "imports": "#d9822b",
    "arms_total": "#b9c3cf",
    "arms_us": "#1f5fa8",
    "personnel": "#1f5fa8",
    "ex_total": "#b9c3cf",
    "ex_us": "#1f5fa8",
    "economic": "#2e8b57",
    "security": "#b22222",
    "partnership": "#444444",
}
MODEL_TYPE_COLORS = {
    "security_plus_economics": "#6a3d9a",
    "security_led": "#e31a1c",
    "economics_led": "#33a02c",
    "limited": "#b2b2b2",
    "insufficient_data": "#ffffff",
}
# The peer group a country is compared with: its own (marts.peer_comparison holds every focus country against every
# group).
OWN_PEER_GROUP = {
    "PRY": "paraguay_neighbours",
    "HND": "northern_triangle",
    "GTM": "northern_triangle",
    "SLV": "northern_triangle",
}
REGION_PEER_GROUP = {"South America": "south_america", "Central America": "central_america", "Caribbean": "caribbean"}


class BriefError(UserError):
    """A brief that could not be drawn (unknown country, no published warehouse, ...)."""


@dataclass
class Section:
    """One chart of the brief, or the reason it is not available."""

    key: str
    heading: str
    svg: str | None = None
    caption: str = ""
    unavailable: str | None = None
    extra_html: str = ""


@dataclass
class Brief:
    iso3: str
    country_name: str
    facts: dict
    sections: list[Section] = field(default_factory=list)
    agreements: list[tuple] = field(default_factory=list)
    sources: list[tuple] = field(default_factory=list)
    published_at: str | None = None
    summary: list[str] = field(default_factory=list)  # the first paragraph, sentence by sentence
    has_data: bool = True


def _has_table(con, schema: str, name: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables where table_schema = ? and table_name = ?", [schema, name]
        ).fetchone()[0]
    )


def _rows(con, sql: str, params: list) -> list[tuple]:
    return con.execute(sql, params).fetchall()


def _coverage(series: list[Series]) -> int | None:
    years = [int(x) for s in series for x, _ in s.known()]
    return max(years) if years else None


def _span(series: list[Series]) -> str:
    years = [int(x) for s in series for x, _ in s.known()]
    return f"data {min(years)}–{max(years)}" if years else "no data"


def _x_end(con, iso3: str) -> int:
    years = con.execute(
        "select max(y) from (select max(year) as y from marts.fct_us_trade_country_year where iso3 = $1 "
        "union all select max(fiscal_year) from marts.fct_us_aid_country_year where iso3 = $1 "
        "union all select max(year) from marts.fct_us_troops_country_year where iso3 = $1 "
        "union all select max(year(coalesce(date_signed, date_in_force))) "
        "from marts.fct_security_agreements where iso3 = $1)",
        [iso3],
    ).fetchone()[0]
    return max(int(years or date.today().year), X_START + 10)


def _events(agreements: list[tuple]) -> list[Event]:
    events = []
    for number, (_, agreement_type, title, signed, signed_precision, in_force, _in_force_precision) in enumerate(
        agreements, 1
    ):
        when = signed or in_force
        if when is None:
            continue
        x = when.year + (
            (when.timetuple().tm_yday - 1) / 365.25 if (signed_precision or "day") == "day" or signed is None else 0
        )
        label = "signed" if signed else "in force"
        events.append(Event(x, str(number), f"{number}. {agreement_type} ({label} {when.isoformat()}): {title}"))
    return events


def _unavailable(key: str, heading: str, table: str) -> Section:
    return Section(
        key,
        heading,
        unavailable=f"Not available in this build: the table marts.{table} is not in the published warehouse.",
    )


def gather(con, iso3: str) -> Brief:
    iso3 = iso3.upper()
    country = con.execute(
        "select country_name, official_name, un_intermediate_region, wb_income_group, is_focus from marts.dim_country "
        "where iso3 = ?",
        [iso3],
    ).fetchone()
    if country is None:
        raise BriefError(
            f"unknown country {iso3!r}", 'list them with: hpw query "select iso3, country_name from marts.dim_country"'
        )
    brief = Brief(
        iso3,
        country[0],
        {"official_name": country[1], "region": country[2], "income_group": country[3], "focus": country[4]},
    )
    if iso3 not in countries_with_data(con, [iso3]):
        brief.has_data = False
        return brief
    brief.agreements = _rows(
        con,
        "select agreement_id, agreement_type, title, date_signed, date_signed_precision, date_in_force, "
        "date_in_force_precision from marts.fct_security_agreements where iso3 = ? "
        "order by coalesce(date_signed, date_in_force) nulls last, agreement_id",
        [iso3],
    )
    events = _events(brief.agreements)
    x_domain = (X_START, _x_end(con, iso3))
    sections = brief.sections

    # US aid
    # the FA.gov total only: other publishers' rows of the same year are not to be added to it
    one_source = " and source = 'us_foreign_aid'" if "source" in table_columns(con, "fct_us_aid_country_year") else ""
    aid = _rows(
        con,
        "select fiscal_year, transaction_type, amount_constant_usd / 1e6, constant_usd_base_year from "
        "marts.fct_us_aid_country_year where iso3 = ? and aid_category = 'Total' and fiscal_period = 'FY' and "
        f"transaction_type in ('Obligations', 'Disbursements') {one_source} order by fiscal_year",
        [iso3],
    )
    base_years = sorted({r[3] for r in aid if r[3] is not None})
    base = f"FY{base_years[0]}" if len(base_years) == 1 else "base year of each file"
    series = [
        Series(label, [(r[0], r[2]) for r in aid if r[1] == label], COLORS[label.lower()])
        for label in ("Obligations", "Disbursements")
    ]
    sections.append(
        Section(
            "aid",
            "US foreign assistance",
            render(
                Chart(
                    "chart-aid",
                    f"US foreign assistance to {brief.country_name}, by fiscal year",
                    f"US$ millions (constant {base})",
                    series,
                    x_domain,
                    events,
                    _coverage(series),
                    partial=(aid_partial := partial_years(con, iso3, "aid")),
                )
            ),
            f"All US foreign assistance (ForeignAssistance.gov, aid category Total), constant {base} US dollars, US "
            f"fiscal years; {_span(series)}. Negative values are de-obligations.{_partial_note(aid_partial, 'FY')}",
        )
    )

    # US trade
    trade = _rows(
        con,
        # A year-to-date Census year (is_partial_period) would read as a collapse in a yearly chart: left out.
        "select year, us_exports_usd / 1e6, us_imports_usd / 1e6 from marts.fct_us_trade_country_year "
        "where iso3 = ? and not is_partial_period order by year",
        [iso3],
    )
    series = [
        Series("US exports to the country", [(r[0], r[1]) for r in trade], COLORS["exports"]),
        Series("US imports from the country", [(r[0], r[2]) for r in trade], COLORS["imports"]),
    ]
    sections.append(
        Section(
            "trade",
            "US goods trade",
            render(
                Chart(
                    "chart-trade",
                    f"US goods trade with {brief.country_name}",
                    "US$ millions (current)",
                    series,
                    x_domain,
                    events,
                    _coverage(series),
                    partial=(trade_partial := partial_years(con, iso3, "trade")),
                )
            ),
            "IMF Direction of Trade Statistics (reporter United States; exports FOB, imports CIF) through its last "
            "year, then the US Census Bureau (exports FAS, general imports at customs value); current US dollars; "
            "full calendar years only (the year-to-date partial year is left out; monthly figures in "
            f"marts.fct_us_trade_country_month); {_span(series)}. Gaps are years the publisher does not report (never "
            f"zero).{_partial_note(trade_partial, '')}",
        )
    )

    # Arms imports with the US share
    arms = _rows(
        con,
        "select year, tiv_total_mn, tiv_from_us_mn, us_share from marts.fct_arms_imports_country_year where iso3 = ? "
        "order by year",
        [iso3],
    )
    series = [
        Series("arms imports, all suppliers", [(r[0], r[1]) for r in arms], COLORS["arms_total"], kind="bar"),
        Series("of which from the US", [(r[0], r[2]) for r in arms], COLORS["arms_us"], kind="bar"),
    ]
    recent = [(r[0], r[1], r[2]) for r in arms if r[1] and r[0] >= x_domain[1] - 10]
    share_note = ""
    if recent:
        total = sum(r[1] for r in recent)
        from_us = sum(r[2] or 0 for r in recent if r[2] is not None)
        share_note = f" US share of deliveries {recent[0][0]}–{recent[-1][0]}: {from_us / total:.0%}."
    sections.append(
        Section(
            "arms",
            "Arms imports and the US share",
            render(
                Chart(
                    "chart-arms",
                    f"Arms imports of {brief.country_name}: all suppliers and from the US",
                    "SIPRI TIV, millions",
                    series,
                    x_domain,
                    events,
                    _coverage(series),
                )
            ),
            "SIPRI trend-indicator values (TIV) of major conventional arms delivered, millions; the blue part is from "
            f"the US. {_span(series)}." + share_note,
        )
    )

    # US personnel
    troops = _rows(
        con, "select year, personnel_total from marts.fct_us_troops_country_year where iso3 = ? order by year", [iso3]
    )
    series = [Series("US military personnel (total)", [(r[0], r[1]) for r in troops], COLORS["personnel"])]
    sections.append(
        Section(
            "troops",
            "US military personnel",
            render(
                Chart(
                    "chart-troops",
                    f"US military personnel in {brief.country_name}",
                    "persons",
                    series,
                    x_domain,
                    events,
                    _coverage(series),
                )
            ),
            "Defense Manpower Data Center reports (via troopdata), personnel assigned to the country, usually "
            f"September; {_span(series)}.",
        )
    )

    # Joint exercises
    exercises = _rows(
        con,
        "select year, exercises_total, exercises_with_us, coverage_ends_year from marts.fct_exercises_country_year "
        "where iso3 = ? order by year",
        [iso3],
    )
    series = [
        Series("multinational exercises", [(r[0], r[1]) for r in exercises], COLORS["ex_total"], kind="bar"),
        Series("of which with the US", [(r[0], r[2]) for r in exercises], COLORS["ex_us"], kind="bar"),
    ]
    coverage = max((r[3] for r in exercises if r[3] is not None), default=_coverage(series))
    sections.append(
        Section(
            "exercises",
            "Joint military exercises",
            render(
                Chart(
                    "chart-exercises",
                    f"Multinational military exercises with {brief.country_name}",
                    "exercises per year",
                    series,
                    x_domain,
                    events,
                    coverage,
                )
            ),
            "Multinational Military Exercises dataset (MME v7); exercises starting in the year. Coverage ends "
            f"{coverage}.",
        )
    )

    # Scores and model type
    if _has_table(con, "marts", "partnership_index"):
        try:
            scores = _rows(
                con,
                "select year, economic_score, security_score, partnership_score, model_type from "
                "marts.partnership_index where iso3 = ? order by year",
                [iso3],
            )
        except duckdb.Error as err:
            sections.append(
                Section(
                    "scores",
                    "Security and economic scores",
                    unavailable=f"Not available in this build: {str(err).splitlines()[0]}",
                )
            )
        else:
            series = [
                Series("economic score", [(r[0], r[1]) for r in scores], COLORS["economic"]),
                Series("security score", [(r[0], r[2]) for r in scores], COLORS["security"]),
                Series("partnership score", [(r[0], r[3]) for r in scores], COLORS["partnership"], dash="5,3"),
            ]
            band = Band([(r[0], r[4]) for r in scores if r[4]], MODEL_TYPE_COLORS, "model type")
            legend = "".join(
                f'<span class="swatch" style="background:{color}"></span>{escape(name.replace("_", " "))} '
                for name, color in MODEL_TYPE_COLORS.items()
            )
            sections.append(
                Section(
                    "scores",
                    "Security and economic scores, and model type",
                    render(
                        Chart(
                            "chart-scores",
                            f"Partnership scores of {brief.country_name} (0–100)",
                            "score (0–100, percentile-based)",
                            series,
                            x_domain,
                            events,
                            _coverage(series),
                            y_domain=(0, 100),
                            band=band,
                            partial=partial_years(con, iso3, "index"),
                        )
                    ),
                    "marts.partnership_index: each pillar is the mean within-year percentile rank of its observed "
                    "components among LAC countries (docs/methodology.md); the band under the chart is the model "
                    f"type. {_span(series)}.",
                    extra_html=f'<p class="band-legend">model type: {legend}</p>',
                )
            )
    else:
        sections.append(_unavailable("scores", "Security and economic scores, and model type", "partnership_index"))

    # Against the peer-group median
    if _has_table(con, "marts", "peer_comparison"):
        try:
            groups = [
                r[0] for r in _rows(con, "select distinct peer_group from marts.peer_comparison where iso3 = ?", [iso3])
            ]
            metrics = {
                r[0] for r in _rows(con, "select distinct metric from marts.peer_comparison where iso3 = ?", [iso3])
            }
        except duckdb.Error as err:
            groups, metrics = [], set()
            sections.append(
                Section(
                    "peers",
                    "Against the peer-group median",
                    unavailable=f"Not available in this build: {str(err).splitlines()[0]}",
                )
            )
        if groups:
            preferred = (OWN_PEER_GROUP.get(iso3), REGION_PEER_GROUP.get(brief.facts.get("region") or ""), "all_lac")
            group = next((g for g in preferred if g and g in groups), sorted(groups)[0])
            chosen = [m for m in ("economic_score", "security_score") if m in metrics] or sorted(metrics)[:2]
            peers = _rows(
                con,
                "select metric, year, value, peer_median from marts.peer_comparison where iso3 = ? and peer_group = ? "
                "and list_contains(?, metric) order by year",
                [iso3, group, chosen],
            )
            palette = [COLORS["economic"], COLORS["security"]]
            series = []
            for metric, color in zip(chosen, palette):
                name = metric.replace("_", " ")
                series.append(Series(f"{brief.iso3} {name}", [(r[1], r[2]) for r in peers if r[0] == metric], color))
                series.append(
                    Series(f"peer median, {name}", [(r[1], r[3]) for r in peers if r[0] == metric], color, dash="5,3")
                )
            scored = all(m.endswith("_score") for m in chosen)
            sections.append(
                Section(
                    "peers",
                    "Against the peer-group median",
                    render(
                        Chart(
                            "chart-peers",
                            f"{brief.country_name} against the {group.replace('_', ' ')} median",
                            "score (0–100)" if scored else "value",
                            series,
                            x_domain,
                            events,
                            _coverage(series),
                            y_domain=(0, 100) if scored else None,
                            partial=partial_years(con, iso3, "peers"),
                        )
                    ),
                    f"marts.peer_comparison, peer group {group.replace('_', ' ')} (the country itself excluded from "
                    f"the median); solid: {brief.country_name}, dashed: peer median; metrics: {', '.join(chosen)}. "
                    f"{_span(series)}.",
                )
            )
        elif not any(s.key == "peers" for s in sections):
            sections.append(
                Section(
                    "peers",
                    "Against the peer-group median",
                    unavailable="Not available in this build: marts.peer_comparison has no rows for this country "
                    "(focus countries only).",
                )
            )
    else:
        sections.append(_unavailable("peers", "Against the peer-group median", "peer_comparison"))

    brief.sources = _rows(
        con,
        "select raw_table, file_name, vintage, left(sha256, 12), rows_landed, loaded_at::varchar from meta.loads "
        "order by raw_table",
        [],
    )
    if _has_table(con, "meta", "build"):
        brief.published_at = con.execute("select published_at::varchar from meta.build").fetchone()[0]
    brief.summary = summary_sentences(con, iso3, brief.country_name, brief.agreements)
    return brief


def _partial_note(years: list[int], prefix: str) -> str:
    if not years:
        return ""
    listed = ", ".join(f"{prefix}{y}" for y in years)
    return f" Amber: partial year{'s' if len(years) > 1 else ''} ({listed}), covered only in part by the source."


CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#222;max-width:880px;margin:24px auto;padding:0 16px;
line-height:1.45}
h1{margin-bottom:4px}h2{margin-top:34px;border-bottom:1px solid #ddd;padding-bottom:4px;font-size:19px}
.facts{color:#555;margin-top:0}figure{margin:10px 0 6px 0}figcaption,.note{font-size:13px;color:#555}
svg.chart{max-width:100%;height:auto;font-family:inherit}
.unavailable{border:1px dashed #b58900;background:#fdf6e3;padding:14px;font-size:14px}
.summary{font-size:16px;background:#f6f8fb;border-left:4px solid #1f5fa8;padding:10px 14px}
table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{border-bottom:1px solid #e2e2e2;padding:4px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4}code{white-space:nowrap}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #999;margin:0 4px 0 10px;vertical-align:-1px}
footer{margin-top:36px;font-size:12px;color:#666}
"""


def render_no_data(brief: Brief) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(brief.country_name)}: no data</title><style>{CSS}</style></head><body>"
        f'<p class="no-data">No data: no source of this warehouse has a row for {escape(brief.country_name)} '
        f"({escape(brief.iso3)}), so there is no brief.</p></body></html>\n"
    )


def render_html(brief: Brief) -> str:
    if not brief.has_data:
        return render_no_data(brief)
    facts = brief.facts
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(brief.country_name)} and the United States — country brief</title>",
        f"<style>{CSS}</style></head><body>",
        '<p class="note"><a href="index.html">All country briefs</a></p>',
        f"<h1>{escape(brief.country_name)} and the United States</h1>",
        f'<p class="facts">{escape(facts.get("official_name") or "")} · {escape(brief.iso3)} · '
        f"{escape(facts.get('region') or 'region unknown')} · "
        f"World Bank income group: {escape(facts.get('income_group') or 'not classified')}"
        f"{' · focus country' if facts.get('focus') else ''}</p>",
        f'<p class="summary" id="summary">{escape(" ".join(brief.summary))}</p>',
        '<p class="note">How the partnership mixes security and economics over time. '
        "Numbered markers on every chart are the agreements listed below. Grey shading marks years after the data "
        "end, amber a partial year; gaps are unknown values (never zero).</p>",
    ]
    for section in brief.sections:
        parts.append(
            f'<section class="brief-section" id="section-{escape(section.key)}"><h2>{escape(section.heading)}</h2>'
        )
        if section.unavailable:
            parts.append(
                '<div class="unavailable chart-unavailable" '
                f'data-chart="chart-{escape(section.key)}">{escape(section.unavailable)}</div>'
            )
        else:
            parts.append(
                f"<figure>{section.svg}<figcaption>{escape(section.caption)}</figcaption></figure>{section.extra_html}"
            )
        parts.append("</section>")
    parts.append('<section id="section-agreements"><h2>Security agreements and events</h2>')
    if brief.agreements:
        parts.append("<table><tr><th>#</th><th>date</th><th>type</th><th>title</th></tr>")
        for number, (_, agreement_type, title, signed, signed_precision, in_force, in_force_precision) in enumerate(
            brief.agreements, 1
        ):
            if signed:
                when = f"signed {_date_text(signed, signed_precision)}"
            elif in_force:
                when = f"in force {_date_text(in_force, in_force_precision)}"
            else:
                when = "date not known"
            parts.append(
                f"<tr><td>{number}</td><td>{escape(when)}</td>"
                f"<td>{escape(agreement_type)}</td><td>{escape(title)}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append('<p class="note">No agreements recorded for this country in marts.fct_security_agreements.</p>')
    parts.append("</section>")
    parts.append(
        '<section id="section-sources"><h2>Sources and vintages</h2><table>'
        "<tr><th>raw table</th><th>file</th><th>vintage</th><th>sha256</th><th>rows</th>"
        "<th>retrieved (loaded) at, UTC</th></tr>"
    )
    for raw_table, file_name, vintage, sha, rows, loaded in brief.sources:
        parts.append(
            f"<tr><td>{escape(raw_table)}</td><td>{escape(file_name or '')}</td><td>{escape(vintage or '')}</td>"
            f"<td><code>{escape(sha or '')}</code></td><td>{'' if rows is None else f'{rows:,}'}</td>"
            f"<td>{escape((loaded or '')[:16])}</td></tr>"
        )
    parts.append("</table></section>")
    parts.append(
        f"<footer>Hemisphere Partnership Warehouse · built from warehouse/partnership.duckdb"
        f"{' published ' + escape(brief.published_at[:19]) + ' UTC' if brief.published_at else ''}. "
        "Cite each source as its SOURCE.md asks (data/snapshots/&lt;source&gt;/SOURCE.md).</footer></body></html>"
    )
    return "\n".join(parts) + "\n"


def _date_text(value: date, precision: str | None) -> str:
    if precision == "year":
        return f"{value.year}"
    if precision == "month":
        return value.strftime("%Y-%m")
    return value.isoformat()


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def render_index(con, out_dir: Path) -> str:
    """Every Latin American and Caribbean country with data: a link to its brief, or how to write it."""
    countries = _rows(
        con,
        "select iso3, country_name, un_intermediate_region from marts.dim_country where is_lac order by country_name",
        [],
    )
    with_data = countries_with_data(con, [c[0] for c in countries])
    countries = [c for c in countries if c[0] in with_data]
    rows = []
    for iso3, name, region in countries:
        if (out_dir / f"{iso3}.html").is_file():
            rows.append(
                f'<tr><td><a href="{escape(iso3)}.html">{escape(name)}</a></td><td>{escape(iso3)}</td>'
                f"<td>{escape(region or '')}</td></tr>"
            )
        else:
            rows.append(
                f"<tr><td>{escape(name)}</td><td>{escape(iso3)}</td><td>{escape(region or '')} "
                f'<span class="note">(no brief yet: hpw brief {escape(iso3)})</span></td></tr>'
            )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Country briefs — Hemisphere Partnership Warehouse</title>"
        f"<style>{CSS}</style></head><body><h1>Country briefs</h1>"
        '<p class="note">US partnership with each Latin American and Caribbean country: '
        "aid, trade, arms, personnel, exercises, agreements and scores. Each page is self-contained (no network "
        "needed).</p>"
        "<table><tr><th>country</th><th>ISO3</th><th>region</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )


def write_briefs(published_db: Path, out_dir: Path, iso3s: list[str] | None = None) -> list[Path]:
    """Write the brief of each country (all LAC countries when iso3s is None) and the index page; returns the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with duckdb.connect(str(published_db), read_only=True) as con:
        if iso3s is None:  # every country with data; the others get no page at all
            lac = [r[0] for r in _rows(con, "select iso3 from marts.dim_country where is_lac order by iso3", [])]
            with_data = countries_with_data(con, lac)
            iso3s = [iso3 for iso3 in lac if iso3 in with_data]
        for iso3 in iso3s:
            page = out_dir / f"{iso3.upper()}.html"
            _write(page, render_html(gather(con, iso3)))
            written.append(page)
        index = out_dir / "index.html"
        _write(index, render_index(con, out_dir))
        written.append(index)
    return written
