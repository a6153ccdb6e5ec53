{{ config(contract={'enforced': true}) }}
-- Economic and security scores, the security/economics mix and the model type per country-year
-- (docs/methodology.md). The rule itself is the partnership_scores macro, shared with the sensitivity table:
-- 1. each size-fair component is normalised within the year (percentile rank, or its own 0-1 scale);
-- 2. a pillar is the mean over a fixed set of components per country and era; a missing year is filled from the
--    nearest observed year (at most var('score_fill_years') away), otherwise the pillar is NULL;
-- 3. intensity (the stronger pillar) and mix (security_mix) place the country-year in one of four types; in an
--    edge year of a component's span the type rests on the mean scores of the year and its scored neighbours
--    (type_basis); a type resting on a score within the margin of a boundary is flagged (is_near_boundary).
with
{{ partnership_scores(
    ref('int_partnership_components'),
    "select 'headline' as scenario, cast(" ~ var('typology_intensity_threshold') ~ " as double) as intensity_threshold,
        cast(" ~ var('typology_mix_band') ~ " as double) as mix_band,
        cast(" ~ var('typology_intensity_margin') ~ " as double) as intensity_margin,
        cast(" ~ var('typology_mix_margin') ~ " as double) as mix_margin,
        cast(null as varchar) as drop_component, cast(null as integer) as drop_year"
) }},

spine as (
    select iso3, year from {{ ref('partnership_panel') }}
),

changes as (
    -- a five-year change compares only the components present in both years, so it cannot move because a
    -- component entered or left coverage in between
    select
        now.iso3,
        now.year,
        round(100 * avg(now.value_scored - before.value_scored) filter (where now.pillar = 'economic'), 9)
            as economic_change,
        round(100 * avg(now.value_scored - before.value_scored) filter (where now.pillar = 'security'), 9)
            as security_change
    from chosen as now
    inner join chosen as before
        on now.iso3 = before.iso3 and now.component = before.component and before.year = now.year - 5
    where now.value_scored is not null and before.value_scored is not null
    group by now.iso3, now.year
),

joined as (
    select
        spine.iso3,
        spine.year,
        coalesce(t.is_partial_period, p.iso3 is not null) as is_partial_period,
        t.economic_score,
        t.security_score,
        t.partnership_score,
        t.security_mix,
        -- a partial period is never typed or compared as if it were a full year
        coalesce(t.model_type, 'insufficient_data') as model_type,
        coalesce(t.is_near_boundary, false) as is_near_boundary,
        case
            when t.model_type = 'insufficient_data' then null
            when t.is_edge_year then 'edge_three_years'
            else 'year'
        end as type_basis,
        coalesce(t.economic_observed, 0) as economic_components_observed,
        coalesce(t.security_observed, 0) as security_components_observed,
        coalesce(t.economic_set, 0) as economic_components_scored,
        coalesce(t.security_set, 0) as security_components_scored,
        coalesce(t.economic_scorable - t.economic_observed + t.security_scorable - t.security_observed, 0)
            as components_filled,
        case when t.era_first_year is not null then t.era_first_year || '-' || t.era_last_year end as scoring_era
    from spine
    left join typed as t on spine.iso3 = t.iso3 and spine.year = t.year
    left join partial_years as p on spine.iso3 = p.iso3 and spine.year = p.year
),

with_changes as (
    select
        j.*,
        case
            when j.partnership_score is not null
                then rank() over (partition by j.year order by j.partnership_score desc nulls last)
        end as rank_partnership_lac,
        case when j.economic_score is not null and before.economic_score is not null then c.economic_change end
            as economic_score_change_5y,
        case when j.security_score is not null and before.security_score is not null then c.security_change end
            as security_score_change_5y
    from joined as j
    left join joined as before on j.iso3 = before.iso3 and before.year = j.year - 5
    left join changes as c on j.iso3 = c.iso3 and j.year = c.year
)

select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(economic_score as double) as economic_score,
    cast(security_score as double) as security_score,
    cast(partnership_score as double) as partnership_score,
    cast(security_mix as double) as security_mix,
    cast(model_type as varchar) as model_type,
    cast(is_near_boundary as boolean) as is_near_boundary,
    cast(type_basis as varchar) as type_basis,
    cast(economic_components_observed as integer) as economic_components_observed,
    cast(security_components_observed as integer) as security_components_observed,
    cast(economic_components_scored as integer) as economic_components_scored,
    cast(security_components_scored as integer) as security_components_scored,
    cast(components_filled as integer) as components_filled,
    cast(scoring_era as varchar) as scoring_era,
    cast(is_partial_period as boolean) as is_partial_period,
    cast(rank_partnership_lac as integer) as rank_partnership_lac,
    cast(economic_score_change_5y as double) as economic_score_change_5y,
    cast(security_score_change_5y as double) as security_score_change_5y
from with_changes
