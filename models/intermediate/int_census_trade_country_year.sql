-- US Census Bureau monthly goods trade summed to calendar years, every year Census covers (the trade mart keeps
-- the years after the last IMF DOTS year; the reconciliation mart compares the overlap). A year's total covers
-- only the months published so far (months_covered); a month not yet published is unknown, never zero.
select
    iso3,
    year,
    sum(exports_usd) as us_exports_usd,
    sum(imports_usd) as us_imports_usd,
    least(count(exports_usd), count(imports_usd)) as months_covered,
    string_agg(distinct source_vintage, '; ') as source_vintage
from {{ ref('int_census_trade_country_month') }}
group by iso3, year
