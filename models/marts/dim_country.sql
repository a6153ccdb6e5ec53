-- One row per country or territory in the configured universe (Latin America & Caribbean + USA by default),
-- including withdrawn entities that sources still report (Netherlands Antilles, ANT).
select
    iso3,
    iso2,
    m49,
    country_name,
    official_name,
    un_subregion,
    un_intermediate_region,
    wb_region,
    wb_income_group,
    is_lac,
    is_focus,
    is_current
from {{ ref('stg_country_reference') }}
where in_universe
