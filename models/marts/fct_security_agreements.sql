{{ config(
    contract={'enforced': true}
) }}
-- US security agreements, designations and related events with LAC countries (hand-curated, cited).
-- Countries outside the configured universe are left out; the multi-country rows (XCA Central America,
-- XCB Caribbean Basin) are kept as aggregates with NULL iso3, because they are agreements in the region.
select
    cast(agreement_id as varchar) as agreement_id,
    cast(iso3 as varchar) as iso3,
    cast(source_country_code as varchar) as source_country_code,
    cast(entity_kind as varchar) as entity_kind,
    cast(agreement_type as varchar) as agreement_type,
    cast(title as varchar) as title,
    cast(date_signed as date) as date_signed,
    cast(date_signed_precision as varchar) as date_signed_precision,
    cast(date_in_force as date) as date_in_force,
    cast(date_in_force_precision as varchar) as date_in_force_precision,
    cast(counterpart as varchar) as counterpart,
    cast(notes as varchar) as notes,
    cast(source_citation as varchar) as source_citation,
    cast(source_url as varchar) as source_url,
    cast(source_vintage as varchar) as source_vintage
from {{ ref('stg_security_agreements') }}
where (entity_kind = 'country' and in_universe) or entity_kind = 'aggregate'
