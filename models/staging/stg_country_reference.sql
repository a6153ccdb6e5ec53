with codes as (
    select * from {{ source('raw', 'country_codes') }}
),

universe as (
    -- flags for the configured universe, plus entities the ISO extract lacks: withdrawn codes that sources
    -- still use (ANT) and extra universe countries added with HPW_EXTRA_COUNTRIES
    select * from {{ source('raw', 'country_universe') }}
),

wb as (
    select * from {{ source('raw', 'wb_country_metadata') }}
),

entities as (
    select iso3, iso2, m49, country_name, official_name, subregion, intermediate_region, true as is_current
    from codes
    union all
    select iso3, iso2, m49, country_name, official_name, subregion, intermediate_region, is_current
    from universe
    where iso3 not in (select codes.iso3 from codes)
),

renamed as (
    select
        ---------- ids
        entities.iso3,
        entities.iso2,
        entities.m49,
        ---------- names
        entities.country_name,
        entities.official_name,
        ---------- classifications
        entities.subregion as un_subregion,
        entities.intermediate_region as un_intermediate_region,
        wb.wb_region,
        wb.wb_income_group,
        ---------- flags
        entities.subregion = 'Latin America and the Caribbean' as is_lac,
        coalesce(universe.in_universe, false) as in_universe,
        coalesce(universe.is_focus, false) as is_focus,
        entities.is_current
    from entities
    left join universe on entities.iso3 = universe.iso3
    left join wb on entities.iso3 = wb.code
)

select * from renamed
