with source as (
    select * from {{ source('census_trade_by_country', 'census_trade_world_totals') }}
),

renamed as (
    select
        period,
        frequency,
        basis,
        scope,
        adjustment,
        exports_musd,
        imports_musd,
        balance_musd,
        round(exports_musd * 1000000) as exports_usd,
        round(imports_musd * 1000000) as imports_usd,
        source_row,
        _source_file as source_file,
        _source_sha256 as source_sha256,
        _source_vintage as source_vintage
    from source
)

select * from renamed
