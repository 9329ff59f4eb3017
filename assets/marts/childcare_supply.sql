-- marts.childcare_supply: CAF supply by EPCI (geography of 1 January of annee) next to our facility counts.
-- Parameters: $first_geo_year, $latest_year.
-- CAF year N describes December N and is shown on 1 January N + 1 (annee), on the geography of that day:
-- CAF commune codes are brought there with int.commune_code_map (CAF's own EPCI codes agree best with
-- the geography of N + 1). Only communes above 10,000 inhabitants are published: the CAF columns sum
-- the published communes and caf_population_coverage says how much of the EPCI they describe.
create or replace temp table _cs_caf as
select
    p.caf_annee,
    p.caf_annee + 1 as annee,
    coalesce(m.code_commune_annee, p.code_commune) as code_commune,
    p.places_psu, p.places_hors_psu, p.places_eaje,
    c.enfants_moins_3_ans
from stg.caf_places_commune p
left join stg.caf_coverage_commune c using (caf_annee, code_commune)
left join int.commune_code_map m on m.code_commune = p.code_commune and m.annee = p.caf_annee + 1;

create or replace table marts.childcare_supply as
with caf_years as (
    select distinct annee from _cs_caf
),
caf_epci as (
    select
        k.annee,
        mem.epci_siren,
        count(distinct k.code_commune) as n_communes_caf,
        sum(k.places_psu) as places_psu,
        sum(k.places_hors_psu) as places_hors_psu,
        sum(k.places_eaje) as places_eaje,
        -- children are derived (places / rate): fractional, summed exactly (fixed point, 18 decimals) in any order
        cast(sum(k.enfants_moins_3_ans::decimal(38, 18)) as double) as enfants,
        -- rates over the communes whose children are derivable only, numerator and denominator alike
        sum(k.places_eaje) filter (where k.enfants_moins_3_ans > 0) as places_eaje_d,
        sum(k.places_psu) filter (where k.enfants_moins_3_ans > 0) as places_psu_d,
        sum(k.places_hors_psu) filter (where k.enfants_moins_3_ans > 0) as places_hors_psu_d,
        cast(sum(k.enfants_moins_3_ans::decimal(38, 18)) filter (where k.enfants_moins_3_ans > 0) as double) as enfants_d
    from _cs_caf k
    join stg.epci_membership mem on mem.annee = k.annee and mem.code_commune = k.code_commune
    where mem.epci_siren is not null
    group by all
),
caf_communes as (
    select distinct annee, code_commune from _cs_caf
),
members as (
    select mem.annee, mem.epci_siren,
           count(*) as n_communes,
           sum(c.population) as population,
           sum(c.population) filter (where cc.code_commune is not null) as population_communes_caf
    from stg.epci_membership mem
    left join stg.communes c using (annee, code_commune)
    left join caf_communes cc using (annee, code_commune)
    where mem.epci_siren is not null
    group by all
),
ours as (
    select f.annee, f.epci_siren,
           count(*) as n_facilities,
           count(*) filter (where cc.code_commune is not null) as n_facilities_communes_caf,
           count(*) filter (where f.sector = 'lucratif') as n_facilities_lucratif
    from int.facility_territory_years f
    left join caf_communes cc using (annee, code_commune)
    where f.epci_siren is not null
    group by all
)
select
    cast(e.annee as integer) as annee,
    cast(e.annee - 1 as integer) as caf_annee,
    e.epci_siren,
    coalesce(nm.epci_nom, e.epci_nom) as epci_nom,
    case when y.annee is null then 'caf_year_missing'
         when k.epci_siren is null then 'no_commune_published'
         else 'published' end as caf_status,
    cast(m.n_communes as bigint) as n_communes,
    cast(case when y.annee is not null then coalesce(k.n_communes_caf, 0) end as bigint) as n_communes_caf,
    cast(m.population as double) as population,
    cast(case when y.annee is not null then coalesce(m.population_communes_caf, 0) end as double) as population_communes_caf,
    case when y.annee is not null and m.population > 0 then coalesce(m.population_communes_caf, 0) / m.population end as caf_population_coverage,
    k.places_psu,
    k.places_hors_psu,
    k.places_eaje,
    case when k.places_eaje > 0 then k.places_hors_psu / k.places_eaje end as share_places_hors_psu,
    k.enfants_d as enfants_moins_3_ans,
    case when k.enfants_d > 0 then 100 * k.places_eaje_d / k.enfants_d end as taux_couverture_eaje,
    case when k.enfants_d > 0 then 100 * k.places_psu_d / k.enfants_d end as taux_couverture_psu,
    case when k.enfants_d > 0 then 100 * k.places_hors_psu_d / k.enfants_d end as taux_couverture_hors_psu,
    cast(coalesce(o.n_facilities, 0) as bigint) as n_facilities,
    cast(case when y.annee is not null then coalesce(o.n_facilities_communes_caf, 0) end as bigint) as n_facilities_communes_caf,
    cast(coalesce(o.n_facilities_lucratif, 0) as bigint) as n_facilities_lucratif,
    case when o.n_facilities > 0 then o.n_facilities_lucratif / o.n_facilities end as share_facilities_lucratif
from stg.epci e
left join _epci_names nm on nm.annee = e.annee and nm.epci_siren = e.epci_siren
left join caf_years y on y.annee = e.annee
left join caf_epci k on k.annee = e.annee and k.epci_siren = e.epci_siren
left join members m on m.annee = e.annee and m.epci_siren = e.epci_siren
left join ours o on o.annee = e.annee and o.epci_siren = e.epci_siren
where e.annee between $first_geo_year and $latest_year
order by e.annee, e.epci_siren;
