-- Security agreements in force per country and year (docs/methodology.md, "Agreements").
-- An agreement counts in every year it was in force for at least one day: from entry into force (else signature)
-- to its end. Ends, later starts and classes that the curated table records only in its notes or in a second
-- row (term expiries, non-renewals, a court suspension, ratification years, amendments) are read from
-- data/reference/security_agreement_terms.csv, one cited line per agreement; the snapshot itself is never edited.
-- Classes carry weights: 'presence' agreements let US forces operate in the country (1), 'framework' ones set a
-- standing defence relationship (0.5), 'cooperation' ones are programme or technical agreements (0.25). Events
-- (approvals, rulings, closures), aid initiatives (their money is in the aid columns), asylum agreements (DHS,
-- not security forces) and NATO's partnership (not bilateral) are not counted.
with terms as (
    select *
    from read_csv(
        -- named from the project folder: dbt runs in the build folder
        '{{ invocation_args_dict.project_dir }}/{{ var("reference_dir") }}/security_agreement_terms.csv',
        header = true, all_varchar = true, auto_detect = false,
        columns = {
            'agreement_id': 'varchar', 'counted_as': 'varchar', 'in_force_from': 'varchar',
            'in_force_to': 'varchar', 'basis': 'varchar', 'evidence': 'varchar', 'source_url': 'varchar'
        }
    )
),

agreements as (
    select
        a.iso3,
        a.agreement_id,
        a.agreement_type,
        coalesce(nullif(t.counted_as, ''), case
            when a.agreement_type in (
                'SOFA', 'Defense Cooperation Agreement', 'Forward operating location', 'Military presence arrangement',
                'Troop entry authorization (legislative)'
            ) then 'presence'
            when a.agreement_type in ('Mutual defense assistance', 'Military mission agreement', 'Major Non-NATO Ally')
                then 'framework'
            when a.agreement_type in (
                'State Partnership Program', 'Shiprider agreement', 'Information security agreement (GSOMIA)',
                'Communications security agreement (CISMOA)', 'Technology safeguards agreement',
                'Research, development, test and evaluation agreement (RDT&E)'
            ) then 'cooperation'
            else 'not_counted'
        end) as counted_as,
        coalesce(cast(nullif(t.in_force_from, '') as date), a.date_in_force, a.date_signed) as in_force_from,
        cast(nullif(t.in_force_to, '') as date) as in_force_to
    from {{ ref('fct_security_agreements') }} as a
    left join terms as t on a.agreement_id = t.agreement_id
    where a.iso3 is not null
),

counted as (
    select *
    from agreements
    where counted_as in ('presence', 'framework', 'cooperation') and in_force_from is not null
)

select
    spine.iso3,
    spine.year,
    count(c.agreement_id) filter (where c.agreement_type in ('SOFA', 'SOFA_legislative_approval')) as sofa_in_force,
    count(c.agreement_id) filter (where c.agreement_type = 'Major Non-NATO Ally') as mnna_in_force,
    count(c.agreement_id) filter (where c.agreement_type = 'State Partnership Program') as spp_in_force,
    count(c.agreement_id) filter (where c.agreement_type = 'Military mission agreement') as mission_in_force,
    count(c.agreement_id) filter (where c.agreement_type = 'Mutual defense assistance') as mutual_defense_in_force,
    count(c.agreement_id) filter (where c.counted_as = 'presence') as presence_agreements_in_force,
    count(c.agreement_id) filter (where c.counted_as = 'framework') as framework_agreements_in_force,
    count(c.agreement_id) filter (where c.counted_as = 'cooperation') as cooperation_agreements_in_force,
    count(c.agreement_id) as security_agreements_in_force,
    -- weighted sum scaled so that 2 (e.g. one presence agreement and two framework ones) or more is 1
    least(
        1.0,
        coalesce(
            sum(case c.counted_as when 'presence' then 1.0 when 'framework' then 0.5 when 'cooperation' then 0.25 end),
            0
        ) / 2
    ) as agreement_intensity
from {{ ref('int_panel_spine') }} as spine
left join counted as c
    on spine.iso3 = c.iso3
    and year(c.in_force_from) <= spine.year
    and (c.in_force_to is null or year(c.in_force_to) >= spine.year)
group by spine.iso3, spine.year
