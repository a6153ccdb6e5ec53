with source as (
    select * from {{ source('imf_imts_us_trade', 'imf_imts_us_trade') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        counterpart_code,
        entity_kind,
        in_universe,
        ---------- time
        year,
        ---------- measure
        flow,
        indicator,
        valuation,
        value_usd,  -- NULL = not available, never zero
        status,
        is_synthetic,  -- true for the offline fixture: never IMF data
        ---------- provenance
        dataflow,
        source_row,
        _source_file as source_file,
        _source_sha256 as source_sha256,
        _source_vintage as source_vintage
    from source
)

select * from renamed
