-- Every aid publisher on one grain before aggregation: the FA.gov summary gives the 'Total' category, the FA.gov
-- activity-level layout the Economic / Military split where a file carries it, and the USAID Greenbook its
-- published Economic / Military split plus the 'security_sector' aggregate
-- (data/reference/aid_security_classification.csv).
-- is_partial_period: for the publishers in var('aid_sources_partial_last_year'), the latest fiscal year of actual
-- obligations / disbursements in each file is incomplete (agencies report late), so it is flagged from the data.
with summary as (
    select
        'us_foreign_aid' as source,
        iso3, fiscal_year, fiscal_period, transaction_type,
        'Total' as aid_category,
        current_amount_usd, constant_amount_usd, constant_usd_base_year, source_vintage
    from {{ ref('stg_us_foreign_aid_summary') }}
    where entity_kind = 'country' and in_universe
),

activity as (
    select
        'us_foreign_aid' as source,
        iso3, fiscal_year, fiscal_period, transaction_type,
        aid_category,
        current_amount_usd, constant_amount_usd, constant_usd_base_year, source_vintage
    from {{ ref('stg_us_foreign_aid_activity') }}
    where entity_kind = 'country' and in_universe
),

greenbook as (
    select
        'us_foreign_aid_greenbook' as source,
        iso3, fiscal_year, fiscal_period, 'Obligations' as transaction_type,
        assistance_category as aid_category,
        amount_current_usd as current_amount_usd, amount_constant_usd as constant_amount_usd,
        constant_usd_base_year, source_vintage
    from {{ ref('int_us_aid_greenbook_classified') }}
),

greenbook_security as (
    -- The Greenbook reports every obligation, so a country-year in it with no security-sector line had none: 0.
    select
        'us_foreign_aid_greenbook' as source,
        iso3, fiscal_year, fiscal_period, 'Obligations' as transaction_type,
        'security_sector' as aid_category,
        case
            when count(*) filter (where is_security_sector) = 0 then 0
            else sum(amount_current_usd) filter (where is_security_sector)
        end as current_amount_usd,
        case
            when count(*) filter (where is_security_sector) = 0 then 0
            else sum(amount_constant_usd) filter (where is_security_sector)
        end as constant_amount_usd,
        constant_usd_base_year, source_vintage
    from {{ ref('int_us_aid_greenbook_classified') }}
    group by iso3, fiscal_year, fiscal_period, constant_usd_base_year, source_vintage
),

unioned as (
    select * from summary
    union all
    select * from activity
    union all
    select * from greenbook
    union all
    select * from greenbook_security
),

actual_years as (
    -- Whole files (countries and aggregates), not only the universe rows.
    select source_vintage, max(fiscal_year) as last_actual_year
    from (
        select source_vintage, fiscal_year, transaction_type from {{ ref('stg_us_foreign_aid_summary') }}
        union all
        select source_vintage, fiscal_year, transaction_type from {{ ref('stg_us_foreign_aid_activity') }}
    )
    where transaction_type in ('Obligations', 'Disbursements')
    group by source_vintage
)

select
    unioned.*,
    coalesce(
        unioned.source in ({{ "'" ~ var('aid_sources_partial_last_year') | join("', '") ~ "'" }})
        and unioned.transaction_type in ('Obligations', 'Disbursements')
        and unioned.fiscal_year = actual_years.last_actual_year,
        false
    ) as is_partial_period
from unioned
left join actual_years
    on unioned.source_vintage = actual_years.source_vintage
