-- Macro shared by int.facility_territory_years and the merger study.
-- A facility's commune brought to the geography of target_year. The SIRENE stage already gives the
-- code in the year's geography (2015 geography before 2015); the code as recorded is the fallback
-- when that code is not in the passage table (an arrondissement, a code the map knows only as recorded).
create or replace temp macro placed_in(target_year) as table
select
    f.siret,
    f.annee,
    coalesce(m1.code_commune_annee, m2.code_commune_annee) as code_commune_p,
    com.code_departement as code_departement_p,
    com.code_region as code_region_p,
    mem.epci_siren as epci_siren_p,
    case
        when f.code_commune is null and f.code_commune_releve is null then 'commune_unknown'
        when coalesce(m1.code_commune_annee, m2.code_commune_annee) is null then 'code_not_in_passage_table'
        when com.code_commune is null then 'commune_not_in_cog'
        when mem.code_commune is null then 'commune_not_in_membership'
        when mem.epci_siren is null then 'commune_outside_epci'
    end as reason_p
from int.facility_years f
left join int.commune_code_map m1 on m1.code_commune = f.code_commune and m1.annee = target_year
left join int.commune_code_map m2 on m2.code_commune = f.code_commune_releve and m2.annee = target_year
left join stg.communes com
       on com.annee = target_year and com.code_commune = coalesce(m1.code_commune_annee, m2.code_commune_annee)
left join stg.epci_membership mem
       on mem.annee = target_year and mem.code_commune = coalesce(m1.code_commune_annee, m2.code_commune_annee);
