-- Every name and code each source used, and what it resolved to (pipelines/countries.py,
-- data/reference/country_aliases.csv). Aggregates and non-state entities carry no iso3.
--
-- Which staging models and columns feed it is declared once, beside each staging model, in its yml:
--   config: {meta: {crosswalk: [{source: <source>, code: <col>, name: <col>}]}}
-- (optional `kind`, `universe`, `iso3`: default entity_kind, in_universe, iso3; code/name default null).
-- The union below is derived from those declarations through `graph` when dbt executes. dbt records a model's
-- parents only while parsing, when `graph` is still empty, so each declaring model also needs its
-- `depends_on` line here: dbt refuses to compile this model when one is missing, naming the line to add, and
-- tests/test_source_registry.py fails on a line without a declaration.
-- depends_on: {{ ref('stg_census_intltrade') }}
-- depends_on: {{ ref('stg_census_trade_by_country') }}
-- depends_on: {{ ref('stg_fmtr_training_html') }}
-- depends_on: {{ ref('stg_fmtr_training_xml') }}
-- depends_on: {{ ref('stg_imf_dots_us_trade') }}
-- depends_on: {{ ref('stg_imf_imts_us_trade') }}
-- depends_on: {{ ref('stg_mme_exercise_participants') }}
-- depends_on: {{ ref('stg_security_agreements') }}
-- depends_on: {{ ref('stg_sipri_arms_register') }}
-- depends_on: {{ ref('stg_sipri_milex') }}
-- depends_on: {{ ref('stg_sipri_tiv_exports') }}
-- depends_on: {{ ref('stg_sipri_tiv_imports') }}
-- depends_on: {{ ref('stg_trade_agreements_desta') }}
-- depends_on: {{ ref('stg_us_bases') }}
-- depends_on: {{ ref('stg_us_foreign_aid_activity') }}
-- depends_on: {{ ref('stg_us_foreign_aid_greenbook') }}
-- depends_on: {{ ref('stg_us_foreign_aid_summary') }}
-- depends_on: {{ ref('stg_us_troops_dmdc') }}
-- depends_on: {{ ref('stg_worldbank_wdi_csv') }}
-- depends_on: {{ ref('stg_worldbank_wdi_json') }}
{%- set entries = [] %}
{%- if execute %}
    {%- for node in graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | sort(attribute='name') %}
        {%- for entry in node.config.meta.get('crosswalk', []) %}
            {%- do entries.append((node.name, entry)) %}
        {%- endfor %}
    {%- endfor %}
{%- endif %}
-- The shape (and all that parsing sees); `union` also removes rows two declarations share.
select
    cast(null as varchar) as source,
    cast(null as varchar) as source_code,
    cast(null as varchar) as source_name,
    cast(null as varchar) as iso3,
    cast(null as varchar) as entity_kind,
    cast(null as boolean) as in_universe
where false
{%- for model, entry in entries %}
union
select
    '{{ entry.source }}' as source,
    cast({{ entry.get('code', 'null') }} as varchar) as source_code,
    cast({{ entry.get('name', 'null') }} as varchar) as source_name,
    {{ entry.get('iso3', 'iso3') }} as iso3,
    {{ entry.get('kind', 'entity_kind') }} as entity_kind,
    {{ entry.get('universe', 'in_universe') }} as in_universe
from {{ ref(model) }}
{%- endfor %}
