-- Question: How do Honduras, Guatemala and El Salvador compare with the LAC median on aid, troops, exercises and trade?
select
    iso3,
    metric,
    count(*) as years,
    round(median(value), 2) as median_value,
    round(median(peer_median), 2) as median_lac_peer_median
from marts.peer_comparison
where peer_group = 'all_lac'
  and iso3 in ('HND', 'GTM', 'SLV')
  and metric in ('us_aid_obligations_constant_usd', 'us_aid_constant_usd_per_capita', 'us_active_duty',
                 'exercises_with_us', 'us_total_trade_usd', 'us_trade_pct_gdp')
group by iso3, metric
order by metric, iso3;
