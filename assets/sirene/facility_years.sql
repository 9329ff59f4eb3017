-- One candidate row per establishment and 1 January when it was active (A) and either had activity
-- 88.91A or an own name (enseigne 1 or usual name) that says EAJE, with what the scope rule reads
-- (assets/sirene/classification.py, eaje_scope, applied in facility_years.py: the rule is not written
-- here) and its commune brought to the geography of that year. Only `etranger` is decided here.
-- Parameters: $first_year, $last_year, $geo_first, $geo_last (years covered by int.commune_code_map),
-- $naf, $re_eaje and the $re_type_* patterns (see facility_years.py).
create or replace temp table _facility_candidates as
with years as (
    select unnest(range($first_year, $last_year + 1))::integer as annee
),
-- The period in force on 1 January (latest start on or before the date; a null start = since ever).
in_force as (
    select p.*, y.annee
    from stg.sirene_etablissement_periodes p
    join years y
      on coalesce(p.date_debut, date '0001-01-01') <= make_date(y.annee, 1, 1)
     and (p.date_fin is null or p.date_fin >= make_date(y.annee, 1, 1))
    qualify row_number() over (partition by p.siret, y.annee order by p.date_debut desc nulls last) = 1
),
-- A code of another nomenclature is no NAF rév. 2 code: the rule sees it as "no code" (never 88.91A).
active as (
    select * replace (case when nomenclature_activite is null or nomenclature_activite = 'NAFRev2'
                           then activite_principale end as activite_principale)
    from in_force
    where etat_administratif = 'A'
),
-- Closure = start of the first closed (F) period after the last active one.
closures as (
    select siret, min(date_debut) filter (where etat_administratif = 'F' and date_debut > coalesce(last_active, date '0001-01-01')) as date_fermeture
    from (
        select siret, etat_administratif, date_debut,
               max(date_debut) filter (where etat_administratif = 'A') over (partition by siret) as last_active
        from stg.sirene_etablissement_periodes
    )
    group by siret
),
named as (
    select
        a.siret,
        a.siren,
        a.annee,
        e.code_commune as code_commune_releve,
        e.code_pays_etranger,
        least(greatest(a.annee, $geo_first), $geo_last)::integer as geography_year,
        coalesce(a.enseigne1, a.denomination_usuelle, o.denomination, e.enseigne1, e.denomination_usuelle) as nom,
        e.date_creation,
        coalesce(c.date_fermeture, case when e.etat_administratif = 'F' then e.date_debut end) as date_fermeture,
        o.categorie_juridique,
        o.denomination as denomination_unite_legale,
        a.activite_principale,
        coalesce(a.enseigne1, e.enseigne1) as enseigne1,
        coalesce(a.denomination_usuelle, e.denomination_usuelle) as denomination_usuelle,
        trim(regexp_replace(strip_accents(upper(concat_ws(' ',
            a.enseigne1, a.enseigne2, a.enseigne3, a.denomination_usuelle, o.denomination,
            e.enseigne1, e.denomination_usuelle))), '[^A-Z0-9&]+', ' ', 'g')) as nom_normalise
    from active a
    left join stg.sirene_etablissements e using (siret)
    left join int.operator_years o on o.siren = a.siren and o.annee = a.annee
    left join closures c using (siret)
)
select
    n.siret,
    n.siren,
    n.annee,
    n.code_commune_releve,
    m.code_commune_annee as code_commune,
    case
        when n.code_commune_releve is null then 'commune_non_renseignee'
        when m.code_commune_annee is null then 'absent_du_referentiel'
        else m.method
    end as code_commune_method,
    m.estimated as code_commune_estimated,
    n.geography_year,
    n.nom,
    n.date_creation,
    n.date_fermeture,
    case
        when regexp_matches(n.nom_normalise, $re_type_micro) then 'micro_creche'
        when regexp_matches(n.nom_normalise, $re_type_parentale) then 'creche_parentale'
        when regexp_matches(n.nom_normalise, $re_type_familiale) then 'creche_familiale'
        when regexp_matches(n.nom_normalise, $re_type_halte) then 'halte_garderie'
        when regexp_matches(n.nom_normalise, $re_type_jardin) then 'jardin_enfants'
        when regexp_matches(n.nom_normalise, $re_type_multi) then 'multi_accueil'
        when regexp_matches(n.nom_normalise, $re_type_creche) then 'creche_collective'
        else 'non_determine'
    end as type_structure,
    n.code_commune_releve is null and n.code_pays_etranger is not null as etranger,
    n.activite_principale,
    n.categorie_juridique,
    n.denomination_unite_legale,
    n.enseigne1,
    n.denomination_usuelle
from named n
left join int.commune_code_map m
  on m.code_commune = n.code_commune_releve and m.annee = n.geography_year
-- the rule's prefilter (as in the extraction): every row it could take in, and no row it could only
-- file as sans_nom_eaje / operateur_hors_champ for want of an EAJE name
where n.activite_principale = $naf or regexp_matches({own_name}, $re_eaje)
