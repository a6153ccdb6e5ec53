{{ config(
    contract={'enforced': true}
) }}
-- One row per SIPRI deal whose recipient is a universe country, or a non-state actor / organisation of the
-- region (host country in the universe, or no host country named, e.g. Regional Security System**).
select
    cast(deal_id as integer) as deal_id,
    cast(recipient_iso3 as varchar) as recipient_iso3,
    cast(recipient_name as varchar) as recipient_name,
    cast(recipient_entity_kind as varchar) as recipient_entity_kind,
    cast(recipient_host_iso3 as varchar) as recipient_host_iso3,
    cast(supplier_iso3 as varchar) as supplier_iso3,
    cast(supplier_name as varchar) as supplier_name,
    cast(supplier_entity_kind as varchar) as supplier_entity_kind,
    cast(order_year as integer) as order_year,
    cast(order_year_uncertain as boolean) as order_year_uncertain,
    cast(number_ordered as integer) as number_ordered,
    cast(number_ordered_uncertain as boolean) as number_ordered_uncertain,
    cast(number_delivered as integer) as number_delivered,
    cast(number_delivered_uncertain as boolean) as number_delivered_uncertain,
    cast(delivery_years as integer[]) as delivery_years,
    cast(weapon_designation as varchar) as weapon_designation,
    cast(weapon_description as varchar) as weapon_description,
    cast(status as varchar) as status,
    cast(comments as varchar) as comments,
    cast(tiv_per_unit_mn as double) as tiv_per_unit_mn,
    cast(tiv_order_mn as double) as tiv_order_mn,
    cast(tiv_delivered_mn as double) as tiv_delivered_mn,
    cast(source_vintage as varchar) as source_vintage
from {{ ref('stg_sipri_arms_register') }}
where
    (recipient_entity_kind = 'country' and recipient_in_universe)
    or (
        recipient_entity_kind in ('non_state', 'organisation')
        and (
            recipient_host_iso3 is null
            or recipient_host_iso3 in (select countries.iso3 from {{ ref('dim_country') }} as countries)
        )
    )
