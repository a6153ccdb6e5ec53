-- Both FA.gov layouts on one grain before aggregation: the summary gives the 'Total' category,
-- the activity-level layout the Economic / Military split where a file carries it.
with summary as (
    select
        iso3, fiscal_year, fiscal_period, transaction_type,
        'Total' as aid_category,
        current_amount_usd, constant_amount_usd, constant_usd_base_year, source_vintage
    from {{ ref('stg_us_foreign_aid_summary') }}
    where entity_kind = 'country' and in_universe
),

activity as (
    select
        iso3, fiscal_year, fiscal_period, transaction_type,
        aid_category,
        current_amount_usd, constant_amount_usd, constant_usd_base_year, source_vintage
    from {{ ref('stg_us_foreign_aid_activity') }}
    where entity_kind = 'country' and in_universe
)

select * from summary
union all
select * from activity
