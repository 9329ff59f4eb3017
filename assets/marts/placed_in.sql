-- The one facility -> commune -> EPCI join, shared by int.facility_territory_years and the merger study.
-- _commune_territory: a commune of a year with its département, région and EPCI (in_membership: it has a
-- membership row; epci_siren NULL: outside any EPCI). The blocking checks make (annee, code_commune) unique
-- in both tables and every membership row a commune of the year.
create or replace temp view _commune_territory as
select c.annee, c.code_commune, c.code_departement, c.code_region,
       m.code_commune is not null as in_membership, m.epci_siren
from stg.communes c
left join stg.epci_membership m on m.annee = c.annee and m.code_commune = c.code_commune;

-- A facility's commune brought to the geography of target_year. The SIRENE stage already gives the
-- code in the year's geography (2015 geography before 2015); the code as recorded is the fallback
-- when that code is not in the passage table (an arrondissement, a code the map knows only as recorded).
create or replace temp macro placed_in(target_year) as table
select
    f.siret,
    f.annee,
    coalesce(m1.code_commune_annee, m2.code_commune_annee) as code_commune_p,
    t.code_departement as code_departement_p,
    t.code_region as code_region_p,
    t.epci_siren as epci_siren_p,
    case
        when f.code_commune is null and f.code_commune_releve is null then 'commune_unknown'
        when coalesce(m1.code_commune_annee, m2.code_commune_annee) is null then 'code_not_in_passage_table'
        when t.code_commune is null then 'commune_not_in_cog'
        when not t.in_membership then 'commune_not_in_membership'
        when t.epci_siren is null then 'commune_outside_epci'
    end as reason_p
from int.facility_years f
left join int.commune_code_map m1 on m1.code_commune = f.code_commune and m1.annee = target_year
left join int.commune_code_map m2 on m2.code_commune = f.code_commune_releve and m2.annee = target_year
left join _commune_territory t
       on t.annee = target_year and t.code_commune = coalesce(m1.code_commune_annee, m2.code_commune_annee);
