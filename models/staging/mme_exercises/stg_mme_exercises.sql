with source as (
    select * from {{ source('mme_exercises', 'mme_exercises') }}
),

renamed as (
    select
        ---------- ids
        mmeid,
        exercise_name,
        series_name,
        location,
        lat,
        lon,
        ---------- periods (NULL part = unknown, `xx` in the file)
        start_year,
        start_month,
        start_day,
        start_date,
        end_year,
        end_month,
        end_day,
        end_date,
        end_before_start,
        start_date_text,
        end_date_text,
        ---------- flags
        is_cpx,
        is_air,
        is_land,
        is_sea,
        is_amphibious,
        is_cyber,
        is_warfighting,
        is_peacekeeping,
        is_humanitarian,
        ---------- participants
        named_participant_cells,
        has_unidentified_participant,
        focus_description,
        additional_participant_info,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
