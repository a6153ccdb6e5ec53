{{ config(contract={'enforced': true}) }}
-- Monthly US goods trade around every dated, country-specific agreement signed from
-- var('event_window_monthly_from') on: months -var('event_window_months_before') .. +var('event_window_months_after')
-- around the month of signing (Census monthly data). The change on the same month a year earlier takes out the
-- season. coverage_status says what is observed: a month after the latest published one is not yet observed,
-- never zero.
with agreements as (
    select agreement_id, iso3, agreement_type, date_signed as event_date
    from {{ ref('fct_security_agreements') }}
    where
        iso3 is not null
        and date_signed is not null
        and year(date_signed) >= {{ var('event_window_monthly_from') }}
),

months as (
    select * from {{ ref('fct_us_trade_country_month') }}
),

coverage as (
    select min(month) as first_month, max(month) as last_month from months
),

relative_months as (
    select unnest(range(-{{ var('event_window_months_before') }}, {{ var('event_window_months_after') }} + 1))
        as rel_month
),

windows as (
    select
        a.*,
        cast(rel.rel_month as integer) as rel_month,
        cast(date_trunc('month', a.event_date) + to_months(cast(rel.rel_month as integer)) as date) as month
    from agreements as a
    cross join relative_months as rel
)

select
    cast(w.agreement_id as varchar) as agreement_id,
    cast(w.iso3 as varchar) as iso3,
    cast(w.agreement_type as varchar) as agreement_type,
    cast(w.event_date as date) as event_date,
    cast(w.rel_month as integer) as rel_month,
    cast(w.month as date) as month,
    cast(case
        when w.month < c.first_month then 'before_coverage'
        when w.month > c.last_month then 'not_yet_observed'
        when m.iso3 is null then 'not_reported'
        else 'observed'
    end as varchar) as coverage_status,
    cast(m.us_exports_usd as double) as us_exports_usd,
    cast(m.us_imports_usd as double) as us_imports_usd,
    cast(m.us_exports_usd + m.us_imports_usd as double) as total_trade_usd,
    cast(
        100 * (
            (m.us_exports_usd + m.us_imports_usd)
            / nullif(a_year_before.us_exports_usd + a_year_before.us_imports_usd, 0) - 1
        ) as double
    ) as total_trade_change_12m_pct
from windows as w
cross join coverage as c
left join months as m on w.iso3 = m.iso3 and w.month = m.month
left join months as a_year_before
    on w.iso3 = a_year_before.iso3 and a_year_before.month = cast(w.month - interval 12 month as date)
