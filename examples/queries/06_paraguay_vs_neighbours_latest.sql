-- Question: How does Paraguay compare with its neighbours (ARG, BRA, BOL) on every panel metric in the latest covered year?
with latest as (
    select metric, max(year) as year
    from marts.peer_comparison
    where iso3 = 'PRY' and peer_group = 'paraguay_neighbours'
    group by metric
)
select c.metric, c.year, c.value as paraguay, c.peer_median as neighbours_median, c.peer_countries_observed, c.difference_from_median
from marts.peer_comparison as c
join latest using (metric, year)
where c.iso3 = 'PRY' and c.peer_group = 'paraguay_neighbours'
order by c.metric;
