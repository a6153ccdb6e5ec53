with source as (
    select * from {{ source('us_troops_dmdc', 'us_troops_dmdc') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        source_iso3,
        country_name as source_country_name,
        location as source_location,
        cow_code,
        entity_kind,
        in_universe,
        ---------- periods
        report_label,
        year,
        report_month,
        quarter,
        ---------- numerics (persons; NULL = not in that report's layout, never zero)
        troops_ad as active_duty,
        total as military_total_pre2008,
        total_active_duty,
        total_selected_reserve,
        total_civilian,
        grand_total as personnel_total,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
