with source as (
    select * from {{ source('us_foreign_aid_greenbook', 'us_foreign_aid_greenbook') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        region as source_region,
        country as source_country_name,
        entity_kind,
        in_universe,
        ---------- categories (as published)
        assistance_category,
        program_line,
        funding_agency,
        funding_account,
        ---------- periods (1976.9 is fiscal_year 1976, fiscal_period 'TQ')
        fiscal_year,
        fiscal_period,
        fiscal_year_label,
        ---------- numerics (obligations; NULL = blank cell, never zero)
        amount_current_usd,
        amount_constant_usd,
        constant_usd_base_year,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
