with exports as (
    select * from {{ source('census_intltrade', 'census_exports') }}
),

imports as (
    select * from {{ source('census_intltrade', 'census_imports') }}
),

unioned as (
    select * from exports
    union all by name
    select * from imports
),

renamed as (
    select
        ---------- ids
        iso3,
        cty_code,
        cty_name as source_country_name,
        entity_kind,
        in_universe,
        ---------- time
        period,
        year,
        month,
        ---------- measure
        flow,
        value_variable,
        value_usd,  -- NULL = month not published yet, never zero
        is_synthetic,  -- true for the offline fixture: never Census data
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_sha256 as source_sha256,
        _source_vintage as source_vintage
    from unioned
)

select * from renamed
