-- Panel metrics and scores, long (one row per country, year and metric with a value): the shape peer medians
-- and event windows are computed on. Unobserved metrics have no row. is_partial_period marks a value that covers
-- only part of its period (the aid summary's last fiscal year, a trade year still being published).
{% set metrics = [
    ('us_total_trade_usd', 'us_trade_is_partial_period'),
    ('us_trade_pct_gdp', 'us_trade_is_partial_period'),
    ('us_aid_obligations_constant_usd', 'us_aid_is_partial_period'),
    ('us_aid_constant_usd_per_capita', 'us_aid_is_partial_period'),
    ('us_arms_tiv_mn', 'false'),
    ('us_share_arms_imports_5y', 'false'),
    ('us_active_duty', 'false'),
    ('exercises_with_us', 'false'),
    ('security_agreements_in_force', 'false'),
    ('agreement_intensity', 'false'),
    ('homicide_rate', 'false'),
    ('rule_of_law', 'false'),
    ('milex_share_gdp_pct', 'false'),
] %}
{% set scores = ['economic_score', 'security_score', 'partnership_score', 'security_mix'] %}
{% for metric, partial in metrics %}
    select
        iso3, year, '{{ metric }}' as metric, cast({{ metric }} as double) as value,
        coalesce({{ partial }}, false) as is_partial_period
    from {{ ref('partnership_panel') }}
    where {{ metric }} is not null
    union all
{% endfor %}
{% for metric in scores %}
    select iso3, year, '{{ metric }}' as metric, cast({{ metric }} as double) as value, is_partial_period
    from {{ ref('partnership_index') }}
    where {{ metric }} is not null
    {% if not loop.last %}union all{% endif %}
{% endfor %}
