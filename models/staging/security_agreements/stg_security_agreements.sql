with source as (
    select * from {{ source('security_agreements', 'security_agreements') }}
),

renamed as (
    select
        ---------- ids
        -- Stable id: code, type slug, signing date as written, and a hash of the title, so correcting notes,
        -- citation or the in-force date keeps the id; two agreements of one type on one day differ by title.
        country_iso3
        || '-' || trim(regexp_replace(lower(agreement_type), '[^a-z0-9]+', '-', 'g'), '-')
        || '-' || coalesce(date_signed_text, 'undated')
        || '-' || left(md5(title), 8) as agreement_id,
        country_iso3 as source_country_code,
        iso3,
        entity_kind,
        in_universe,
        ---------- attributes
        agreement_type,
        title,
        counterpart,
        notes,
        ---------- dates (DATE = first day of the period; precision says how much of it is known)
        date_signed,
        date_signed_precision,
        date_signed_text,
        date_in_force,
        date_in_force_precision,
        date_in_force_text,
        ---------- provenance
        source_citation,
        source_url,
        source_row,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
