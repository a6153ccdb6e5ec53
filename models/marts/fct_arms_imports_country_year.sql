{{ config(
    contract={'enforced': true}
) }}
-- Arms imports of each universe country per year (SIPRI TIV import table) and the part supplied by the
-- United States (SIPRI trade register, each deal's delivered TIV split equally over its listed delivery years).
with tiv as (
    select iso3, year, tiv_mn, cell_status, source_vintage
    from {{ ref('stg_sipri_tiv_imports') }}
    where entity_kind = 'country' and in_universe
),

deliveries as (
    select * from {{ ref('stg_sipri_arms_deliveries_by_year') }}
),

from_us as (
    -- rounded: parallel float sums differ in the last bits between runs
    select recipient_iso3 as iso3, delivery_year as year, round(sum(tiv_delivered_allocated_mn), 9) as tiv_from_us_mn
    from deliveries
    where supplier_iso3 = 'USA' and recipient_entity_kind = 'country' and recipient_in_universe
    group by 1, 2
),

register as (
    -- The register lists every delivery up to its last delivery year: after that, US supplies are unknown.
    select max(delivery_year) as last_year, any_value(source_vintage) as source_vintage from deliveries
),

grid as (
    select iso3, year from tiv
    union
    select iso3, year from from_us
)

select
    cast(grid.iso3 as varchar) as iso3,
    cast(grid.year as integer) as year,
    cast(
        case
            when tiv.cell_status in ('reported', 'below_half_mn') then tiv.tiv_mn
            when tiv.cell_status = 'no_deliveries' then 0
        end as double
    ) as tiv_total_mn,
    cast(coalesce(tiv.cell_status, 'not_covered') as varchar) as tiv_total_status,
    cast(
        case
            when grid.iso3 = 'USA' then null
            when grid.year > register.last_year then null
            else coalesce(from_us.tiv_from_us_mn, 0)
        end as double
    ) as tiv_from_us_mn,
    cast(
        case
            when grid.iso3 = 'USA' or grid.year > register.last_year then null
            when tiv.cell_status in ('reported', 'below_half_mn') and tiv.tiv_mn > 0
                then coalesce(from_us.tiv_from_us_mn, 0) / tiv.tiv_mn
        end as double
    ) as us_share,
    cast(tiv.source_vintage as varchar) as tiv_source_vintage,
    cast(register.source_vintage as varchar) as register_source_vintage
from grid
left join tiv on grid.iso3 = tiv.iso3 and grid.year = tiv.year
left join from_us on grid.iso3 = from_us.iso3 and grid.year = from_us.year
cross join register
