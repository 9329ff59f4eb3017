-- Balanced panel of the merger study: every EPCI of _mg_groups x every year $first_year..$last_year,
-- facilities placed on the fixed perimeters of 1 January $cohort (placed_in macro).
create or replace temp table _mg_panel as
with placed as (
    select f.annee, p.epci_siren_p as epci_siren, f.operator_class, f.sector, f.places
    from int.facility_territory_years f
    join placed_in($cohort) p on p.siret = f.siret and p.annee = f.annee
    where f.annee between $first_year and $last_year and p.epci_siren_p is not null
)
select
    g.epci_siren,
    y.annee::integer as annee,
    count(p.annee) filter (where p.operator_class = 'ess_association') as n_associations,
    count(p.annee) as n_facilities,
    count(p.annee) filter (where p.sector = 'ess') as n_ess,
    -- estimated places are fractional: summed exactly (fixed point, 18 decimals), whatever order the threads add them in
    cast(sum(p.places::decimal(38, 18)) filter (where p.operator_class = 'ess_association') as double) as places_associations_raw,
    count(p.places) as n_with_places,
    count(p.places) filter (where p.operator_class = 'ess_association') as n_associations_with_places
from _mg_groups g
cross join range($first_year, $last_year + 1) y(annee)
left join placed p on p.epci_siren = g.epci_siren and p.annee = y.annee
group by all;
