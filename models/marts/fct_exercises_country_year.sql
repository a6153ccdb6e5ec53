{{ config(
    contract={'enforced': true}
) }}
-- Multinational military exercises per universe country and start year (MME v7).
-- MME lists every exercise its coders found in the years it covers, so inside coverage a country-year
-- with none is a true zero; after the last covered year nothing is known and no row is written.
with exercises as (
    select mmeid, start_year from {{ ref('stg_mme_exercises') }}
),

participants as (
    select mmeid, iso3, entity_kind, in_universe from {{ ref('stg_mme_exercise_participants') }}
),

coverage as (
    -- Derived from the file itself: a shorter extract (this one ends in 2010) must not be zero-filled to 2016.
    select min(start_year) as first_year, max(start_year) as last_year from exercises
),

with_us as (
    select distinct mmeid from participants
    where iso3 = 'USA'
),

country_exercises as (
    -- distinct: a state listed twice in one exercise (other spelling or repeated cell) counts once.
    select distinct p.iso3, e.start_year as year, p.mmeid, u.mmeid is not null as includes_us
    from participants as p
    inner join exercises as e on p.mmeid = e.mmeid
    left join with_us as u on p.mmeid = u.mmeid
    where p.entity_kind = 'country' and p.in_universe
),

counts as (
    select iso3, year, count(*) as exercises_total, count(*) filter (where includes_us) as exercises_with_us
    from country_exercises
    group by iso3, year
),

covered_years as (
    select unnest(generate_series(first_year, last_year)) as year from coverage
),

spine as (
    select d.iso3, y.year, c.last_year
    from {{ ref('dim_country') }} as d
    cross join coverage as c
    cross join covered_years as y
)

select
    cast(s.iso3 as varchar) as iso3,
    cast(s.year as integer) as year,
    cast(coalesce(n.exercises_total, 0) as integer) as exercises_total,
    cast(coalesce(n.exercises_with_us, 0) as integer) as exercises_with_us,
    cast(s.last_year as integer) as coverage_ends_year
from spine as s
left join counts as n on s.iso3 = n.iso3 and s.year = n.year
