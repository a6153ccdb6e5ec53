{{ config(contract={'enforced': true}) }}
-- Each focus country-year against the median of each peer group, metric by metric (long). The country itself
-- is left out of its peers' median; a median needs at least one observed peer (peer_countries_observed).
-- Partial periods are never compared as full years: peers' partial values stay out of the median, and a partial
-- focus value keeps its row (flagged) but gets no difference from the median.
with metrics as (
    select * from {{ ref('int_panel_metrics_long') }}
),

countries as (
    select * from {{ ref('dim_country') }}
),

peer_groups as (
    select 'all_lac' as peer_group, iso3 from countries
    where is_lac
    union all
    select 'south_america' as peer_group, iso3 from countries
    where is_lac and un_intermediate_region = 'South America'
    union all
    select 'central_america' as peer_group, iso3 from countries
    where is_lac and un_intermediate_region = 'Central America'
    union all
    select 'northern_triangle' as peer_group, iso3 from countries
    where iso3 in ('HND', 'GTM', 'SLV')
    union all
    select 'paraguay_neighbours' as peer_group, iso3 from countries
    where iso3 in ('ARG', 'BRA', 'BOL')
),

focus as (
    select m.iso3, m.year, m.metric, m.value, m.is_partial_period
    from metrics as m
    inner join countries as c on m.iso3 = c.iso3 and c.is_focus
),

group_names as (
    select distinct peer_group from peer_groups
),

peer_values as (
    select f.iso3, f.year, f.metric, g.peer_group, p.value as peer_value
    from focus as f
    cross join group_names as groups
    inner join peer_groups as g on groups.peer_group = g.peer_group
    inner join metrics as p on g.iso3 = p.iso3 and f.year = p.year and f.metric = p.metric
    where g.iso3 <> f.iso3 and not p.is_partial_period
)

select
    cast(f.iso3 as varchar) as iso3,
    cast(f.year as integer) as year,
    cast(pv.peer_group as varchar) as peer_group,
    cast(f.metric as varchar) as metric,
    cast(f.value as double) as value,
    cast(median(pv.peer_value) as double) as peer_median,
    cast(count(pv.peer_value) as integer) as peer_countries_observed,
    cast(case when not f.is_partial_period then f.value - median(pv.peer_value) end as double)
        as difference_from_median,
    cast(f.is_partial_period as boolean) as is_partial_period
from focus as f
inner join peer_values as pv on f.iso3 = pv.iso3 and f.year = pv.year and f.metric = pv.metric
group by f.iso3, f.year, pv.peer_group, f.metric, f.value, f.is_partial_period
