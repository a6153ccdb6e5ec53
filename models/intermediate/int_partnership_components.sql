-- The scoring components of the partnership index, long: one row per country, year and component that the
-- source observes (unobserved components have no row, so they can never count as zero).
{% set components = [
    ('economic', 'us_total_trade_usd'),
    ('economic', 'us_trade_pct_gdp'),
    ('economic', 'us_aid_obligations_constant_usd'),
    ('economic', 'economic_aid_constant_usd'),
    ('security', 'us_arms_tiv_5y_mn'),
    ('security', 'us_share_arms_imports_5y'),
    ('security', 'us_active_duty'),
    ('security', 'exercises_with_us'),
    ('security', 'security_agreements_in_force'),
    ('security', 'military_aid_constant_usd'),
] %}
{% for pillar, column in components %}
select iso3, year, '{{ pillar }}' as pillar, '{{ column }}' as component, cast({{ column }} as double) as value
from {{ ref('partnership_panel') }}
where {{ column }} is not null
{% if not loop.last %}union all{% endif %}
{% endfor %}
