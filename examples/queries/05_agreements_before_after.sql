-- Question: Five years before versus after each agreement (Argentina, Brazil and Colombia MNNA; Paraguay SOFA): what changed?
select
    w.iso3,
    w.agreement_type,
    w.event_date,
    case when w.rel_year < 0 then 'before' when w.rel_year = 0 then 'event year' else 'after' end as window_part,
    count(*) filter (where w.is_covered_by_data) as years_with_data,
    count(*) filter (where not w.is_covered_by_data) as years_not_yet_covered,
    round(avg(w.economic_score), 1) as avg_economic_score,
    round(avg(w.security_score), 1) as avg_security_score,
    round(avg(w.us_aid_obligations_constant_usd) / 1e6, 1) as avg_us_aid_constant_usd_mn,
    round(avg(w.us_total_trade_usd) / 1e9, 2) as avg_us_trade_usd_bn
from marts.agreement_event_windows as w
where (w.iso3 in ('ARG', 'BRA', 'COL') and w.agreement_type = 'Major Non-NATO Ally')
   or (w.iso3 = 'PRY' and w.agreement_type = 'SOFA')
group by all
order by w.iso3, w.event_date, min(w.rel_year);
