-- Any commune code seen 2015-2026 x each year -> the commune of that year's geography and its EPCI.
create or replace table marts.commune_epci as
select
    m.code_commune,
    m.annee,
    m.code_commune_annee,
    c.nom_commune,
    m.method,
    m.estimated,
    e.epci_siren,
    e.epci_nom,
    e.epci_nature
from int.commune_code_map m
join stg.communes c on c.annee = m.annee and c.code_commune = m.code_commune_annee
join stg.epci_membership e on e.annee = m.annee and e.code_commune = m.code_commune_annee
order by m.code_commune, m.annee;
