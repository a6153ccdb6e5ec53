-- Greenbook rows of universe countries with the security-sector class of their program line / account.
-- A classification row naming the account wins over the program line's '*' row. A line / account missing from
-- the classification stays NULL here, and the not_null test on the mart fails the build: no silent default.
with greenbook as (
    select
        iso3, source_region, source_country_name, entity_kind, in_universe,
        assistance_category, program_line, funding_agency, funding_account,
        fiscal_year, fiscal_period, fiscal_year_label,
        amount_current_usd, amount_constant_usd, constant_usd_base_year,
        source_row, source_file, source_vintage
    from {{ ref('stg_us_foreign_aid_greenbook') }}
    where entity_kind = 'country' and in_universe
),

classification as (
    select * from {{ ref('stg_aid_security_classification') }}
)

select
    greenbook.*,
    coalesce(by_account.is_security_sector, by_line.is_security_sector) as is_security_sector
from greenbook
left join classification as by_account
    on greenbook.program_line = by_account.program_line
    and greenbook.funding_account = by_account.funding_account
left join classification as by_line
    on greenbook.program_line = by_line.program_line
    and by_line.funding_account = '*'
