-- Question: How did Colombia's partnership look during Plan Colombia (2000–2015) versus after — scores, mix, security share of aid, US arms share, trainees?
select
    case when p.year between 2000 and 2015 then '2000-2015 Plan Colombia' else '2016+ after' end as period,
    count(*) as years,
    round(avg(i.economic_score), 1) as avg_economic_score,
    round(avg(i.security_score), 1) as avg_security_score,
    round(avg(i.security_mix), 2) as avg_security_mix,
    round(avg(p.security_share_of_aid), 2) as avg_security_share_of_aid,
    round(avg(p.us_share_arms_imports_5y), 3) as avg_us_share_arms_imports_5y,
    round(avg(p.us_trainees_per_100k), 1) as avg_us_trainees_per_100k,
    round(avg(p.us_aid_obligations_constant_usd) / 1e6, 1) as avg_us_aid_constant_usd_mn
from marts.partnership_panel as p
join marts.partnership_index as i using (iso3, year)
where p.iso3 = 'COL' and p.year >= 2000 and p.us_aid_is_observed and not p.us_aid_is_partial_period
group by 1
order by 1;
