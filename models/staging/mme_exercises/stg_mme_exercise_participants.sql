with source as (
    select * from {{ source('mme_exercises', 'mme_exercise_participants') }}
),

renamed as (
    select
        ---------- ids
        mmeid,
        participant_slot,
        participant_position,
        iso3,
        participant_name as source_participant_name,
        entity_kind,
        in_universe,
        repeated_in_exercise,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
