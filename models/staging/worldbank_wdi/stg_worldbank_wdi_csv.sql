with source as (
    select * from {{ source('worldbank_wdi', 'worldbank_wdi_csv') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        country_code as source_country_code,
        country_name as source_country_name,
        entity_kind,
        in_universe,
        indicator_code,
        indicator_name,
        ---------- periods
        year,
        ---------- numerics (NULL = blank cell in the file: not available, never zero)
        value,
        ---------- provenance
        'csv' as file_kind,
        file as source_file,
        source_row,
        dialect as file_dialect,
        data_source as file_data_source,
        cast(vintage_date as date) as vintage_date,
        coalesce(file_vintage, _source_vintage) as file_vintage,
        file || ': ' || coalesce(file_vintage, _source_vintage) as source_vintage,
        file_sha256
    from source
)

select * from renamed
