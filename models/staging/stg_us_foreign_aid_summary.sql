with source as (
    select * from {{ source('raw', 'us_foreign_aid_summary') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        country_code as source_country_code,
        country_name as source_country_name,
        entity_kind,
        in_universe,
        transaction_type,
        ---------- periods (1976tq is fiscal_year 1976, fiscal_period 'TQ')
        fiscal_year,
        fiscal_period,
        fiscal_year_label,
        ---------- numerics
        current_amount_usd,
        constant_amount_usd,
        constant_usd_base_year,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
