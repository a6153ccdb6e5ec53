-- Question: What is Paraguay's partnership profile since 2000 — both scores, model type and LAC rank?
select
    i.year,
    round(i.economic_score, 1) as economic_score,
    round(i.security_score, 1) as security_score,
    i.model_type,
    i.rank_partnership_lac,
    (select count(*) from marts.partnership_index r where r.year = i.year and r.partnership_score is not null) as countries_ranked
from marts.partnership_index as i
where i.iso3 = 'PRY' and i.year >= 2000
order by i.year;
