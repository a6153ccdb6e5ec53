-- Question: What is Paraguay's partnership profile since 2000 — both scores, the security/economics mix, model type, LAC rank, and which years are partial or fragile?
select
    i.year,
    round(i.economic_score, 1) as economic_score,
    round(i.security_score, 1) as security_score,
    round(i.security_mix, 2) as security_mix,
    i.model_type,
    i.is_near_boundary,
    i.is_partial_period,
    i.scoring_era,
    i.rank_partnership_lac,
    (select count(*) from marts.partnership_index r where r.year = i.year and r.partnership_score is not null) as countries_ranked
from marts.partnership_index as i
where i.iso3 = 'PRY' and i.year >= 2000
order by i.year;
