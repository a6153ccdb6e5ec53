{{ config(contract={'enforced': true}) }}
-- Economic and security scores per country-year (docs/methodology.md).
-- 1. Each observed component is turned into its percentile rank among the countries observed that year
--    (0 = lowest, 1 = highest; ties share the lower rank): units (USD, TIV, head-counts, counts) drop out, and
--    multiplying a metric by any positive constant changes nothing.
-- 2. A pillar score is 100 x the mean percentile of its observed components, NULL when fewer than
--    var('score_min_components_<pillar>') are observed; the partnership score is the mean of the two pillars.
-- 3. model_type compares each pillar with var('model_type_high_threshold').
with components as (
    select * from {{ ref('int_partnership_components') }}
),

ranked as (
    select
        iso3, year, pillar, component,
        percent_rank() over (partition by year, component order by value) as percentile
    from components
),

pillars as (
    select
        iso3,
        year,
        -- rounded to 9 decimals: DuckDB's parallel float averages differ in the last bits between runs, and two
        -- builds from the same inputs must give identical scores and ranks
        round(100 * avg(percentile) filter (where pillar = 'economic'), 9) as economic_mean,
        count(*) filter (where pillar = 'economic') as economic_components_observed,
        round(100 * avg(percentile) filter (where pillar = 'security'), 9) as security_mean,
        count(*) filter (where pillar = 'security') as security_components_observed
    from ranked
    group by iso3, year
),

spine as (
    select iso3, year from {{ ref('partnership_panel') }}
),

scored as (
    select
        spine.iso3,
        spine.year,
        case when coalesce(p.economic_components_observed, 0) >= {{ var('score_min_components_economic') }}
            then p.economic_mean end as economic_score,
        case when coalesce(p.security_components_observed, 0) >= {{ var('score_min_components_security') }}
            then p.security_mean end as security_score,
        coalesce(p.economic_components_observed, 0) as economic_components_observed,
        coalesce(p.security_components_observed, 0) as security_components_observed
    from spine
    left join pillars as p on p.iso3 = spine.iso3 and p.year = spine.year
),

typed as (
    select
        *,
        round((economic_score + security_score) / 2, 9) as partnership_score,
        case
            when economic_score is null or security_score is null then 'insufficient_data'
            when security_score >= {{ var('model_type_high_threshold') }}
                and economic_score >= {{ var('model_type_high_threshold') }} then 'security_plus_economics'
            when security_score >= {{ var('model_type_high_threshold') }} then 'security_led'
            when economic_score >= {{ var('model_type_high_threshold') }} then 'economics_led'
            else 'limited'
        end as model_type
    from scored
),

with_changes as (
    select
        now.*,
        case when now.partnership_score is not null then
            rank() over (partition by now.year order by now.partnership_score desc nulls last)
        end as rank_partnership_lac,
        now.economic_score - before.economic_score as economic_score_change_5y,
        now.security_score - before.security_score as security_score_change_5y
    from typed as now
    left join typed as before on before.iso3 = now.iso3 and before.year = now.year - 5
)

select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(economic_score as double) as economic_score,
    cast(security_score as double) as security_score,
    cast(partnership_score as double) as partnership_score,
    cast(model_type as varchar) as model_type,
    cast(economic_components_observed as integer) as economic_components_observed,
    cast(security_components_observed as integer) as security_components_observed,
    cast(rank_partnership_lac as integer) as rank_partnership_lac,
    cast(economic_score_change_5y as double) as economic_score_change_5y,
    cast(security_score_change_5y as double) as security_score_change_5y
from with_changes
