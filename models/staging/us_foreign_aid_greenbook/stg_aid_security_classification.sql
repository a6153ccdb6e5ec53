with source as (
    select * from {{ source('us_foreign_aid_greenbook', 'aid_security_classification') }}
),

renamed as (
    select
        ---------- keys ('*' = every account of the program line)
        program_line,
        funding_account,
        ---------- classification
        is_security_sector,
        rationale,
        citation,
        ---------- provenance
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
