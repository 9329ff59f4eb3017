-- stg.caf_places_commune: CAF places by commune and year; Paris/Lyon/Marseille arrondissements summed
-- into their commune. Input: the normalized frame registered as caf_places_src, already restricted to
-- the CAF years of the run (load.py writes the result with observatory.partitions.replace_years).
select
    cast(caf_annee as integer) as caf_annee,
    code_commune,
    -- an arrondissement name without its suffix is the commune's name ("PARIS 3E ARRONDISSEMENT" -> "PARIS")
    min(case when code_commune = code_commune_publie then nom_commune
             else regexp_replace(nom_commune, '\s+[0-9]+\s*(ER|E|EME)?\s+ARRONDISSEMENT$', '', 'i') end) as nom_commune,
    min(epci_siren_caf) as epci_siren_caf,
    min(code_departement_caf) as code_departement_caf,
    sum(places_psu) as places_psu,
    sum(places_hors_psu) as places_hors_psu,
    sum(places_eaje) as places_eaje,
    sum(places_prescolarisation) as places_prescolarisation,
    sum(places_assistante_maternelle) as places_assistante_maternelle,
    sum(places_garde_domicile) as places_garde_domicile,
    sum(places_accueil_individuel) as places_accueil_individuel,
    sum(places_total) as places_total,
    cast(count(*) as integer) as n_units_published,
    min(source) as source
from caf_places_src
group by caf_annee, code_commune
