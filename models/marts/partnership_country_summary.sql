{{ config(contract={'enforced': true}) }}
-- The inputs of a short paragraph in words per country, from the data: the model-type trajectory, what moved
-- before and after the latest dated agreement, what is not yet observed, and the latest aid split and training.
-- Numbers only; the words are the reader's (or the brief's) to write.
with typed as (
    select iso3, year, model_type
    from {{ ref('partnership_index') }}
    where model_type <> 'insufficient_data'
),

runs as (
    -- consecutive years with the same type
    select iso3, model_type, min(year) as first_year, max(year) as last_year
    from (
        select *, year - row_number() over (partition by iso3, model_type order by year) as run
        from typed
    ) as numbered
    group by iso3, model_type, run
),

trajectory as (
    select
        iso3,
        string_agg(
            first_year || case when last_year > first_year then '-' || last_year else '' end || ' ' || model_type,
            '; ' order by first_year
        ) as type_trajectory
    from runs
    group by iso3
),

latest_typed_year as (
    select iso3, max(year) as year
    from typed
    group by iso3
),

latest as (
    select i.iso3, i.year, i.model_type, i.security_mix, i.economic_score, i.security_score
    from {{ ref('partnership_index') }} as i
    inner join latest_typed_year as m on i.iso3 = m.iso3 and i.year = m.year
),

last_agreement as (
    select agreement_id, iso3, agreement_type, date_signed
    from (
        select *, row_number() over (partition by iso3 order by date_signed desc, agreement_id asc) as recency
        from {{ ref('fct_security_agreements') }}
        where
            iso3 is not null and date_signed is not null
            and agreement_type not in ('Court ruling', 'Legislative approval', 'SOFA_legislative_approval')
    )
    where recency = 1
),

around as (
    -- three scored years before the year of signing and up to three after
    select
        w.agreement_id,
        avg(w.security_score) filter (where w.rel_year between -3 and -1) as security_score_before,
        avg(w.security_score) filter (where w.rel_year between 1 and 3) as security_score_after,
        avg(w.economic_score) filter (where w.rel_year between -3 and -1) as economic_score_before,
        avg(w.economic_score) filter (where w.rel_year between 1 and 3) as economic_score_after,
        count(*) filter (where w.rel_year between 1 and 3 and w.coverage_status = 'scored') as scored_years_after,
        count(distinct w.scoring_era) filter (where w.rel_year between -3 and 3 and w.coverage_status = 'scored') > 1
            as crosses_scoring_era
    from {{ ref('agreement_event_windows') }} as w
    inner join last_agreement as a on w.agreement_id = a.agreement_id
    group by w.agreement_id
),

months as (
    select
        agreement_id,
        avg(total_trade_usd) filter (where rel_month between -12 and -1) as monthly_trade_before_usd,
        avg(total_trade_usd) filter (where rel_month >= 1 and coverage_status = 'observed') as monthly_trade_after_usd,
        count(*) filter (where rel_month >= 1 and coverage_status = 'observed') as months_after_observed,
        count(*) filter (where rel_month >= 1 and coverage_status = 'not_yet_observed') as months_after_not_yet_observed
    from {{ ref('agreement_event_windows_monthly') }}
    group by agreement_id
),

latest_aid_split_year as (
    select iso3, max(year) as year
    from {{ ref('partnership_panel') }}
    where aid_split_is_observed
    group by iso3
),

aid as (
    select
        p.iso3, p.year as aid_split_year, p.economic_aid_constant_usd, p.military_aid_constant_usd,
        p.security_share_of_aid
    from {{ ref('partnership_panel') }} as p
    inner join latest_aid_split_year as m on p.iso3 = m.iso3 and p.year = m.year
),

latest_training_year as (
    select iso3, max(year) as year
    from {{ ref('partnership_panel') }}
    where training_is_observed
    group by iso3
),

training as (
    select p.iso3, p.year as training_year, p.us_trainees, p.us_trainees_per_100k
    from {{ ref('partnership_panel') }} as p
    inner join latest_training_year as m on p.iso3 = m.iso3 and p.year = m.year
)

select
    cast(c.iso3 as varchar) as iso3,
    cast(c.country_name as varchar) as country_name,
    cast(t.type_trajectory as varchar) as type_trajectory,
    cast(l.year as integer) as latest_typed_year,
    cast(l.model_type as varchar) as latest_model_type,
    cast(l.economic_score as double) as latest_economic_score,
    cast(l.security_score as double) as latest_security_score,
    cast(l.security_mix as double) as latest_security_mix,
    cast(a.agreement_id as varchar) as latest_agreement_id,
    cast(a.agreement_type as varchar) as latest_agreement_type,
    cast(a.date_signed as date) as latest_agreement_date,
    cast(w.economic_score_before as double) as economic_score_before,
    cast(w.economic_score_after as double) as economic_score_after,
    cast(w.security_score_before as double) as security_score_before,
    cast(w.security_score_after as double) as security_score_after,
    cast(coalesce(w.scored_years_after, 0) as integer) as scored_years_after,
    cast(w.crosses_scoring_era as boolean) as crosses_scoring_era,
    cast(m.monthly_trade_before_usd as double) as monthly_trade_before_usd,
    cast(m.monthly_trade_after_usd as double) as monthly_trade_after_usd,
    cast(m.months_after_observed as integer) as months_after_observed,
    cast(m.months_after_not_yet_observed as integer) as months_after_not_yet_observed,
    cast(aid.aid_split_year as integer) as aid_split_year,
    cast(aid.economic_aid_constant_usd as bigint) as economic_aid_constant_usd,
    cast(aid.military_aid_constant_usd as bigint) as military_aid_constant_usd,
    cast(aid.security_share_of_aid as double) as security_share_of_aid,
    cast(tr.training_year as integer) as training_year,
    cast(tr.us_trainees as bigint) as us_trainees,
    cast(tr.us_trainees_per_100k as double) as us_trainees_per_100k
from {{ ref('dim_country') }} as c
left join trajectory as t on c.iso3 = t.iso3
left join latest as l on c.iso3 = l.iso3
left join last_agreement as a on c.iso3 = a.iso3
left join around as w on a.agreement_id = w.agreement_id
left join months as m on a.agreement_id = m.agreement_id
left join aid on c.iso3 = aid.iso3
left join training as tr on c.iso3 = tr.iso3
where c.is_lac
