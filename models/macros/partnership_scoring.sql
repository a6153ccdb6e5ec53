{#
  The partnership index's scoring rule (docs/methodology.md), for one or many scenarios at once, so the headline
  index and its sensitivity table cannot drift apart. `components`: a relation like int_partnership_components.
  `scenarios`: a query with columns scenario, intensity_threshold, mix_band, intensity_margin, mix_margin,
  drop_component, drop_year
  (drop_component NULL = nothing removed; drop_year NULL = removed in every year). Returns one row per scenario,
  country and year that has a component row (CTE `typed`). Scenarios that remove the same rows share one scoring
  (`scoring`, e.g. every threshold scenario shares the headline's); `chosen` holds each scoring's component values.
#}
{% macro partnership_scores(components, scenarios) %}
scenarios as (
    {{ scenarios }}
),

partial_years as (
    -- a country-year whose scoring set holds a partial-period value is never scored as a full year
    select distinct iso3, year from {{ components }} where coalesce(is_partial_period, false)
),

scenario_scorings as (
    -- scenarios that remove the same component-years share one scoring: only their typology thresholds differ
    select *, coalesce(drop_component, '') || '@' || coalesce(cast(drop_year as varchar), '') as scoring
    from scenarios
),

scorings as (
    select distinct scoring, drop_component, drop_year from scenario_scorings
),

ranked as (
    -- rank components: percentile among the countries observed that year (0 lowest, 1 highest, ties share the
    -- lower rank), so units drop out; absolute components are already on 0-1. A scenario removes whole
    -- (component, year) groups, so the other groups' ranks are the same in every scoring: ranked once
    select
        iso3, year, pillar, component, era_first_year, era_last_year, window_years, span_first_year, span_last_year,
        case when scale = 'rank'
            then percent_rank() over (partition by year, component order by value)
            else value
        end as norm
    from {{ components }}
    where not coalesce(is_partial_period, false)
),

normalised as (
    -- the rows a fill is computed from. A scoring keeps or removes a component's rows for a country and era as a
    -- whole, except when it removes one year: so every component is filled once (scope ''), shared by each scoring
    -- that keeps it whole, and a component with one year removed again in that scoring's own scope
    select '' as scope, * from ranked
    union all
    select s.scoring as scope, r.*
    from ranked as r
    inner join scorings as s on r.component = s.drop_component and r.year <> s.drop_year
),

country_era_sets as (
    -- the fixed set a country's pillar rests on for a whole era: every component it has in any year of the era
    select distinct
        scope, iso3, pillar, component, era_first_year, era_last_year, span_first_year, span_last_year,
        greatest(coalesce(window_years, 1) - 1, {{ var('score_fill_years') }}) as fill_years
    from normalised
),

grid as (
    select sets.*, cast(y.year as integer) as year
    from country_era_sets as sets
    cross join lateral (select unnest(range(sets.era_first_year, sets.era_last_year + 1)) as year) as y
),

filled as (
    select
        g.*,
        n.norm,
        last_value(n.norm ignore nulls) over before_now as previous_norm,
        last_value(case when n.norm is not null then g.year end ignore nulls) over before_now as previous_year,
        first_value(n.norm ignore nulls) over after_now as next_norm,
        first_value(case when n.norm is not null then g.year end ignore nulls) over after_now as next_year
    from grid as g
    left join normalised as n
        on n.scope = g.scope and n.iso3 = g.iso3 and n.year = g.year and n.component = g.component
    window
        before_now as (partition by g.scope, g.iso3, g.component, g.era_first_year order by g.year
            rows between unbounded preceding and 1 preceding),
        after_now as (partition by g.scope, g.iso3, g.component, g.era_first_year order by g.year
            rows between 1 following and unbounded following)
),

filled_scored as (
    -- a year the component is not observed takes the country's own normalised value from the nearest observed
    -- year of the era, at most fill_years away (the earlier one on a tie); beyond that it stays missing and the
    -- pillar is not scored, rather than scored on a different set of components
    select
        *,
        coalesce(norm, case
            when previous_year is not null and year - previous_year <= fill_years
                and (next_year is null or year - previous_year <= next_year - year) then previous_norm
            when next_year is not null and next_year - year <= fill_years then next_norm
        end) as value_scored
    from filled
),

chosen as (
    -- each scoring's rows: the shared ones of every component it does not remove, and its own scope's
    select s.scoring, f.* exclude (scope)
    from filled_scored as f
    inner join scorings as s on f.scope = '' and (s.drop_component is null or f.component <> s.drop_component)
    union all
    select f.scope as scoring, f.* exclude (scope)
    from filled_scored as f
    where f.scope <> ''
),

pillars as (
    select
        scoring, iso3, year,
        min(era_first_year) as era_first_year,
        max(era_last_year) as era_last_year,
        count(*) filter (where pillar = 'economic') as economic_set,
        count(norm) filter (where pillar = 'economic') as economic_observed,
        count(value_scored) filter (where pillar = 'economic') as economic_scorable,
        round(100 * avg(value_scored) filter (where pillar = 'economic'), 9) as economic_mean,
        count(*) filter (where pillar = 'security') as security_set,
        count(norm) filter (where pillar = 'security') as security_observed,
        count(value_scored) filter (where pillar = 'security') as security_scorable,
        round(100 * avg(value_scored) filter (where pillar = 'security'), 9) as security_mean,
        -- an edge year: within the fill horizon of the first (inside the panel) or last year of a component's declared
        -- span, where its value is the publisher's latest or first year, or a fill from or towards it
        coalesce(bool_or(
            (span_first_year > {{ var('panel_first_year') }} and year - span_first_year between 0 and fill_years)
            or span_last_year - year between 0 and fill_years
        ), false) as is_edge_year
    from chosen
    group by scoring, iso3, year
),

scored as (
    select
        p.*,
        partial_years.iso3 is not null as is_partial_period,
        case when economic_set >= {{ var('score_min_components_economic') }} and economic_scorable = economic_set
            and partial_years.iso3 is null then economic_mean end as economic_score,
        case when security_set >= {{ var('score_min_components_security') }} and security_scorable = security_set
            and partial_years.iso3 is null then security_mean end as security_score
    from pillars as p
    left join partial_years on partial_years.iso3 = p.iso3 and partial_years.year = p.year
),

labelled as (
    select
        *,
        round((economic_score + security_score) / 2, 9) as partnership_score,
        round(security_score / nullif(economic_score + security_score, 0), 9) as security_mix,
        -- the scores a type rests on: the year's own, or in an edge year the mean of the year and its scored
        -- neighbours of the same era, so that a type never hinges on one edge year's value (or on its fill)
        case when economic_score is not null and security_score is not null then
            case when not is_edge_year then economic_score
                else avg(economic_score) filter (where security_score is not null) over neighbours end
        end as type_economic,
        case when economic_score is not null and security_score is not null then
            case when not is_edge_year then security_score
                else avg(security_score) filter (where economic_score is not null) over neighbours end
        end as type_security
    from scored
    window neighbours as (
        partition by scoring, iso3, era_first_year order by year range between 1 preceding and 1 following
    )
),

type_basis as (
    -- each scenario types its scoring's scores with its own thresholds
    select
        s.scenario,
        l.*,
        s.intensity_threshold,
        s.mix_band,
        s.intensity_margin,
        s.mix_margin,
        greatest(l.type_economic, l.type_security) as type_intensity,
        l.type_security / nullif(l.type_economic + l.type_security, 0) as type_mix
    from labelled as l
    inner join scenario_scorings as s on l.scoring = s.scoring
),

typed as (
    select
        *,
        case
            when economic_score is null or security_score is null then 'insufficient_data'
            -- a pillar exactly at the threshold is at the LAC middle, not above it (a two-component pillar with one
            -- component at the top rank and the other at 0 sits at exactly 50)
            when type_intensity <= intensity_threshold then 'limited'
            when type_mix >= 0.5 + mix_band then 'security_led'
            when type_mix <= 0.5 - mix_band then 'economics_led'
            else 'security_plus_economics'
        end as model_type,
        -- a type resting on a score within the margin of a boundary it uses is fragile: a point of movement in
        -- one component can change it (flagged, not altered)
        abs(type_intensity - intensity_threshold) < intensity_margin
            or (type_intensity > intensity_threshold and (
                abs(type_mix - (0.5 + mix_band)) < mix_margin or abs(type_mix - (0.5 - mix_band)) < mix_margin
            )) as is_near_boundary
    from type_basis
)
{% endmacro %}
