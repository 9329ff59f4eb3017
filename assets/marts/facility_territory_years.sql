-- int.facility_territory_years: every in-scope facility-year placed in three geographies.
-- Parameters: $first_geo_year (first year of stg.epci_membership), $latest_year (its last year),
--             $merger_year (2017: fixed perimeters of the merger study).
-- Nothing is dropped: a row that cannot be placed keeps NULL territories and an unjoined_reason.

-- placed_in(target_year) and the _commune_territory view are defined in placed_in.sql (run first by build.py).

create or replace temp table _fty_year as
select
    f.siret,
    f.annee,
    t.code_departement,
    t.code_region,
    t.epci_siren,
    case
        when f.annee < $first_geo_year or f.annee > $latest_year then 'no_year_geography'
        when f.code_commune is null then 'commune_unknown'
        when t.code_commune is null then 'commune_not_in_cog'
        when not t.in_membership then 'commune_not_in_membership'
        when t.epci_siren is null then 'commune_outside_epci'
    end as unjoined_reason
from int.facility_years f
left join _commune_territory t on t.annee = f.annee and t.code_commune = f.code_commune;

-- CAF places of December (Y - 1) on the geography of 1 January Y, shared among the commune's in-scope
-- facilities of 1 January Y (SIRENE has no capacity; see docs/methodology.md (Marts)). A micro-crèche never
-- gets more than its legal maximum ($micro_cap_before_2022 places, $micro_cap_from_2022 from CAF year 2021,
-- decree n° 2021-1131 of 30 August 2021); the other facilities (no legal maximum) share the rest equally.
-- Places a cap leaves over (a commune whose facilities are all micro-crèches) stay unallocated:
-- _fty_places_unallocated keeps them per commune-year for the metadata, no facility gets them.
create or replace temp table _fty_alloc as
with caf as (
    select p.caf_annee + 1 as annee,
           coalesce(m.code_commune_annee, p.code_commune) as code_commune,
           sum(p.places_eaje) as places_eaje
    from stg.caf_places_commune p
    left join int.commune_code_map m on m.code_commune = p.code_commune and m.annee = p.caf_annee + 1
    group by all
),
n as (
    select annee, code_commune,
           count(*) as n_all,
           count(*) filter (where type_structure = 'micro_creche') as n_micro
    from int.facility_years
    where code_commune is not null
    group by all
)
select annee, code_commune, caf.places_eaje, n.n_all, n.n_micro,
       least(case when annee >= 2022 then $micro_cap_from_2022 else $micro_cap_before_2022 end,
             caf.places_eaje / n.n_all) as per_micro
from n join caf using (annee, code_commune);

create or replace temp table _fty_places_unallocated as
select annee, code_commune, places_eaje - n_micro * per_micro as places_unallocated
from _fty_alloc
where n_micro = n_all and places_eaje - n_micro * per_micro > 0;

create or replace temp table _fty_places as
select f.siret, f.annee,
       case when f.type_structure = 'micro_creche' then a.per_micro
            else (a.places_eaje - a.n_micro * a.per_micro) / (a.n_all - a.n_micro) end as places
from int.facility_years f
join _fty_alloc a using (annee, code_commune);

create or replace table int.facility_territory_years as
select
    f.siret,
    f.siren,
    cast(f.annee as integer) as annee,
    f.nom,
    f.type_structure,
    f.scope_reason,
    cast(f.date_creation as date) as date_creation,
    cast(f.date_fermeture as date) as date_fermeture,
    coalesce(o.operator_class, 'indetermine') as operator_class,
    coalesce(o.sector, 'indetermine') as sector,
    case when o.siren is null then 'unite_legale_absente' else o.rule end as operator_rule,
    f.code_commune_releve,
    f.code_commune,
    y.epci_siren,
    y.code_departement,
    y.code_region,
    y.unjoined_reason,
    p17.code_commune_p as code_commune_2017,
    p17.epci_siren_p as epci_siren_2017,
    p17.reason_p as unjoined_reason_2017,
    cast($latest_year as integer) as latest_year,
    pl.code_commune_p as code_commune_latest,
    pl.epci_siren_p as epci_siren_latest,
    pl.code_departement_p as code_departement_latest,
    pl.code_region_p as code_region_latest,
    pl.reason_p as unjoined_reason_latest,
    cast(pc.places as double) as places,
    case when pc.places is null then 'none' else 'estimated' end as places_method
from int.facility_years f
left join int.operator_years o on o.siren = f.siren and o.annee = f.annee
left join _fty_year y on y.siret = f.siret and y.annee = f.annee
left join placed_in($merger_year) p17 on p17.siret = f.siret and p17.annee = f.annee
left join placed_in($latest_year) pl on pl.siret = f.siret and pl.annee = f.annee
left join _fty_places pc on pc.siret = f.siret and pc.annee = f.annee
order by f.annee, f.siret;

drop table _fty_year;
drop table _fty_places;
drop table _fty_alloc;
