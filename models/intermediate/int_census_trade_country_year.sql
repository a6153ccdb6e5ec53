-- US Census Bureau monthly goods trade summed to calendar years, for the years after the last IMF DOTS year
-- (DOTS was discontinued in 2025). Synthetic fixture rows never reach a mart. A year's total covers only the
-- months published so far (months_covered); a month not yet published is unknown, never zero.
with monthly as (
    select iso3, year, month, flow, value_usd, source_vintage
    from {{ ref('stg_census_intltrade') }}
    where entity_kind = 'country' and in_universe and not is_synthetic
),

dots_end as (
    select max(year) as last_year from {{ ref('stg_imf_dots_us_trade') }}
)

select
    iso3,
    year,
    sum(value_usd) filter (where flow = 'exports') as us_exports_usd,
    sum(value_usd) filter (where flow = 'imports') as us_imports_usd,
    least(
        count(distinct month) filter (where flow = 'exports' and value_usd is not null),
        count(distinct month) filter (where flow = 'imports' and value_usd is not null)
    ) as months_covered,
    string_agg(distinct source_vintage, '; ') as source_vintage
from monthly
where year > (select last_year from dots_end)
group by iso3, year
