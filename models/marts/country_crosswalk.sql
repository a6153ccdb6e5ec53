-- Every name and code each source used, and what it resolved to (pipelines/countries.py,
-- data/reference/country_aliases.csv). Aggregates and non-state entities carry no iso3.
select distinct 'us_foreign_aid' as source, source_country_code as source_code, source_country_name as source_name, iso3, entity_kind, in_universe
from {{ ref('stg_us_foreign_aid_summary') }}
union
select distinct 'us_foreign_aid', source_country_code, source_country_name, iso3, entity_kind, in_universe
from {{ ref('stg_us_foreign_aid_activity') }}
union
select distinct 'imf_dots_us_trade', partner_imf_code, source_partner_name, iso3, entity_kind, in_universe
from {{ ref('stg_imf_dots_us_trade') }}
