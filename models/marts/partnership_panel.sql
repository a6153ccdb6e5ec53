{{ config(contract={'enforced': true}) }}
-- The partnership panel: one row per Latin American & Caribbean country per year, economic side, security side
-- and context. NULL means the source does not cover that country-year; a zero is a zero the source reports
-- (or, for aid and exercises, the absence of any record inside the source's coverage years: see each column).
with spine as (
    select * from {{ ref('int_panel_spine') }}
),

trade as (
    select iso3, year, us_exports_usd, us_imports_usd, total_trade_usd
    from {{ ref('fct_us_trade_country_year') }}
),

aid_coverage as (
    -- FA.gov reports every obligation it knows; inside its fiscal-year range a country with no row got none.
    select min(fiscal_year) as first_year, max(fiscal_year) as last_year
    from {{ ref('fct_us_aid_country_year') }}
    where aid_category = 'Total' and transaction_type = 'Obligations' and source = 'us_foreign_aid'
),

aid as (
    select
        iso3,
        fiscal_year as year,
        sum(amount_current_usd) filter (where aid_category = 'Total') as aid_current_usd,
        sum(amount_constant_usd) filter (where aid_category = 'Total') as aid_constant_usd,
        sum(amount_constant_usd) filter (where aid_category = 'Economic') as economic_aid_constant_usd,
        sum(amount_constant_usd) filter (where aid_category = 'Military') as military_aid_constant_usd,
        bool_or(aid_category in ('Economic', 'Military')) as aid_split_is_observed
    from {{ ref('fct_us_aid_country_year') }}
    where transaction_type = 'Obligations' and fiscal_period = 'FY' and source = 'us_foreign_aid'
    group by iso3, fiscal_year
),

arms as (
    select
        iso3,
        year,
        tiv_from_us_mn,
        tiv_total_mn,
        us_share,
        -- five-year window (t-4..t): smooths the register's equal-share allocation of deliveries over years
        sum(tiv_from_us_mn) over five_years as tiv_from_us_5y_mn,
        sum(tiv_total_mn) over five_years as tiv_total_5y_mn,
        count(tiv_total_mn) over five_years as covered_years_5y
    from {{ ref('fct_arms_imports_country_year') }}
    window five_years as (partition by iso3 order by year rows between 4 preceding and current row)
),

troops as (
    select iso3, year, personnel_total, active_duty
    from {{ ref('fct_us_troops_country_year') }}
),

exercises as (
    select iso3, year, exercises_total, exercises_with_us
    from {{ ref('fct_exercises_country_year') }}
),

sites as (
    select iso3, count(*) as us_sites
    from {{ ref('dim_us_sites') }}
    group by iso3
),

indicators as (
    select
        iso3,
        year,
        max(value) filter (where indicator_code = 'NY.GDP.MKTP.CD') as gdp_current_usd,
        max(value) filter (where indicator_code = 'SP.POP.TOTL') as population,
        max(value) filter (where indicator_code = 'VC.IHR.PSRC.P5') as homicide_rate,
        max(value) filter (where indicator_code = 'RL.EST') as rule_of_law,
        max(value) filter (where indicator_code = 'PV.EST') as political_stability,
        max(value) filter (where indicator_code = 'CC.EST') as control_of_corruption,
        max(value) filter (where indicator_code = 'SIPRI.MILEX.GDP.ZS') as milex_share_gdp_pct
    from {{ ref('fct_country_indicators') }}
    group by iso3, year
),

agreements as (
    select * from {{ ref('int_agreements_in_force') }}
),

joined as (
    select
        spine.iso3,
        spine.country_name,
        spine.year,

        ---------- economic side
        trade.us_exports_usd,
        trade.us_imports_usd,
        trade.total_trade_usd as us_total_trade_usd,
        100 * trade.total_trade_usd / nullif(indicators.gdp_current_usd, 0) as us_trade_pct_gdp,
        trade.iso3 is not null as us_trade_is_observed,
        case when aid_is_covered then coalesce(aid.aid_current_usd, 0) end as us_aid_obligations_current_usd,
        case when aid_is_covered then coalesce(aid.aid_constant_usd, 0) end as us_aid_obligations_constant_usd,
        case when aid_is_covered then coalesce(aid.aid_constant_usd, 0) / nullif(indicators.population, 0) end
            as us_aid_constant_usd_per_capita,
        aid_is_covered as us_aid_is_observed,
        aid.economic_aid_constant_usd,
        aid.military_aid_constant_usd,
        coalesce(aid.aid_split_is_observed, false) as aid_split_is_observed,

        ---------- security side
        arms.tiv_from_us_mn as us_arms_tiv_mn,
        arms.tiv_total_mn as arms_imports_tiv_mn,
        arms.us_share as us_share_arms_imports,
        case when arms.covered_years_5y = 5 then arms.tiv_from_us_5y_mn end as us_arms_tiv_5y_mn,
        case when arms.covered_years_5y = 5 then arms.tiv_from_us_5y_mn / nullif(arms.tiv_total_5y_mn, 0) end
            as us_share_arms_imports_5y,
        arms.tiv_total_mn is not null as arms_is_observed,
        troops.personnel_total as us_personnel_total,
        troops.active_duty as us_active_duty,
        troops.iso3 is not null as us_troops_is_observed,
        exercises.exercises_total,
        exercises.exercises_with_us,
        exercises.iso3 is not null as exercises_is_observed,
        coalesce(sites.us_sites, 0) as us_sites_2018,
        agreements.sofa_in_force,
        agreements.mnna_in_force,
        agreements.spp_in_force,
        agreements.mission_in_force,
        agreements.mutual_defense_in_force,
        agreements.sofa_in_force + agreements.mnna_in_force + agreements.spp_in_force
            + agreements.mission_in_force + agreements.mutual_defense_in_force as security_agreements_in_force,

        ---------- context
        indicators.gdp_current_usd,
        indicators.population,
        indicators.homicide_rate,
        indicators.rule_of_law,
        indicators.political_stability,
        indicators.control_of_corruption,
        indicators.milex_share_gdp_pct
    from (
        select spine.*, spine.year between aid_coverage.first_year and aid_coverage.last_year as aid_is_covered
        from spine cross join aid_coverage
    ) as spine
    left join trade on trade.iso3 = spine.iso3 and trade.year = spine.year
    left join aid on aid.iso3 = spine.iso3 and aid.year = spine.year
    left join arms on arms.iso3 = spine.iso3 and arms.year = spine.year
    left join troops on troops.iso3 = spine.iso3 and troops.year = spine.year
    left join exercises on exercises.iso3 = spine.iso3 and exercises.year = spine.year
    left join sites on sites.iso3 = spine.iso3
    left join indicators on indicators.iso3 = spine.iso3 and indicators.year = spine.year
    left join agreements on agreements.iso3 = spine.iso3 and agreements.year = spine.year
)

select
    cast(iso3 as varchar) as iso3,
    cast(country_name as varchar) as country_name,
    cast(year as integer) as year,
    cast(us_exports_usd as double) as us_exports_usd,
    cast(us_imports_usd as double) as us_imports_usd,
    cast(us_total_trade_usd as double) as us_total_trade_usd,
    cast(us_trade_pct_gdp as double) as us_trade_pct_gdp,
    cast(us_trade_is_observed as boolean) as us_trade_is_observed,
    cast(us_aid_obligations_current_usd as bigint) as us_aid_obligations_current_usd,
    cast(us_aid_obligations_constant_usd as bigint) as us_aid_obligations_constant_usd,
    cast(us_aid_constant_usd_per_capita as double) as us_aid_constant_usd_per_capita,
    cast(us_aid_is_observed as boolean) as us_aid_is_observed,
    cast(economic_aid_constant_usd as bigint) as economic_aid_constant_usd,
    cast(military_aid_constant_usd as bigint) as military_aid_constant_usd,
    cast(aid_split_is_observed as boolean) as aid_split_is_observed,
    cast(us_arms_tiv_mn as double) as us_arms_tiv_mn,
    cast(arms_imports_tiv_mn as double) as arms_imports_tiv_mn,
    cast(us_share_arms_imports as double) as us_share_arms_imports,
    cast(us_arms_tiv_5y_mn as double) as us_arms_tiv_5y_mn,
    cast(us_share_arms_imports_5y as double) as us_share_arms_imports_5y,
    cast(arms_is_observed as boolean) as arms_is_observed,
    cast(us_personnel_total as bigint) as us_personnel_total,
    cast(us_active_duty as bigint) as us_active_duty,
    cast(us_troops_is_observed as boolean) as us_troops_is_observed,
    cast(exercises_total as integer) as exercises_total,
    cast(exercises_with_us as integer) as exercises_with_us,
    cast(exercises_is_observed as boolean) as exercises_is_observed,
    cast(us_sites_2018 as integer) as us_sites_2018,
    cast(sofa_in_force as integer) as sofa_in_force,
    cast(mnna_in_force as integer) as mnna_in_force,
    cast(spp_in_force as integer) as spp_in_force,
    cast(mission_in_force as integer) as mission_in_force,
    cast(mutual_defense_in_force as integer) as mutual_defense_in_force,
    cast(security_agreements_in_force as integer) as security_agreements_in_force,
    cast(gdp_current_usd as double) as gdp_current_usd,
    cast(population as double) as population,
    cast(homicide_rate as double) as homicide_rate,
    cast(rule_of_law as double) as rule_of_law,
    cast(political_stability as double) as political_stability,
    cast(control_of_corruption as double) as control_of_corruption,
    cast(milex_share_gdp_pct as double) as milex_share_gdp_pct
from joined
