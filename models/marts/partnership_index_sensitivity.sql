{{ config(contract={'enforced': true}) }}
-- How much the partnership index's labels depend on its choices: for each alternative threshold, mix band,
-- component weight (a component left out) and coverage edge (a component removed for its first or last covered
-- year), the share of country-years whose model_type differs from the headline. Every scenario runs through the
-- same scoring macro as marts.partnership_index.
{% set t = var('typology_intensity_threshold') %}
{% set band = var('typology_mix_band') %}
{% set im = var('typology_intensity_margin') %}
{% set mm = var('typology_mix_margin') %}
with
{{ partnership_scores(ref('int_partnership_components'), "
    select 'headline' as scenario, 'headline' as scenario_kind,
        cast(" ~ t ~ " as double) as intensity_threshold, cast(" ~ band ~ " as double) as mix_band,
        cast(" ~ im ~ " as double) as intensity_margin, cast(" ~ mm ~ " as double) as mix_margin,
        cast(null as varchar) as drop_component, cast(null as integer) as drop_year,
        'The published index' as description
    union all
    select 'intensity_threshold_' || th, 'threshold', th, " ~ band ~ ", " ~ im ~ ", " ~ mm ~ ", null, null,
        'Intensity threshold ' || th || ' instead of " ~ t ~ "'
    from (select unnest([40.0, 45.0, 55.0, 60.0]) as th)
    union all
    select 'mix_band_' || b, 'threshold', " ~ t ~ ", b, " ~ im ~ ", " ~ mm ~ ", null, null,
        'Mix band +/-' || b || ' around 0.5 instead of " ~ band ~ "'
    from (select unnest([0.05, 0.15, 0.2]) as b)
    union all
    select 'without_' || component, 'weights', " ~ t ~ ", " ~ band ~ ", " ~ im ~ ", " ~ mm ~ ", component, null,
        'Component ' || component || ' left out (weight 0)'
    from (select distinct component from " ~ ref('int_partnership_components') ~ ")
    union all
    select 'coverage_' || edge || '_' || component, 'coverage', " ~ t ~ ", " ~ band ~ ", " ~ im ~ ", " ~ mm ~ ",
        component, edge_year,
        'Component ' || component || ' removed for its ' || edge || ' covered year (' || edge_year || ')'
    from (
        -- the first and last year each component is observed outside the years holding partial periods (2026:
        -- trade January-August), which are never typed, so removing a value there would test nothing; a component
        -- already covered when the panel starts has no first edge inside it
        select component, edge, case edge when 'first' then first_year else last_year end as edge_year
        from (
            select c.component, min(c.year) as first_year, max(c.year) as last_year
            from " ~ ref('int_partnership_components') ~ " as c
            where c.value is not null and c.year not in (
                select p.year from " ~ ref('int_partnership_components') ~ " as p where p.is_partial_period
            )
            group by c.component
        ) cross join (select unnest(['first', 'last']) as edge)
        where edge = 'last' or first_year > " ~ var('panel_first_year') ~ "
    )
") }},

headline as (
    select
        iso3, year, model_type, economic_score, security_score, type_intensity, type_mix, is_near_boundary,
        economic_set, security_set
    from typed
    where scenario = 'headline'
),

compared as (
    select
        s.scenario,
        h.iso3,
        h.year,
        h.model_type as headline_type,
        h.is_near_boundary as headline_near_boundary,
        -- a removed component is absent from its own scenario's sets by design: count the other changes
        (
            (h.economic_set is distinct from t.economic_set or h.security_set is distinct from t.security_set)
            and s.scenario_kind <> 'weights'
        ) as component_set_changed,
        coalesce(t.model_type, 'insufficient_data') as scenario_type,
        (h.economic_score is distinct from t.economic_score or h.security_score is distinct from t.security_score)
            as scores_changed,
        -- the scores the types rest on (type basis: the year, or an edge year with its neighbours)
        ' (stronger pillar ' || round(h.type_intensity, 1) || ', mix ' || round(h.type_mix, 3) || ')' as headline_at,
        coalesce(' (stronger pillar ' || round(t.type_intensity, 1) || ', mix ' || round(t.type_mix, 3) || ')', '')
            as scenario_at
    from scenarios as s
    cross join headline as h
    left join typed as t on s.scenario = t.scenario and h.iso3 = t.iso3 and h.year = t.year
    where h.model_type <> 'insufficient_data'
)

select
    cast(s.scenario as varchar) as scenario,
    cast(s.scenario_kind as varchar) as scenario_kind,
    cast(s.description as varchar) as description,
    cast(s.intensity_threshold as double) as intensity_threshold,
    cast(s.mix_band as double) as mix_band,
    cast(s.intensity_margin as double) as intensity_margin,
    cast(s.mix_margin as double) as mix_margin,
    cast(s.drop_component as varchar) as dropped_component,
    cast(s.drop_year as integer) as dropped_year,
    cast(count(c.iso3) as integer) as country_years_compared,
    cast(count(c.iso3) filter (where c.scenario_type <> c.headline_type) as integer) as labels_changed,
    cast(count(c.iso3) filter (where c.scenario_type = 'insufficient_data') as integer) as labels_lost,
    cast(count(c.iso3) filter (where c.scenario_type <> c.headline_type and not c.headline_near_boundary) as integer)
        as labels_changed_clear_of_boundary,
    cast(count(c.iso3) filter (where c.component_set_changed) as integer) as component_sets_changed,
    cast(count(c.iso3) filter (where c.scores_changed) as integer) as scores_changed,
    cast(round(count(c.iso3) filter (where c.scenario_type <> c.headline_type) / nullif(count(c.iso3), 0), 4) as double)
        as share_changed,
    cast(string_agg(
        c.iso3 || ' ' || c.year || ': ' || c.headline_type || c.headline_at
        || ' -> ' || c.scenario_type || c.scenario_at,
        '; ' order by c.iso3, c.year
    ) filter (where c.scenario_type <> c.headline_type) as varchar) as changes
from scenarios as s
left join compared as c on s.scenario = c.scenario
group by all
