-- Groups of the merger study for one cohort: every EPCI of 1 January $cohort with its group.
-- Parameters: $cohort (merger year), $base_year (= $cohort - 1).
-- treated  = formed by fusion on 1 January $cohort (marts.epci_mergers, type_evenement 'fusion');
-- control  = same perimeter as one EPCI of $base_year (communes compared on the $cohort geography, so a
--            commune merger inside an EPCI is not a perimeter change), and never part of a later fusion
--            (on the fixed $cohort perimeters a later fusion would treat a control);
-- excluded = any other perimeter change (extension, transfer, split, creation...), with the reason.
create or replace temp table _mg_groups as
with prev as (
    select distinct mp.epci_siren as epci_prev, coalesce(m.code_commune_annee, mp.code_commune) as code_commune
    from stg.epci_membership mp
    left join int.commune_code_map m on m.code_commune = mp.code_commune and m.annee = $cohort
    where mp.annee = $base_year and mp.epci_siren is not null
),
prev_size as (
    select epci_prev, count(distinct code_commune) as n_communes_prev from prev group by 1
),
cur as (
    select epci_siren, epci_nom, code_commune
    from stg.epci_membership
    where annee = $cohort and epci_siren is not null
),
compared as (
    select c.epci_siren,
           any_value(c.epci_nom) as epci_nom,
           count(distinct c.code_commune) as n_communes,
           count(distinct p.epci_prev) as n_sources,
           count(distinct c.code_commune) filter (where p.epci_prev is null) as n_from_no_epci,
           min(p.epci_prev) as some_prev
    from cur c
    left join prev p using (code_commune)
    group by 1
),
events as (
    select epci_siren,
           bool_or(type_evenement = 'fusion') as is_fusion,
           string_agg(distinct type_evenement, '+' order by type_evenement) as types
    from marts.epci_mergers
    where annee = $cohort
    group by 1
),
later_fusion as (
    select distinct c.epci_siren
    from cur c
    join int.commune_code_map map on map.code_commune = c.code_commune and map.annee > $cohort
    join (select annee, unnest(communes) as code_commune from marts.epci_mergers
          where type_evenement = 'fusion' and annee > $cohort) lf
      on lf.annee = map.annee and lf.code_commune = map.code_commune_annee
)
select
    k.epci_siren,
    k.epci_nom,
    -- one predecessor count everywhere: the EPCI it absorbed (marts.epci_lineage, as marts.epci_mergers)
    cast(coalesce(lin.n_absorbed, 0) as integer) as n_predecessors,
    case
        when e.is_fusion then 'traite'
        when unchanged and lf.epci_siren is null then 'controle'
        else 'exclu'
    end as groupe,
    case
        when e.is_fusion then null
        when unchanged and lf.epci_siren is not null then 'fusion_ulterieure'
        when unchanged then null
        when e.types is not null then e.types
        else 'perimetre_modifie'
    end as exclusion_reason
from (
    select c.*,
           c.n_sources = 1 and c.n_from_no_epci = 0 and ps.n_communes_prev = c.n_communes as unchanged
    from compared c
    left join prev_size ps on ps.epci_prev = c.some_prev
) k
left join events e using (epci_siren)
left join later_fusion lf using (epci_siren)
left join (select epci_siren_apres as epci_siren, count(*) as n_absorbed from marts.epci_lineage
           where annee = $cohort and absorbed group by 1) lin using (epci_siren);
