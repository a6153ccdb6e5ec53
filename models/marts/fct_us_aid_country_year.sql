{{ config(
    contract={'enforced': true}
) }}
-- US foreign assistance per country, fiscal year, transaction type, aid category and publisher, in current and
-- constant USD. sum() over rows that are all NULL stays NULL: an unknown amount never becomes zero.
select
    cast(iso3 as varchar) as iso3,
    cast(fiscal_year as integer) as fiscal_year,
    cast(fiscal_period as varchar) as fiscal_period,
    cast(transaction_type as varchar) as transaction_type,
    cast(aid_category as varchar) as aid_category,
    cast(sum(current_amount_usd) as bigint) as amount_current_usd,
    cast(sum(constant_amount_usd) as bigint) as amount_constant_usd,
    cast(constant_usd_base_year as integer) as constant_usd_base_year,
    cast(source_vintage as varchar) as source_vintage,
    cast(source as varchar) as source,
    cast(bool_or(is_partial_period) as boolean) as is_partial_period
from {{ ref('int_us_aid_unioned') }}
group by
    iso3, fiscal_year, fiscal_period, transaction_type, aid_category, constant_usd_base_year, source_vintage, source
