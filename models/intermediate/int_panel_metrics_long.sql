-- Panel metrics and scores, long (one row per country, year and metric with a value): the shape peer medians
-- and event windows are computed on. Unobserved metrics have no row.
{% set metrics = [
    'us_total_trade_usd', 'us_trade_pct_gdp', 'us_aid_obligations_constant_usd', 'us_aid_constant_usd_per_capita',
    'us_arms_tiv_mn', 'us_share_arms_imports_5y', 'us_active_duty', 'exercises_with_us', 'security_agreements_in_force',
    'homicide_rate', 'rule_of_law', 'milex_share_gdp_pct',
] %}
{% set scores = ['economic_score', 'security_score', 'partnership_score'] %}
{% for metric in metrics %}
select iso3, year, '{{ metric }}' as metric, cast({{ metric }} as double) as value
from {{ ref('partnership_panel') }} where {{ metric }} is not null
union all
{% endfor %}
{% for metric in scores %}
select iso3, year, '{{ metric }}' as metric, cast({{ metric }} as double) as value
from {{ ref('partnership_index') }} where {{ metric }} is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
