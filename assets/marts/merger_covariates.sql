-- Pre-period covariates of the merger study, one row per EPCI of _mg_groups, taken on 1 January $cohort
-- (the merger day, before any effect; the perimeters are those of $cohort, the study's fixed perimeters):
-- population (INSEE, stg.epci) and the region of most of its communes (ties: the smaller code).
-- A missing value stays NULL: estimate_panel leaves that EPCI out and says so in every row's note.
create or replace temp table _mg_covariates as
with regions as (
    select m.epci_siren, c.code_region, count(*) as n
    from stg.epci_membership m
    join stg.communes c on c.annee = m.annee and c.code_commune = m.code_commune
    where m.annee = $cohort and m.epci_siren is not null
    group by all
)
select g.epci_siren,
       e.population::double as population,
       (select first(r.code_region order by r.n desc, r.code_region) from regions r where r.epci_siren = g.epci_siren) as code_region
from _mg_groups g
left join stg.epci e on e.epci_siren = g.epci_siren and e.annee = $cohort;
