{{ config(
    contract={'enforced': true}
) }}
-- US training of each country's forces per fiscal year and program group (Foreign Military Training Report).
-- Only the fiscal year each report records as completed (is_report_year): the FY1999-2000 and FY2000-2001 reports
-- also list the next year's planned training, which the next report records as done, so summing both would count
-- FY2000 and FY2001 twice. Countries of the universe only; aggregates never.
with courses as (
    select
        iso3, fiscal_year, program_group, trainees, cost_usd, source_vintage,
        'Security Force Monitor fmtrpt_data (FMTR parsed XML)' as source
    from {{ ref('stg_fmtr_training_xml') }}
    where is_report_year and entity_kind = 'country' and in_universe
    union all
    select
        iso3, fiscal_year, program_group, trainees, cost_usd, source_vintage,
        'US State Department FMTR web page (FY2006 Western Hemisphere)' as source
    from {{ ref('stg_fmtr_training_html') }}
    where is_report_year and entity_kind = 'country' and in_universe
)

select
    cast(iso3 as varchar) as iso3,
    cast(fiscal_year as integer) as fiscal_year,
    cast(program_group as varchar) as program_group,
    cast(sum(trainees) as bigint) as trainees,
    cast(count(*) as bigint) as courses,
    cast(sum(cost_usd) as double) as cost_usd,
    cast(count(*) filter (where trainees is null) as bigint) as courses_trainees_unknown,
    cast(count(*) filter (where cost_usd is null) as bigint) as courses_cost_unknown,
    cast(min(source) as varchar) as source,
    cast(min(source_vintage) as varchar) as source_vintage
from courses
group by iso3, fiscal_year, program_group
