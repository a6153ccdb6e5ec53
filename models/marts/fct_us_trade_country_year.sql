{{ config(
    contract={'enforced': true}
) }}
-- US goods trade with each partner and calendar year: IMF DOTS (reporter United States) through its last
-- year, then the US Census Bureau's monthly series summed by year (one row per iso3 and year: the 2022 overlap
-- keeps DOTS; marts.trade_source_reconciliation compares the two). A NULL side stays NULL, and so do the total
-- and balance that need it. A Census year with fewer than 12 published months is a partial period.
with dots as (
    select
        iso3, year,
        exports_fob_usd as us_exports_usd,
        imports_cif_usd as us_imports_usd,
        12 as months_covered,
        'IMF DOTS' as source,
        source_vintage
    from {{ ref('stg_imf_dots_us_trade') }}
    where entity_kind = 'country' and in_universe
),

census as (
    select
        iso3, year, us_exports_usd, us_imports_usd, months_covered,
        'US Census Bureau' as source,
        source_vintage
    from {{ ref('int_census_trade_country_year') }}
    where year > (select max(dots.year) from dots)
),

unioned as (
    select * from dots
    union all
    select * from census
)

select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(us_exports_usd as double) as us_exports_usd,
    cast(us_imports_usd as double) as us_imports_usd,
    cast(us_exports_usd + us_imports_usd as double) as total_trade_usd,
    cast(us_exports_usd - us_imports_usd as double) as trade_balance_usd,
    cast(months_covered as integer) as months_covered,
    cast(months_covered < 12 as boolean) as is_partial_period,
    cast(source as varchar) as source,
    cast(source_vintage as varchar) as source_vintage
from unioned
