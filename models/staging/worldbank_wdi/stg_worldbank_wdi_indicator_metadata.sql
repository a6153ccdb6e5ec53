with source as (
    select * from {{ source('worldbank_wdi', 'worldbank_wdi_indicator_metadata') }}
),

renamed as (
    select
        ---------- ids
        indicator_code,
        indicator_name,
        ---------- attributes
        source_note,
        source_organization,
        ---------- provenance
        file as source_file,
        source_row,
        _source_vintage as source_vintage
    from source
)

select * from renamed
