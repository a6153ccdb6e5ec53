with source as (
    select * from {{ source('raw', 'us_foreign_aid_activity') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        country_code as source_country_code,
        country_name as source_country_name,
        entity_kind,
        in_universe,
        activity_id,
        transaction_type,
        ---------- categories
        foreign_assistance_objective_name as aid_category,
        us_category_name,
        us_sector_name,
        funding_account_id,
        funding_account_name,
        managing_agency_acronym,
        ---------- periods
        fiscal_year,
        fiscal_period,
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
