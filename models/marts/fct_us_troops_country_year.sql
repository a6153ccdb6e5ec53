{{ config(
    contract={'enforced': true}
) }}
-- US military personnel per host country and calendar year, one DMDC report per year.
-- The report that represents a year is the September one: it closes the US fiscal year (Q4 FY) and is the month
-- of the single annual report 1957-2012, so the series keeps one point in the year across the 2013 switch to
-- quarterly reports. Where a country has no September report that year (June-only 1950-1956, Venezuela 2019),
-- the latest report of that year is used; report_label says which one.
-- The USA's own rows (domestic strength, not a presence abroad) are left out.
-- Several location names of one report can share an ISO3 (Easter Island is Chile's): they are added up.
with reports as (
    select
        iso3, year, report_month, report_label, source_vintage,
        sum(personnel_total) as personnel_total,
        sum(active_duty) as active_duty
    from {{ ref('stg_us_troops_dmdc') }}
    where entity_kind = 'country' and in_universe and iso3 <> 'USA'
    group by iso3, year, report_month, report_label, source_vintage
),

ranked as (
    select
        *,
        row_number() over (
            partition by iso3, year
            order by (report_month = 9) desc, report_month desc
        ) as report_rank
    from reports
)

select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(personnel_total as bigint) as personnel_total,
    cast(active_duty as bigint) as active_duty,
    cast(report_label as varchar) as report_label,
    cast(source_vintage as varchar) as source_vintage
from ranked
where report_rank = 1
