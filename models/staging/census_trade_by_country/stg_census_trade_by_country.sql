with source as (
    select * from {{ source('census_trade_by_country', 'census_trade_by_country') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        partner_code as source_partner_code,  -- ISO3 / AGG_<code> (JSON shards) or CTY_CODE (workbook)
        cty_code,
        partner_name as source_partner_name,
        entity_kind,
        in_universe,
        ---------- time
        year,
        month,
        period,
        make_date(year, month, 1) as month_start,
        ---------- measures: the publisher's US$ millions, and whole US dollars
        exports_musd,
        imports_musd,
        round(exports_musd * 1000000) as exports_usd,  -- NULL = month not yet published, never zero
        round(imports_musd * 1000000) as imports_usd,
        exports_year_musd,  -- Census's annual column: year-to-date for the latest, partial year
        imports_year_musd,
        balance_year_musd,
        ---------- provenance
        layout as source_layout,
        source_row,
        _source_file as source_file,
        _source_sha256 as source_sha256,
        _source_vintage as source_vintage
    from source
)

select * from renamed
