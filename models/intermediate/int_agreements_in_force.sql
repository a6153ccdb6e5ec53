-- Security agreements in force per country and year, by type. An agreement counts from the year it entered into
-- force (or, where the curated table gives no in-force date, the year it was signed) onward: the table records
-- almost no end dates, so later terminations are not subtracted (docs/methodology.md, caveats).
with agreements as (
    select
        iso3,
        agreement_type,
        year(coalesce(date_in_force, date_signed)) as first_year
    from {{ ref('fct_security_agreements') }}
    where iso3 is not null and coalesce(date_in_force, date_signed) is not null
)

select
    spine.iso3,
    spine.year,
    count(*) filter (where agreement_type = 'SOFA') as sofa_in_force,
    count(*) filter (where agreement_type = 'Major Non-NATO Ally') as mnna_in_force,
    count(*) filter (where agreement_type = 'State Partnership Program') as spp_in_force,
    count(*) filter (where agreement_type = 'Military mission agreement') as mission_in_force,
    count(*) filter (where agreement_type = 'Mutual defense assistance') as mutual_defense_in_force
from {{ ref('int_panel_spine') }} as spine
left join agreements
    on agreements.iso3 = spine.iso3 and agreements.first_year <= spine.year
group by spine.iso3, spine.year
