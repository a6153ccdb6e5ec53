{{ config(contract={'enforced': true}) }}
-- USAID Greenbook obligations per country, fiscal year, assistance category (as published), program line,
-- funding account and agency, with the security-sector class from data/reference/aid_security_classification.csv.
-- Regional '(not specified)' buckets are aggregates and never reach this mart.
select
    cast(iso3 as varchar) as iso3,
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_period as varchar) as fiscal_period,
    cast(assistance_category as varchar) as assistance_category,
    cast(program_line as varchar) as program_line,
    cast(funding_account as varchar) as funding_account,
    cast(funding_agency as varchar) as funding_agency,
    cast(is_security_sector as boolean) as is_security_sector,
    -- sum() over rows that are all NULL stays NULL: an unknown amount never becomes zero.
    cast(sum(amount_current_usd) as bigint) as amount_current_usd,
    cast(sum(amount_constant_usd) as bigint) as amount_constant_usd,
    cast(constant_usd_base_year as integer) as constant_usd_base_year,
    cast('us_foreign_aid_greenbook' as varchar) as source,
    cast(source_vintage as varchar) as source_vintage
from {{ ref('int_us_aid_greenbook_classified') }}
group by all
