-- Every name and code each source used, and what it resolved to (pipelines/countries.py,
-- data/reference/country_aliases.csv). Aggregates and non-state entities carry no iso3.
{% set sources = [
    ('us_foreign_aid', 'stg_us_foreign_aid_summary', 'source_country_code', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('us_foreign_aid', 'stg_us_foreign_aid_activity', 'source_country_code', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('imf_dots_us_trade', 'stg_imf_dots_us_trade', 'partner_imf_code', 'source_partner_name', 'entity_kind', 'in_universe', 'iso3'),
    ('sipri_arms_transfers', 'stg_sipri_arms_register', 'null', 'recipient_name', 'recipient_entity_kind', 'recipient_in_universe', 'recipient_iso3'),
    ('sipri_arms_transfers', 'stg_sipri_arms_register', 'null', 'supplier_name', 'supplier_entity_kind', 'supplier_in_universe', 'supplier_iso3'),
    ('sipri_arms_transfers', 'stg_sipri_tiv_imports', 'null', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('sipri_arms_transfers', 'stg_sipri_tiv_exports', 'null', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('sipri_milex', 'stg_sipri_milex', 'null', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('us_troops_dmdc', 'stg_us_troops_dmdc', 'source_iso3', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('us_bases', 'stg_us_bases', 'source_iso3', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('mme_exercises', 'stg_mme_exercise_participants', 'null', 'source_participant_name', 'entity_kind', 'in_universe', 'iso3'),
    ('security_agreements', 'stg_security_agreements', 'source_country_code', 'null', 'entity_kind', 'in_universe', 'iso3'),
    ('worldbank_wdi', 'stg_worldbank_wdi_csv', 'source_country_code', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('worldbank_wdi', 'stg_worldbank_wdi_json', 'source_country_code', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('census_trade_by_country', 'stg_census_trade_by_country', 'source_partner_code', 'source_partner_name', 'entity_kind', 'in_universe', 'iso3'),
    ('trade_agreements_desta', 'stg_trade_agreements_desta', 'source_partner_code', 'source_partner_name', 'entity_kind', 'in_universe', 'iso3'),
    ('fmtr_training', 'stg_fmtr_training_xml', 'null', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('fmtr_training', 'stg_fmtr_training_html', 'null', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
    ('us_foreign_aid_greenbook', 'stg_us_foreign_aid_greenbook', 'null', 'source_country_name', 'entity_kind', 'in_universe', 'iso3'),
] %}
{% for source, model, code, name, kind, universe, iso3 in sources %}
select distinct
    '{{ source }}' as source,
    cast({{ code }} as varchar) as source_code,
    cast({{ name }} as varchar) as source_name,
    {{ iso3 }} as iso3,
    {{ kind }} as entity_kind,
    {{ universe }} as in_universe
from {{ ref(model) }}
{% if not loop.last %}union{% endif %}
{% endfor %}
