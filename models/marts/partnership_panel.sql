{{ config(contract={'enforced': true}) }}
-- The partnership panel: one row per Latin American & Caribbean country per year, economic side, security side
-- and context. NULL means the source does not cover that country-year; a zero is a zero the source reports
-- (or, for aid and exercises, the absence of any record inside the source's coverage years: see each column).
with spine as (
    select * from {{ ref('int_panel_spine') }}
),

trade as (
    select iso3, year, us_exports_usd, us_imports_usd, total_trade_usd, months_covered, is_partial_period
    from {{ ref('fct_us_trade_country_year') }}
),

aid_coverage as (
    -- FA.gov reports every obligation it knows; inside its fiscal-year range a country with no row got none.
    select min(fiscal_year) as first_year, max(fiscal_year) as last_year
    from {{ ref('fct_us_aid_country_year') }}
    where aid_category = 'Total' and transaction_type = 'Obligations' and source = 'us_foreign_aid'
),

aid_partial_years as (
    -- the summary's incomplete last fiscal year is partial for every country, with or without a row
    select distinct fiscal_year as year
    from {{ ref('fct_us_aid_country_year') }}
    where source = 'us_foreign_aid' and aid_category = 'Total' and is_partial_period
),

greenbook_coverage as (
    -- The Greenbook reports every obligation too: inside its fiscal years a country with no row got none.
    select min(fiscal_year) as first_year, max(fiscal_year) as last_year
    from {{ ref('fct_us_aid_country_year') }}
    where source = 'us_foreign_aid_greenbook' and transaction_type = 'Obligations'
),

greenbook as (
    -- The publisher's Economic / Military split and the security-sector aggregate (program lines classified in
    -- data/reference/aid_security_classification.csv), constant USD of the Greenbook's base year.
    select
        iso3,
        fiscal_year as year,
        sum(amount_constant_usd) filter (where aid_category in ('Economic', 'Military')) as total_constant_usd,
        sum(amount_constant_usd) filter (where aid_category = 'Economic') as economic_constant_usd,
        sum(amount_constant_usd) filter (where aid_category = 'Military') as military_constant_usd,
        sum(amount_constant_usd) filter (where aid_category = 'security_sector') as security_constant_usd
    from {{ ref('fct_us_aid_country_year') }}
    where source = 'us_foreign_aid_greenbook' and transaction_type = 'Obligations' and fiscal_period = 'FY'
    group by iso3, fiscal_year
),

training_coverage as (
    -- The FMTR lists every country whose forces the US trained: inside its years an absent country had none.
    select min(fiscal_year) as first_year, max(fiscal_year) as last_year
    from {{ ref('fct_us_training_country_year') }}
),

training as (
    select iso3, fiscal_year as year, sum(trainees) as trainees
    from {{ ref('fct_us_training_country_year') }}
    group by iso3, fiscal_year
),

trade_agreements as (
    -- preferential trade agreements in force for at least part of the year (DESTA, CAFTA dates corrected)
    select spine.iso3, spine.year, count(t.iso3) as fta_in_force
    from {{ ref('int_panel_spine') }} as spine
    left join {{ ref('fct_trade_agreements') }} as t
        on spine.iso3 = t.iso3 and t.ever_in_force and spine.year >= t.in_force_year
    group by spine.iso3, spine.year
),

