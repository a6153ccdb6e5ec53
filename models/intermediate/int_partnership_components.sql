-- The scored components of the partnership index, long: one row per country, year and component the source
-- observes inside the component's scoring span (unobserved components have no row, so they never count as zero).
-- Every component is size-fair: a ratio to the partner's size or to its own total, a share, or a bounded index.
-- Spans are fixed (docs/methodology.md, "Coverage-stable scores"): a component belongs to the scoring set of every
-- year of its span, whatever a given vintage happens to cover, so the set of components a score rests on changes
-- only at the declared era boundaries. A span may run up to two years past a source's last full year: those
-- years are filled from the nearest observed year by the scoring rule, never by a value invented here.
-- A value covering only part of its period (is_partial_period) keeps its row, flagged: the scoring rule leaves
-- that country-year unscored rather than read it as a full year.
-- scale: 'rank' = percentile rank among countries that year; 'absolute' = a 0-1 value scored as it is (a 0/1
-- status, a bounded index or a share, where ranking most countries' shared zero against a few ones would
-- exaggerate). The US share of arms imports is capped at 1 (SIPRI's register spreads a deal's TIV evenly over its
-- delivery years, the import table does not, so the ratio can pass 1 even over five years: the US cannot supply
-- more than all of them) and damped where the five-year imports are under 10 TIV million (share x imports / 10):
-- one small delivery to a country that imports almost nothing is not a supply relationship.
-- span_first_year / span_last_year: the declared span, so the scoring rule knows each component's coverage edges.
-- window_years: flows that arrive in lumps (aid obligated for several years at once, exercises, courses, trade
-- swings) are scored as the mean of the observed years t-2..t (3), so one year's lump, or one year more or less of
-- coverage, moves the component by a third of it rather than all of it; the arms share already is a five-year
-- window (5); statuses are yearly (1). A missing year may be filled from a value at most window_years - 1 years
-- away (at least var('score_fill_years')): the filled value still shares a year with the one it stands in for.
{% set components = [
    ('economic', 'us_trade_pct_gdp', 'us_trade_pct_gdp', 'rank', 3, 'us_trade_is_partial_period', 1995, 2026),
    ('economic', 'non_security_aid_per_capita', 'non_security_aid_per_capita', 'rank', 3, 'false', 1990, 2020),
    ('economic', 'fta_in_force', 'fta_in_force', 'absolute', 1, 'false', 1990, 2026),
    ('security', 'security_sector_aid_per_capita', 'security_sector_aid_per_capita', 'rank', 3, 'false',
        1990, 2020),
    ('security', 'us_trainees_per_100k', 'us_trainees_per_100k', 'rank', 3, 'false', 1999, 2020),
    ('security', 'us_share_arms_imports_5y',
        'case when us_share_arms_imports_5y > 1 then 1
            else coalesce(us_share_arms_imports_5y, case when us_arms_tiv_5y_mn is not null then 0 end) end
            * least(1, coalesce(us_arms_tiv_5y_mn / nullif(us_share_arms_imports_5y, 0), 0) / 10)',
        'absolute', 5, 'false', 1990, 2026),
    ('security', 'exercises_with_us', 'exercises_with_us', 'rank', 3, 'false', 1990, 2010),
    ('security', 'agreement_intensity', 'agreement_intensity', 'absolute', 1, 'false', 1990, 2026),
] %}
with observed as (
    {% for pillar, component, expression, scale, window, partial, first_year, last_year in components %}
        select
            iso3, year, '{{ pillar }}' as pillar, '{{ component }}' as component, '{{ scale }}' as scale,
            {% if window == 3 %}
                avg(value) over (
                    partition by iso3, is_partial_period order by year range between 2 preceding and current row
                ) as value,
            {% else %}
                value,
            {% endif %}
            {{ window }} as window_years,
            is_partial_period
        from (
            select
                iso3,
                year,
                cast({{ expression }} as double) as value,
                coalesce({{ partial }}, false) as is_partial_period
            from {{ ref('partnership_panel') }}
            where
                year between {{ first_year }} and {{ last_year }}
                -- a partial period keeps its row (value or not), so the scoring rule can see it
                and ({{ expression }} is not null or coalesce({{ partial }}, false))
        ) as panel
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

spans as (
    select * from (
        values
        {% for pillar, component, expression, scale, window, partial, first_year, last_year in components %}
            ('{{ component }}', {{ first_year }}, {{ last_year }}){% if not loop.last %},{% endif %}
        {% endfor %}
    -- AL05 is a false alarm here: its fix would drop the column list that names the VALUES columns
    ) as s (component, first_year, last_year)  -- noqa: AL05
),

year_sets as (
    -- the components whose span covers each year: an era is a run of years with the same set
    select y.year, string_agg(s.component, ',' order by s.component) as component_set
    from (select unnest(range({{ var('panel_first_year') }}, 2100)) as year) as y
    inner join spans as s on y.year between s.first_year and s.last_year
    group by y.year
),

eras as (
    select
        year, component_set,
        min(year) over (partition by component_set, run) as era_first_year,
        max(year) over (partition by component_set, run) as era_last_year
    from (
        select *, year - row_number() over (partition by component_set order by year) as run from year_sets
    ) as runs
)

select
    o.iso3,
    cast(o.year as integer) as year,
    o.pillar,
    o.component,
    o.scale,
    o.value,
    cast(o.window_years as integer) as window_years,
    cast(e.era_first_year as integer) as era_first_year,
    cast(e.era_last_year as integer) as era_last_year,
    cast(s.first_year as integer) as span_first_year,
    cast(s.last_year as integer) as span_last_year,
    o.is_partial_period
from observed as o
inner join eras as e on o.year = e.year
inner join spans as s on o.component = s.component
