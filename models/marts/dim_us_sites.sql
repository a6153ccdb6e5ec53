{{ config(
    contract={'enforced': true}
) }}
-- US military sites in Latin America & the Caribbean (Vine / troopdata list, sites known through 2018): no years.
-- One row per listed site; a site flagged with several kinds keeps the most substantial as site_kind and all its flags.
select
    -- Stable while the site's country, name and coordinates do not change (the file has no id of its own).
    cast(
        substr(md5(concat_ws('|', iso3, coalesce(site_name, ''), cast(lat as varchar), cast(lon as varchar))), 1, 16)
        as varchar
    ) as site_id,
    cast(iso3 as varchar) as iso3,
    cast(site_name as varchar) as site_name,
    cast(site_kind as varchar) as site_kind,
    cast(lat as double) as lat,
    cast(lon as double) as lon,
    cast(is_base as boolean) as is_base,
    cast(is_lilypad as boolean) as is_lilypad,
    cast(is_funded_site as boolean) as is_funded_site,
    cast(source_vintage as varchar) as source_vintage
from {{ ref('stg_us_bases') }}
where entity_kind = 'country' and in_universe
