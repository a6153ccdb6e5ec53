with source as (
    select * from {{ source('sipri_milex', 'sipri_milex') }}
),

renamed as (
    select
        ---------- ids
        iso3,
        country as source_country_name,
        entity_kind,
        in_universe,
        region_heading as sipri_region_heading,
        measure,
        ---------- periods
        year,
        ---------- numerics (NULL = not a number in the file, see value_status; never zero)
        value,
        value_status,
        estimate_flag,
        ---------- footnote marks of the country row (SIPRI Footnotes sheet)
        notes as sipri_notes,
        coalesce(contains(notes, '†'), false) as excludes_military_pensions,
        coalesce(contains(notes, '‡'), false) as current_spending_only,
        coalesce(contains(notes, '§'), false) as adopted_budget_not_actual,
        coalesce(contains(notes, '¶'), false) as excludes_paramilitary,
        coalesce(contains(notes, '‖'), false) as currency_redenominated,
        ---------- provenance
        sheet as source_sheet,
        source_cell,
        source_row,
        source_text,
        font_colour,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
