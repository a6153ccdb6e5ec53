{{ config(
    contract={'enforced': true}
) }}
-- US preferential trade agreements with each partner (DESTA, one row per partner x treaty). DESTA gives years
-- only, and codes CAFTA's in-force year as 2004 for every member: where a cited per-country date exists
-- (data/reference/trade_agreement_in_force_corrections.csv) it replaces the year, otherwise the DESTA year stands
-- as a year-precision date (1 January). DESTA's own value stays beside it (desta_entry_force_year).
with desta as (
    select *
    from {{ ref('stg_trade_agreements_desta') }}
    where entity_kind = 'country' and in_universe
),

corrections as (
    select * from {{ ref('stg_trade_agreement_in_force_corrections') }}
)

select
    cast(d.iso3 as varchar) as iso3,
    cast(d.agreement as varchar) as agreement,
    cast(d.desta_id as integer) as desta_id,
    cast(d.signed_year as integer) as signed_year,
    cast(case
        when c.in_force_date is not null then c.in_force_date
        when d.entry_force_year is not null then make_date(d.entry_force_year, 1, 1)
    end as date) as in_force_date,
    cast(case
        when c.in_force_date is not null then 'day'
        when d.entry_force_year is not null then 'year'
    end as varchar) as in_force_date_precision,
    cast(case
        when c.in_force_date is not null then 'USTR correction'
        when d.entry_force_year is not null then 'DESTA year'
        else 'DESTA: never in force'
    end as varchar) as in_force_date_source,
    cast(coalesce(year(c.in_force_date), d.entry_force_year) as integer) as in_force_year,
    cast(d.entry_force_year as integer) as desta_entry_force_year,
    cast(d.entry_force_year is not null as boolean) as ever_in_force,
    cast(d.type_membership = 1 as boolean) as is_bilateral,
    cast(c.citation as varchar) as in_force_citation,
    cast('DESTA' as varchar) as source,
    cast(d.source_vintage as varchar) as source_vintage
from desta as d
left join corrections as c
    on d.iso3 = c.iso3 and d.agreement = c.agreement
