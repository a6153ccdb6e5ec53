{{ config(
    contract={'enforced': true}
) }}
-- Country x year x indicator values, long (World Bank WDI / WGI bulk CSVs and API JSON).
-- Blank cells are not rows here: a missing (iso3, year, indicator_code) means not available.
with wdi_cells as (
    select
        iso3, year, indicator_code, indicator_name, value, entity_kind, in_universe,
        file_kind, source_file, vintage_date, source_vintage
    from {{ ref('stg_worldbank_wdi_csv') }}
    union all
    select
        iso3, year, indicator_code, indicator_name, value, entity_kind, in_universe,
        file_kind, source_file, vintage_date, source_vintage
    from {{ ref('stg_worldbank_wdi_json') }}
),

-- One file per indicator, never a per-cell mix: WGI re-scales every release, so two releases must not be mixed.
-- A bulk CSV beats the API JSON (the CSV covers every economy; the JSON here is a 4-country extract), then the
-- latest release wins (vintage_date), then the file name.
wdi_release as (
    select indicator_code, source_file
    from (select distinct indicator_code, source_file, file_kind, vintage_date from wdi_cells) as files
    qualify row_number() over (
        partition by indicator_code
        order by case file_kind when 'csv' then 0 else 1 end, vintage_date desc nulls last, source_file desc
    ) = 1
),

wdi_metadata as (
    select indicator_code, string_agg(source_note, ' ') as source_note
    from {{ ref('stg_worldbank_wdi_indicator_metadata') }}
    group by indicator_code
),

wdi as (
    select
        c.iso3,
        c.year,
        c.indicator_code,
        c.indicator_name,
        c.value,
        -- Unit from the metadata note or the indicator name: WDI names end in '(unit)'; WGI names end in ': Estimate'.
        case
            when
                m.source_note ilike '%ranging from approximately -2.5 to 2.5%'
                or c.indicator_name ilike '%: Estimate'
                then 'estimate (-2.5 to 2.5)'
            when c.indicator_name ilike '%: Percentile Rank%' then 'percentile rank (0 to 100)'
            when c.indicator_name ilike '%: Standard Error' then 'standard error (estimate units)'
            when c.indicator_name ilike '%: Number of Sources' then 'number of sources'
            when c.indicator_name = 'Population, total' then 'people'
            when regexp_matches(c.indicator_name, '\(([^()]+)\)\s*$')
                then regexp_extract(c.indicator_name, '\(([^()]+)\)\s*$', 1)
        end as unit,
        -- WGI codes are <dimension>.<statistic>; the files' own 'Data Source' label is not reliable (PV.EST says WDI).
        case
            when
                regexp_matches(
                    c.indicator_code, '^(CC|GE|PV|RQ|RL|VA)\.(EST|NO\.SRC|PER\.RNK(\.(LOWER|UPPER))?|STD\.ERR)$'
                )
                then 'World Bank WGI'
            else 'World Bank WDI'
        end as source,
        c.source_vintage
    from wdi_cells as c
    inner join wdi_release as r on c.indicator_code = r.indicator_code and c.source_file = r.source_file
    left join wdi_metadata as m on c.indicator_code = m.indicator_code
    where c.entity_kind = 'country' and c.in_universe and c.value is not null
),

-- SIPRI military expenditure as a share of GDP, under its own code. SIPRI stores a proportion; here it is
-- expressed in percent like the WDI series MS.MIL.XPND.GD.ZS, so the two can sit side by side.
sipri_milex_share as (
    select
        iso3,
        year,
        'SIPRI.MILEX.GDP.ZS' as indicator_code,
        'Military expenditure (% of GDP), SIPRI' as indicator_name,
        value * 100 as value,
        '% of GDP' as unit,
        'SIPRI Military Expenditure Database' as source,
        source_vintage
    from {{ ref('stg_sipri_milex') }}
    where measure = 'share_gdp' and entity_kind = 'country' and in_universe and value is not null
),

-- Other publishers' country-year indicators join here with the same eight columns.
all_indicators as (
    select iso3, year, indicator_code, indicator_name, value, unit, source, source_vintage from wdi
    union all
    select iso3, year, indicator_code, indicator_name, value, unit, source, source_vintage from sipri_milex_share
)

select
    cast(iso3 as varchar) as iso3,
    cast(year as integer) as year,
    cast(indicator_code as varchar) as indicator_code,
    cast(indicator_name as varchar) as indicator_name,
    cast(value as double) as value,
    cast(unit as varchar) as unit,
    cast(source as varchar) as source,
    cast(source_vintage as varchar) as source_vintage
from all_indicators
