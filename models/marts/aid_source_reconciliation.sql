{{ config(contract={'enforced': true}) }}
-- Where the two official aid publishers disagree: USAID Greenbook total obligations (Economic + Military) against
-- the ForeignAssistance.gov country summary's obligations, per country and fiscal year, in nominal USD (the two
-- files use different constant-dollar base years, so constant amounts are not compared). Only the fiscal years both
-- files cover; a country-year one of them lacks keeps NULL on that side, never zero.
with greenbook as (
    select
        iso3, fiscal_year, fiscal_period, sum(amount_current_usd) as amount_current_usd,
        any_value(source_vintage) as source_vintage
    from {{ ref('fct_us_aid_country_year') }}
    where source = 'us_foreign_aid_greenbook' and aid_category in ('Economic', 'Military')
    group by iso3, fiscal_year, fiscal_period
),

fagov as (
    select iso3, fiscal_year, fiscal_period, amount_current_usd, source_vintage, is_partial_period
    from {{ ref('fct_us_aid_country_year') }}
    where source = 'us_foreign_aid' and aid_category = 'Total' and transaction_type = 'Obligations'
),

greenbook_years as (
    select min(fiscal_year) as first_year, max(fiscal_year) as last_year from greenbook
),

fagov_years as (
    select min(fiscal_year) as first_year, max(fiscal_year) as last_year from fagov
),

overlap as (
    select
        greatest(greenbook_years.first_year, fagov_years.first_year) as first_year,
        least(greenbook_years.last_year, fagov_years.last_year) as last_year
    from greenbook_years
    cross join fagov_years
),

joined as (
    select
        coalesce(greenbook.iso3, fagov.iso3) as iso3,
        coalesce(greenbook.fiscal_year, fagov.fiscal_year) as fiscal_year,
        coalesce(greenbook.fiscal_period, fagov.fiscal_period) as fiscal_period,
        greenbook.amount_current_usd as greenbook_obligations_current_usd,
        fagov.amount_current_usd as fagov_obligations_current_usd,
        coalesce(fagov.is_partial_period, false) as is_partial_period,
        greenbook.source_vintage as greenbook_source_vintage,
        fagov.source_vintage as fagov_source_vintage
    from greenbook
    full outer join fagov
        on greenbook.iso3 = fagov.iso3
        and greenbook.fiscal_year = fagov.fiscal_year
        and greenbook.fiscal_period = fagov.fiscal_period
)

select
    cast(joined.iso3 as varchar) as iso3,
    cast(joined.fiscal_year as integer) as fiscal_year,
    cast(joined.fiscal_period as varchar) as fiscal_period,
    cast('Obligations' as varchar) as transaction_type,
    cast(joined.greenbook_obligations_current_usd as bigint) as greenbook_obligations_current_usd,
    cast(joined.fagov_obligations_current_usd as bigint) as fagov_obligations_current_usd,
    cast(
        joined.greenbook_obligations_current_usd - joined.fagov_obligations_current_usd as bigint
    ) as difference_current_usd,
    cast(
        (joined.greenbook_obligations_current_usd - joined.fagov_obligations_current_usd)
        / nullif(abs(joined.fagov_obligations_current_usd), 0) as double
    ) as relative_difference,
    cast(joined.is_partial_period as boolean) as is_partial_period,
    cast(joined.greenbook_source_vintage as varchar) as greenbook_source_vintage,
    cast(joined.fagov_source_vintage as varchar) as fagov_source_vintage
from joined
cross join overlap
where joined.fiscal_year between overlap.first_year and overlap.last_year
