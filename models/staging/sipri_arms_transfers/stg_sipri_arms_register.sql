with source as (
    select * from {{ source('sipri_arms_transfers', 'sipri_arms_register') }}
),

renamed as (
    select
        ---------- ids (deal_id = data-record number in the register file: stable within one file only)
        source_row as deal_id,
        recipient_iso3,
        recipient_name,
        recipient_entity_kind,
        recipient_in_universe,
        recipient_host_iso3,
        supplier_iso3,
        supplier_name,
        supplier_entity_kind,
        supplier_in_universe,
        ---------- attributes
        weapon_designation,
        weapon_description,
        status,
        comments,
        ---------- periods and counts (`?` flags become booleans: true = SIPRI marks the value uncertain)
        order_year,
        coalesce(order_year_flag = '?', false) as order_year_uncertain,
        number_ordered,
        coalesce(number_ordered_flag = '?', false) as number_ordered_uncertain,
        number_delivered,
        coalesce(number_delivered_flag = '?', false) as number_delivered_uncertain,
        -- '2018; 2019' -> [2018, 2019]; no delivery yet -> empty list (the contract ties this to number_delivered = 0)
        coalesce(
            cast(string_split(delivery_years, '; ') as integer[]),
            cast([] as integer[])
        ) as delivery_years,
        ---------- numerics (millions of SIPRI TIV; NULL = not available)
        tiv_per_unit_mn,
        tiv_order_mn,
        tiv_delivered_mn,
        ---------- provenance
        data_generated,
        _source_file as source_file,
        _source_vintage as source_vintage
    from source
)

select * from renamed
