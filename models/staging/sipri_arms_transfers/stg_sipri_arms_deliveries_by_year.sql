-- One row per deal x listed delivery year. The register gives one delivered TIV per deal and no per-year
-- split, so each listed year gets an equal share: tiv_delivered_mn / number of listed years.
-- Deals with no delivery year (nothing delivered yet) have no rows here.
with deals as (
    select * from {{ ref('stg_sipri_arms_register') }}
),

years as (
    select
        deal_id,
        unnest(delivery_years) as delivery_year,
        len(delivery_years) as n_delivery_years,
        tiv_delivered_mn
    from deals
    where len(delivery_years) > 0
),

allocated as (
    select
        years.deal_id,
        deals.recipient_iso3,
        deals.recipient_name,
        deals.recipient_entity_kind,
        deals.recipient_in_universe,
        deals.supplier_iso3,
        deals.supplier_name,
        deals.supplier_entity_kind,
        years.delivery_year,
        years.n_delivery_years,
        years.tiv_delivered_mn / years.n_delivery_years as tiv_delivered_allocated_mn,
        deals.source_vintage
    from years
    inner join deals on years.deal_id = deals.deal_id
)

select * from allocated
