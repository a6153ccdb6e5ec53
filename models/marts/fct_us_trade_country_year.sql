{{ config(
    contract={'enforced': true}
) }}
-- US goods trade with each partner and calendar year (IMF DOTS, reporter United States).
-- A NULL side stays NULL, and so do the total and balance that need it.
select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(exports_fob_usd as double) as us_exports_usd,
    cast(imports_cif_usd as double) as us_imports_usd,
    cast(exports_fob_usd + imports_cif_usd as double) as total_trade_usd,
    cast(exports_fob_usd - imports_cif_usd as double) as trade_balance_usd,
    cast('IMF DOTS' as varchar) as source,
    cast(source_vintage as varchar) as source_vintage
from {{ ref('stg_imf_dots_us_trade') }}
where entity_kind = 'country' and in_universe
