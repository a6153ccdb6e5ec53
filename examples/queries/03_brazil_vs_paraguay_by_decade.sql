-- Question: Brazil versus Paraguay by decade — US share of arms imports and US trade as % of GDP.
select
    iso3,
    (year // 10) * 10 as decade,
    round(sum(us_arms_tiv_mn) / nullif(sum(arms_imports_tiv_mn), 0), 3) as us_share_arms_imports,
    round(avg(us_trade_pct_gdp), 2) as avg_us_trade_pct_gdp,
    count(us_trade_pct_gdp) as years_with_trade_and_gdp
from marts.partnership_panel
where iso3 in ('BRA', 'PRY')
group by iso3, decade
having count(*) filter (where arms_is_observed or us_trade_is_observed) > 0
order by decade, iso3;
