with source as (
    select * from {{ source('raw', 'imf_dots_us_trade') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        partner_imf_code,
        partner_name as source_partner_name,
        entity_kind,
        in_universe,
        ---------- periods
        year,
        ---------- numerics (USD; NULL = not available, never zero)
        exports_fob_usd,
        imports_cif_usd,
        exports_status,
        imports_status,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
