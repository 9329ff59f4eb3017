-- Any commune code seen 2015-2026 x each year -> the commune of that year's geography and its EPCI.
-- EPCI names: with the '?' a source left repaired (temp table _epci_names, assets/territory/names.py).
create or replace table marts.commune_epci as
select
    m.code_commune,
    m.annee,
    m.code_commune_annee,
    c.nom_commune,
    m.method,
    m.estimated,
    e.epci_siren,
    coalesce(n.epci_nom, e.epci_nom) as epci_nom,
    e.epci_nature
from int.commune_code_map m
join stg.communes c on c.annee = m.annee and c.code_commune = m.code_commune_annee
join stg.epci_membership e on e.annee = m.annee and e.code_commune = m.code_commune_annee
left join _epci_names n on n.annee = e.annee and n.epci_siren = e.epci_siren
order by m.code_commune, m.annee;
