with source as (
    select * from {{ source('trade_agreements_desta', 'trade_agreement_in_force_corrections') }}
),

renamed as (
    select
        iso3,
        agreement,
        desta_entry_force_year,  -- the DESTA year this row replaces
        cast(in_force_date as date) as in_force_date,
        citation,
        source_row,
        _source_file as source_file,
        _source_sha256 as source_sha256
    from source
)

select * from renamed
