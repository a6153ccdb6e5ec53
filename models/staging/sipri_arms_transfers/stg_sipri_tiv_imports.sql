with source as (
    select * from {{ source('sipri_arms_transfers', 'sipri_tiv_imports') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        country_name as source_country_name,
        entity_kind,
        in_universe,
        ---------- periods
        year,
        ---------- numerics (millions of SIPRI TIV)
        tiv_mn,
        cell_status,
        range_total_tiv_mn,
        range_share_pct,
        ---------- provenance
        source_row,
        data_generated,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
