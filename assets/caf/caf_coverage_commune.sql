-- stg.caf_coverage_commune: CAF coverage rates (places per 100 children under 3) by commune and year,
-- with the number of children under 3 derived from places / rate x 100.
-- A commune published as one unit keeps its published rates. Paris/Lyon/Marseille are published by
-- arrondissement: their rates are recomputed from the summed places and summed derived children
-- (taux_recalcule = true), and only when every arrondissement's children could be derived.
-- Inputs caf_coverage_src and caf_places_src hold the CAF years of the run only (see load.py).
with units as (
    select
        c.caf_annee, c.code_commune, c.code_commune_publie, c.nom_commune,
        c.taux_psu, c.taux_hors_psu, c.taux_eaje, c.taux_prescolarisation, c.taux_assistante_maternelle,
        c.taux_garde_domicile, c.taux_accueil_individuel, c.taux_global, c.source,
        p.places_psu, p.places_hors_psu, p.places_eaje, p.places_prescolarisation, p.places_assistante_maternelle,
        p.places_garde_domicile, p.places_accueil_individuel, p.places_total,
        -- The global rate has the largest numerator, so the smallest relative rounding error (rates are
        -- published to 0.1); the EAJE rate is the fallback when the global one is 0 or missing.
        case
            when c.taux_global > 0 and p.places_total is not null then p.places_total / c.taux_global * 100
            when c.taux_eaje > 0 and p.places_eaje is not null then p.places_eaje / c.taux_eaje * 100
        end as enfants,
        case
            when c.taux_global > 0 and p.places_total is not null then 'places_total / taux_global'
            when c.taux_eaje > 0 and p.places_eaje is not null then 'places_eaje / taux_eaje'
        end as enfants_method
    from caf_coverage_src c
    left join caf_places_src p using (caf_annee, code_commune_publie)
),
agg as (
    select
        cast(caf_annee as integer) as caf_annee,
        code_commune,
        cast(count(*) as integer) as n_units_published,
        count(enfants) = count(*) as all_derived,
        min(case when code_commune = code_commune_publie then nom_commune
                 else regexp_replace(nom_commune, '\s+[0-9]+\s*(ER|E|EME)?\s+ARRONDISSEMENT$', '', 'i') end) as nom_commune,
        sum(enfants) as enfants,
        min(enfants_method) as enfants_method,
        sum(places_psu) as places_psu, sum(places_hors_psu) as places_hors_psu, sum(places_eaje) as places_eaje,
        sum(places_prescolarisation) as places_prescolarisation, sum(places_assistante_maternelle) as places_assistante_maternelle,
        sum(places_garde_domicile) as places_garde_domicile, sum(places_accueil_individuel) as places_accueil_individuel,
        sum(places_total) as places_total,
        any_value(taux_psu) as taux_psu, any_value(taux_hors_psu) as taux_hors_psu, any_value(taux_eaje) as taux_eaje,
        any_value(taux_prescolarisation) as taux_prescolarisation, any_value(taux_assistante_maternelle) as taux_assistante_maternelle,
        any_value(taux_garde_domicile) as taux_garde_domicile, any_value(taux_accueil_individuel) as taux_accueil_individuel,
        any_value(taux_global) as taux_global,
        min(source) as source
    from units
    group by caf_annee, code_commune
)
select
    caf_annee,
    code_commune,
    nom_commune,
    case when n_units_published = 1 then taux_psu when all_derived then round(100 * places_psu / enfants, 1) end as taux_psu,
    case when n_units_published = 1 then taux_hors_psu when all_derived then round(100 * places_hors_psu / enfants, 1) end as taux_hors_psu,
    case when n_units_published = 1 then taux_eaje when all_derived then round(100 * places_eaje / enfants, 1) end as taux_eaje,
    case when n_units_published = 1 then taux_prescolarisation when all_derived then round(100 * places_prescolarisation / enfants, 1) end as taux_prescolarisation,
    case when n_units_published = 1 then taux_assistante_maternelle when all_derived then round(100 * places_assistante_maternelle / enfants, 1) end as taux_assistante_maternelle,
    case when n_units_published = 1 then taux_garde_domicile when all_derived then round(100 * places_garde_domicile / enfants, 1) end as taux_garde_domicile,
    case when n_units_published = 1 then taux_accueil_individuel when all_derived then round(100 * places_accueil_individuel / enfants, 1) end as taux_accueil_individuel,
    case when n_units_published = 1 then taux_global when all_derived then round(100 * places_total / enfants, 1) end as taux_global,
    case when all_derived then enfants end as enfants_moins_3_ans,
    case when all_derived then enfants_method end as enfants_method,
    n_units_published > 1 as taux_recalcule,
    n_units_published,
    source
from agg
