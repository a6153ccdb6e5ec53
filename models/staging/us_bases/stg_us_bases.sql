with source as (
    select * from {{ source('us_bases', 'us_bases') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        source_iso3,
        country_name as source_country_name,
        cow_code,
        entity_kind,
        in_universe,
        site_name,
        ---------- location
        lat,
        lon,
        ---------- kind flags (not exclusive)
        is_base,
        is_lilypad,
        is_funded_site,
        -- One kind per site: the most substantial flag wins (a lily pad the US also funds is a lily pad).
        case
            when is_base then 'base'
            when is_lilypad then 'lilypad'
            when is_funded_site then 'funded_site'
        end as site_kind,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
