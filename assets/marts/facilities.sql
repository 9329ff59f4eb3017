-- marts.facilities: the current stock, every in-scope EAJE active on 1 January of the latest year.
create or replace table marts.facilities as
with latest as (
    select max(annee) as annee from int.facility_territory_years
),
first_seen as (
    select siret, min(annee) as first_year from int.facility_territory_years group by 1
)
select
    f.siret,
    f.siren,
    f.nom,
    o.denomination,
    f.operator_class,
    f.sector,
    f.operator_rule,
    f.type_structure,
    f.scope_reason,
    f.date_creation,
    cast(fs.first_year as integer) as first_year,
    f.annee,
    f.code_commune,
    c.nom_commune,
    f.epci_siren,
    coalesce(nm.epci_nom, e.epci_nom) as epci_nom,
    f.code_departement,
    f.code_region,
    f.unjoined_reason,
    f.places,
    f.places_method
from int.facility_territory_years f
join latest l on l.annee = f.annee
join first_seen fs using (siret)
left join int.operator_years o on o.siren = f.siren and o.annee = f.annee
left join stg.communes c on c.annee = f.annee and c.code_commune = f.code_commune
left join stg.epci e on e.annee = f.annee and e.epci_siren = f.epci_siren
left join _epci_names nm on nm.annee = f.annee and nm.epci_siren = f.epci_siren
order by f.siret;
