{{ config(contract={'enforced': true}) }}
-- Every dated, country-specific agreement with the panel metrics and scores from var('event_window_years')
-- years before to as many after. coverage_status says honestly where data ends: a 2025 agreement has almost
-- no "after" yet, and a partial year (trade still being published, the aid summary's last fiscal year) is marked,
-- never read as a full year. Monthly trade around recent agreements: agreement_event_windows_monthly.
with agreements as (
    select agreement_id, iso3, agreement_type, date_signed as event_date
    from {{ ref('fct_security_agreements') }}
    where iso3 is not null and date_signed is not null
),

relative_years as (
    select unnest(range(-{{ var('event_window_years') }}, {{ var('event_window_years') }} + 1)) as rel_year
),

windows as (
    select a.*, cast(rel.rel_year as integer) as rel_year, cast(year(a.event_date) + rel.rel_year as integer) as year
    from agreements as a
    cross join relative_years as rel
),

last_observed as (
    -- The last year any economic or security component is observed for the country. The agreement count is
    -- left out: the curated table "covers" every year, so it would make any year look observed.
    select iso3, max(year) as last_year
    from {{ ref('int_partnership_components') }}
    where component <> 'agreement_intensity'
    group by iso3
)

select
    cast(w.agreement_id as varchar) as agreement_id,
    cast(w.iso3 as varchar) as iso3,
    cast(w.agreement_type as varchar) as agreement_type,
    cast(w.event_date as date) as event_date,
    cast(w.rel_year as integer) as rel_year,
    cast(w.year as integer) as year,
    cast(case
        when w.year < {{ var('panel_first_year') }} then 'before_panel'
        when lo.last_year is null or w.year > lo.last_year then 'not_yet_covered'
        when p.is_partial_period then 'partial_period'
        when i.economic_score is not null and i.security_score is not null then 'scored'
        else 'partial'
    end as varchar) as coverage_status,
    cast(
        w.year >= {{ var('panel_first_year') }} and w.year <= coalesce(lo.last_year, -1) as boolean
    ) as is_covered_by_data,
    cast(p.us_total_trade_usd as double) as us_total_trade_usd,
    cast(p.us_trade_pct_gdp as double) as us_trade_pct_gdp,
    cast(p.us_aid_obligations_constant_usd as bigint) as us_aid_obligations_constant_usd,
    cast(p.us_arms_tiv_mn as double) as us_arms_tiv_mn,
    cast(p.us_share_arms_imports_5y as double) as us_share_arms_imports_5y,
    cast(p.us_active_duty as bigint) as us_active_duty,
    cast(p.exercises_with_us as integer) as exercises_with_us,
    cast(p.security_agreements_in_force as integer) as security_agreements_in_force,
    cast(p.agreement_intensity as double) as agreement_intensity,
    cast(i.economic_score as double) as economic_score,
    cast(i.security_score as double) as security_score,
    cast(i.partnership_score as double) as partnership_score,
    cast(i.security_mix as double) as security_mix,
    cast(i.model_type as varchar) as model_type,
    cast(i.scoring_era as varchar) as scoring_era,
    cast(p.is_partial_period as boolean) as is_partial_period
from windows as w
left join {{ ref('partnership_panel') }} as p on w.iso3 = p.iso3 and w.year = p.year
left join {{ ref('partnership_index') }} as i on w.iso3 = i.iso3 and w.year = i.year
left join last_observed as lo on w.iso3 = lo.iso3
