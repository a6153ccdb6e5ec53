{#- The two FMTR raw tables (report XML, FY2006 web page) share one layout; the page has no page numbers. -#}
{% macro stg_fmtr_training(raw_table, page_number='page_number') %}
with source as (
    select * from {{ source('fmtr_training', raw_table) }}
),

renamed as (
    select
        ---------- ids
        iso3,
        country_name as source_country_name,
        entity_kind,
        in_universe,
        region,
        ---------- periods
        report_fiscal_year,
        fiscal_year,
        is_report_year,
        ---------- program
        program_name as source_program_name,
        program,
        program_group,
        ---------- course
        course_title,
        start_date as start_date_text,
        end_date as end_date_text,
        location,
        student_unit,
        us_unit,
        ---------- numerics (NULL = not printed, never zero)
        trainees,
        cost_usd,
        trainees_as_printed,
        cost_as_printed,
        value_spill,
        plausibility_issue,
        ---------- provenance
        {{ page_number }} as page_number,
        file as source_file_name,
        source_row,
        file_sha256,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
{% endmacro %}
