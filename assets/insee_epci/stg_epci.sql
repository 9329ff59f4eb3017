-- stg.epci: EPCI per year from the membership, for the years $years of the run (written by
-- observatory.partitions.replace_years); population only when every member commune's is known.
select
    m.annee,
    m.epci_siren,
    min(m.epci_nom) as epci_nom,
    min(m.epci_nature) as epci_nature,
    count(*) as n_communes,
    case when count(c.population) = count(*) then sum(c.population)::bigint end as population,
    m.epci_siren <> $lyon as epci_a_fiscalite_propre
from stg.epci_membership m
join stg.communes c using (annee, code_commune)
where m.epci_siren is not null and list_contains($years, m.annee)
group by m.annee, m.epci_siren
order by m.annee, m.epci_siren
