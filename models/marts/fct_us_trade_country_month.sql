{{ config(
    contract={'enforced': true}
) }}
-- US goods trade with each partner and month from the US Census Bureau (2022-01 to the latest published month in
-- the bundle). Months not yet published are absent; a NULL side is unknown, never zero.
select
    cast(iso3 as varchar) as iso3,
    cast(month_start as date) as month,
    cast(year as integer) as year,
    cast(exports_usd as double) as us_exports_usd,
    cast(imports_usd as double) as us_imports_usd,
    cast(exports_usd + imports_usd as double) as total_trade_usd,
    cast('US Census Bureau' as varchar) as source,
    cast(source_vintage as varchar) as source_vintage
from {{ ref('int_census_trade_country_month') }}
