-- US Census Bureau goods trade per partner country and month, from its two paths into the warehouse:
-- the country workbook (census_trade_by_country: the bundled real file offline, country.xlsx live) and the
-- per-partner international trade API (census_intltrade: live only; its offline fixture is synthetic and never
-- read here). Where both give a month, the API's whole-dollar value wins over the workbook's rounded millions;
-- the workbook fills every other month. A month not yet published is absent, never zero.
with api as (
    select
        iso3,
        make_date(year, month, 1) as month_start,
        max(value_usd) filter (where flow = 'exports') as exports_usd,
        max(value_usd) filter (where flow = 'imports') as imports_usd,
        string_agg(distinct source_vintage, '; ') as source_vintage
    from {{ ref('stg_census_intltrade') }}
    where entity_kind = 'country' and in_universe and not is_synthetic
    group by iso3, year, month
),

workbook as (
    select iso3, month_start, exports_usd, imports_usd, source_vintage
    from {{ ref('stg_census_trade_by_country') }}
    where entity_kind = 'country' and in_universe
),

joined as (
    select
        coalesce(a.iso3, w.iso3) as iso3,
        coalesce(a.month_start, w.month_start) as month_start,
        coalesce(a.exports_usd, w.exports_usd) as exports_usd,
        coalesce(a.imports_usd, w.imports_usd) as imports_usd,
        (a.exports_usd is not null or a.imports_usd is not null) as uses_api,
        (
            (a.exports_usd is null and w.exports_usd is not null)
            or (a.imports_usd is null and w.imports_usd is not null)
        ) as uses_workbook,
        a.source_vintage as api_vintage,
        w.source_vintage as workbook_vintage
    from api as a
    full outer join workbook as w
        on a.iso3 = w.iso3 and a.month_start = w.month_start
)

select
    iso3,
    month_start,
    cast(year(month_start) as integer) as year,
    cast(month(month_start) as integer) as month,
    cast(exports_usd as double) as exports_usd,
    cast(imports_usd as double) as imports_usd,
    concat_ws(
        '; ',
        case when uses_api then api_vintage end,
        case when uses_workbook then workbook_vintage end
    ) as source_vintage
from joined
where exports_usd is not null or imports_usd is not null
