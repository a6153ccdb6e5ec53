{{ config(
    contract={'enforced': true}
) }}
-- Where IMF DOTS and the US Census Bureau both cover a partner-year (2022 in the bundle), the two official
-- figures side by side. The bases differ: DOTS imports are CIF, Census imports are customs value (no freight or
-- insurance), so Census imports run a little lower; exports differ by vintage and revisions.
with dots as (
    select iso3, year, exports_fob_usd, imports_cif_usd
    from {{ ref('stg_imf_dots_us_trade') }}
    where entity_kind = 'country' and in_universe
),

census as (
    select iso3, year, us_exports_usd, us_imports_usd, months_covered, source_vintage
    from {{ ref('int_census_trade_country_year') }}
    where months_covered = 12
)

select
    cast(d.iso3 as varchar) as iso3,
    cast(d.year as integer) as year,
    cast(d.exports_fob_usd as double) as dots_exports_usd,
    cast(c.us_exports_usd as double) as census_exports_usd,
    cast(c.us_exports_usd - d.exports_fob_usd as double) as exports_difference_usd,
    cast(round(100 * (c.us_exports_usd - d.exports_fob_usd) / nullif(d.exports_fob_usd, 0), 2) as double)
        as exports_difference_pct,
    cast(d.imports_cif_usd as double) as dots_imports_usd,
    cast(c.us_imports_usd as double) as census_imports_usd,
    cast(c.us_imports_usd - d.imports_cif_usd as double) as imports_difference_usd,
    cast(round(100 * (c.us_imports_usd - d.imports_cif_usd) / nullif(d.imports_cif_usd, 0), 2) as double)
        as imports_difference_pct,
    cast(c.source_vintage as varchar) as census_source_vintage
from dots as d
inner join census as c on d.iso3 = c.iso3 and d.year = c.year
