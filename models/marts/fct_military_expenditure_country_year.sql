{{ config(
    contract={'enforced': true}
) }}
-- SIPRI military expenditure per country and year, the four measures side by side.
-- Country-years for which every sheet says `xxx` (the country did not exist) are left out; a NULL measure
-- means SIPRI has no figure (`...`), the country did not exist in that sheet, or (per capita) a year before 1988.
-- Each (iso3, measure, year) has at most one reported value (tested on staging), so max() picks it, not a total.
with cells as (
    select * from {{ ref('stg_sipri_milex') }}
    where entity_kind = 'country' and in_universe
)

select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(max(value) filter (where measure = 'constant_2022_usd_mn') as double) as milex_constant_2022_usd_mn,
    cast(max(value) filter (where measure = 'current_usd_mn') as double) as milex_current_usd_mn,
    cast(max(value) filter (where measure = 'share_gdp') as double) as milex_share_gdp,
    cast(max(value) filter (where measure = 'per_capita_usd') as double) as milex_per_capita_usd,
    -- the strongest caveat among the cells reported for this country-year (the four sheets agree in this file)
    cast(case
        when bool_or(estimate_flag = 'highly_uncertain') then 'highly_uncertain'
        when bool_or(estimate_flag = 'sipri_estimate') then 'sipri_estimate'
        when bool_or(estimate_flag = 'none') then 'none'
    end as varchar) as estimate_flag,
    cast(max(source_vintage) as varchar) as source_vintage
from cells
group by iso3, year
having bool_or(value_status <> 'not_existing')
