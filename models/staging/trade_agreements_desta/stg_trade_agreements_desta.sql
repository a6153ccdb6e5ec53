with source as (
    select * from {{ source('trade_agreements_desta', 'trade_agreements_desta') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        partner_numeric as source_partner_code,  -- ISO 3166 numeric, as DESTA writes it
        partner_name as source_partner_name,
        entity_kind,
        in_universe,
        desta_id,
        treaty_number,
        ---------- agreement
        agreement,
        entry_type,
        type_membership,  -- 1 bilateral, 2 plurilateral, 3 plurilateral + third country
        region_scope,
        wto_listed = 1 as is_wto_listed,
        wto_name,
        ---------- years, as published
        signed_year,
        entry_force_year,  -- NULL = never in force
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_sha256 as source_sha256,
        _source_vintage as source_vintage
    from source
)

select * from renamed
