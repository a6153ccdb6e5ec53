-- One row per Latin American & Caribbean country per year, from var('panel_first_year') to the latest year
-- any source covers. The spine every panel metric is left-joined onto, so absent data stays NULL.
with source_years as (
    select max(fiscal_year) as last_year from {{ ref('fct_us_aid_country_year') }}
    union all
    select max(year) from {{ ref('fct_us_trade_country_year') }}
    union all
    select max(year) from {{ ref('fct_arms_imports_country_year') }}
    where tiv_total_mn is not null
    union all
    select max(year) from {{ ref('fct_us_troops_country_year') }}
    union all
    select max(year) from {{ ref('fct_exercises_country_year') }}
    union all
    select max(year) from {{ ref('fct_country_indicators') }}
    union all
    select max(year) from {{ ref('fct_military_expenditure_country_year') }}
    union all
    select max(year(date_signed)) from {{ ref('fct_security_agreements') }}
),

years as (
    select unnest(range({{ var('panel_first_year') }}, (select max(last_year) from source_years) + 1)) as year
)

select
    countries.iso3,
    countries.country_name,
    cast(years.year as integer) as year
from {{ ref('dim_country') }} as countries
cross join years
where countries.is_lac