aid as (
    select
        iso3,
        fiscal_year as year,
        sum(amount_current_usd) filter (where aid_category = 'Total') as aid_current_usd,
        sum(amount_constant_usd) filter (where aid_category = 'Total') as aid_constant_usd,
        bool_or(is_partial_period) filter (where aid_category = 'Total') as aid_is_partial_period
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

indicators_real as (
    select iso3, year, value as gdp_real
    from {{ ref('fct_country_indicators') }}
    where indicator_code = 'NY.GDP.MKTP.KD' and value is not null
),

agreements as (
    select * from {{ ref('int_agreements_in_force') }}
),

size_base as (
    select
        spine.iso3,
        spine.year,
        ind.gdp_current_usd,
        ind.population,
        max(case when ind.gdp_current_usd is not null then spine.year end) over carried as last_gdp_year,
        max(case when ind.population is not null then spine.year end) over carried as last_population_year,
        max(case when real.gdp_real is not null then spine.year end) over carried as last_real_year
    from {{ ref('int_panel_spine') }} as spine
    left join indicators as ind on spine.iso3 = ind.iso3 and spine.year = ind.year
    left join indicators_real as real on spine.iso3 = real.iso3 and spine.year = real.year
    window carried as (partition by spine.iso3 order by spine.year rows between unbounded preceding and current row)
),

size as (
    -- GDP and population for ratios: the published value, else carried past the last published year by at most
    -- var('size_carry_forward_years'); GDP moves with the published real GDP index (NY.GDP.MKTP.KD) where it
    -- runs further, population is held. Ratios to size then do not drop out with the World Bank's publication lag.
    select
        b.iso3,
        b.year,
        coalesce(b.gdp_current_usd, case
            when b.year - b.last_gdp_year <= {{ var('size_carry_forward_years') }}
                then
                    last_gdp.gdp_current_usd * case
                        when b.last_real_year > b.last_gdp_year
                            then real_now.gdp_real / nullif(real_then.gdp_real, 0)
                        else 1
                    end
        end) as gdp_for_ratios_usd,
        coalesce(b.population, case
            when b.year - b.last_population_year <= {{ var('size_carry_forward_years') }}
                then last_pop.population
        end) as population_for_ratios
    from size_base as b
    left join indicators as last_gdp on b.iso3 = last_gdp.iso3 and b.last_gdp_year = last_gdp.year
    left join indicators as last_pop on b.iso3 = last_pop.iso3 and b.last_population_year = last_pop.year
    left join indicators_real as real_then on b.iso3 = real_then.iso3 and b.last_gdp_year = real_then.year
    left join indicators_real as real_now on b.iso3 = real_now.iso3 and b.last_real_year = real_now.year
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
        100 * trade.total_trade_usd / nullif(size.gdp_for_ratios_usd, 0) as us_trade_pct_gdp,
        trade.iso3 is not null as us_trade_is_observed,
        trade.months_covered as us_trade_months_covered,
        coalesce(trade.is_partial_period, false) as us_trade_is_partial_period,
        least(trade_agreements.fta_in_force, 1) as fta_in_force,
        case when spine.aid_is_covered then coalesce(aid.aid_current_usd, 0) end as us_aid_obligations_current_usd,
        case when spine.aid_is_covered then coalesce(aid.aid_constant_usd, 0) end as us_aid_obligations_constant_usd,
        case
            when spine.aid_is_covered then coalesce(aid.aid_constant_usd, 0) / nullif(size.population_for_ratios, 0)
        end as us_aid_constant_usd_per_capita,
        spine.aid_is_covered as us_aid_is_observed,
        spine.aid_is_covered and spine.year in (select aid_partial_years.year from aid_partial_years)
            as us_aid_is_partial_period,
        case when spine.greenbook_is_covered then coalesce(greenbook.economic_constant_usd, 0) end
            as economic_aid_constant_usd,
        case when spine.greenbook_is_covered then coalesce(greenbook.military_constant_usd, 0) end
            as military_aid_constant_usd,
        spine.greenbook_is_covered as aid_split_is_observed,
        case when spine.greenbook_is_covered then coalesce(greenbook.security_constant_usd, 0) end
            as security_sector_aid_constant_usd,
        case
            when spine.greenbook_is_covered
                then coalesce(greenbook.total_constant_usd, 0) - coalesce(greenbook.security_constant_usd, 0)
        end as non_security_aid_constant_usd,
        (
            case when spine.greenbook_is_covered then coalesce(greenbook.security_constant_usd, 0) end
            / nullif(size.population_for_ratios, 0)
        ) as security_sector_aid_per_capita,
        (
            case
                when spine.greenbook_is_covered
                    then coalesce(greenbook.total_constant_usd, 0) - coalesce(greenbook.security_constant_usd, 0)
            end
            / nullif(size.population_for_ratios, 0)
        ) as non_security_aid_per_capita,
        greenbook.security_constant_usd / nullif(greenbook.total_constant_usd, 0) as security_share_of_aid,

        ---------- security side
        case when spine.training_is_covered then coalesce(training.trainees, 0) end as us_trainees,
        (
            case when spine.training_is_covered then 1e5 * coalesce(training.trainees, 0) end
            / nullif(size.population_for_ratios, 0)
        ) as us_trainees_per_100k,
        spine.training_is_covered as training_is_observed,
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
        agreements.presence_agreements_in_force,
        agreements.framework_agreements_in_force,
        agreements.cooperation_agreements_in_force,
        agreements.security_agreements_in_force,
        agreements.agreement_intensity,

        ---------- context
        indicators.gdp_current_usd,
        indicators.population,
        size.gdp_for_ratios_usd,
        size.population_for_ratios,
        indicators.gdp_current_usd is null and size.gdp_for_ratios_usd is not null as gdp_is_estimated,
        indicators.population is null and size.population_for_ratios is not null as population_is_estimated,
        indicators.homicide_rate,
        indicators.rule_of_law,
        indicators.political_stability,
        indicators.control_of_corruption,
        indicators.milex_share_gdp_pct
    from (
        select
            spine.*,
            spine.year between aid_coverage.first_year and aid_coverage.last_year as aid_is_covered,
            spine.year between greenbook_coverage.first_year and greenbook_coverage.last_year as greenbook_is_covered,
            spine.year between training_coverage.first_year and training_coverage.last_year as training_is_covered
        from spine cross join aid_coverage cross join greenbook_coverage cross join training_coverage
    ) as spine
    left join trade on spine.iso3 = trade.iso3 and spine.year = trade.year
    left join aid on spine.iso3 = aid.iso3 and spine.year = aid.year
    left join arms on spine.iso3 = arms.iso3 and spine.year = arms.year
    left join troops on spine.iso3 = troops.iso3 and spine.year = troops.year
    left join exercises on spine.iso3 = exercises.iso3 and spine.year = exercises.year
    left join sites on spine.iso3 = sites.iso3
    left join indicators on spine.iso3 = indicators.iso3 and spine.year = indicators.year
    left join agreements on spine.iso3 = agreements.iso3 and spine.year = agreements.year
    left join size on spine.iso3 = size.iso3 and spine.year = size.year
    left join greenbook on spine.iso3 = greenbook.iso3 and spine.year = greenbook.year
    left join training on spine.iso3 = training.iso3 and spine.year = training.year
    left join trade_agreements on spine.iso3 = trade_agreements.iso3 and spine.year = trade_agreements.year
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
    cast(us_trade_months_covered as integer) as us_trade_months_covered,
    cast(us_trade_is_partial_period as boolean) as us_trade_is_partial_period,
    cast(fta_in_force as integer) as fta_in_force,
    cast(us_aid_obligations_current_usd as bigint) as us_aid_obligations_current_usd,
    cast(us_aid_obligations_constant_usd as bigint) as us_aid_obligations_constant_usd,
    cast(us_aid_constant_usd_per_capita as double) as us_aid_constant_usd_per_capita,
    cast(us_aid_is_observed as boolean) as us_aid_is_observed,
    cast(us_aid_is_partial_period as boolean) as us_aid_is_partial_period,
    cast(economic_aid_constant_usd as bigint) as economic_aid_constant_usd,
    cast(military_aid_constant_usd as bigint) as military_aid_constant_usd,
    cast(aid_split_is_observed as boolean) as aid_split_is_observed,
    cast(security_sector_aid_constant_usd as bigint) as security_sector_aid_constant_usd,
    cast(non_security_aid_constant_usd as bigint) as non_security_aid_constant_usd,
    cast(security_sector_aid_per_capita as double) as security_sector_aid_per_capita,
    cast(non_security_aid_per_capita as double) as non_security_aid_per_capita,
    cast(security_share_of_aid as double) as security_share_of_aid,
    cast(us_trainees as bigint) as us_trainees,
    cast(us_trainees_per_100k as double) as us_trainees_per_100k,
    cast(training_is_observed as boolean) as training_is_observed,
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
    cast(presence_agreements_in_force as integer) as presence_agreements_in_force,
    cast(framework_agreements_in_force as integer) as framework_agreements_in_force,
    cast(cooperation_agreements_in_force as integer) as cooperation_agreements_in_force,
    cast(security_agreements_in_force as integer) as security_agreements_in_force,
    cast(agreement_intensity as double) as agreement_intensity,
    cast(gdp_current_usd as double) as gdp_current_usd,
    cast(population as double) as population,
    cast(gdp_for_ratios_usd as double) as gdp_for_ratios_usd,
    cast(population_for_ratios as double) as population_for_ratios,
    cast(gdp_is_estimated as boolean) as gdp_is_estimated,
    cast(population_is_estimated as boolean) as population_is_estimated,
    cast(homicide_rate as double) as homicide_rate,
    cast(rule_of_law as double) as rule_of_law,
    cast(political_stability as double) as political_stability,
    cast(control_of_corruption as double) as control_of_corruption,
    cast(milex_share_gdp_pct as double) as milex_share_gdp_pct,
    cast(us_trade_is_partial_period or coalesce(us_aid_is_partial_period, false) as boolean) as is_partial_period
from joined
