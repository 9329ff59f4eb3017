-- marts.epci_indicators: one row per EPCI of the latest perimeters with its latest indicators, all on those perimeters
-- (attribute table of the map GeoParquet). Parameter: $latest_year. Table _geo_epci(epci_siren)
-- lists the EPCIs that have a polygon (prepared by build.py; empty if none was found).
create or replace table marts.epci_indicators as
with ms as (
    select * from marts.ess_market_share
    where geography = 'latest' and territory_level = 'epci' and territory_code not in ('hors_epci', 'non_localise')
),
last_year as (
    select max(annee) as annee from ms
),
sector as (
    select territory_code as epci_siren,
           any_value(territory_name) as epci_nom,
           any_value(geography_year) as geography_year,
           any_value(n_facilities_total) as n_facilities,
           max(share_facilities) filter (where category = 'public') as share_public,
           max(share_facilities) filter (where category = 'ess') as share_ess,
           max(share_facilities) filter (where category = 'lucratif') as share_lucratif,
           sum(share_facilities) filter (where category in ('autre_prive', 'indetermine')) as share_autre
    from ms
    where breakdown = 'sector' and annee = (select annee from last_year)
    group by 1
),
assoc as (
    select territory_code as epci_siren, n_facilities as n_associations
    from ms
    where breakdown = 'operator_class' and category = 'ess_association' and annee = (select annee from last_year)
),
lucratif_2015 as (
    select territory_code as epci_siren, share_facilities as share_lucratif_2015, n_facilities_total as n_facilities_2015
    from ms
    where breakdown = 'sector' and category = 'lucratif' and annee = 2015
),
-- CAF figures of the latest CAF year, on the latest perimeters (CAF communes brought to that geography)
caf_rows as (
    select p.caf_annee, mem.epci_siren, m.code_commune_annee as code_commune,
           p.places_eaje, p.places_hors_psu, c.enfants_moins_3_ans as enfants
    from stg.caf_places_commune p
    left join stg.caf_coverage_commune c using (caf_annee, code_commune)
    join int.commune_code_map m on m.code_commune = p.code_commune and m.annee = $latest_year
    join stg.epci_membership mem on mem.annee = $latest_year and mem.code_commune = m.code_commune_annee
    where p.caf_annee = (select max(caf_annee) from stg.caf_places_commune) and mem.epci_siren is not null
),
population as (
    select mem.epci_siren,
           sum(com.population) as population,
           sum(com.population) filter (where mem.code_commune in (select code_commune from caf_rows)) as population_caf
    from stg.epci_membership mem
    join stg.communes com using (annee, code_commune)
    where mem.annee = $latest_year and mem.epci_siren is not null
    group by 1
),
caf as (
    select k.epci_siren,
           any_value(k.caf_annee) as caf_annee,
           sum(k.places_eaje) as places_eaje_caf,
           case when sum(k.places_eaje) > 0 then sum(k.places_hors_psu) / sum(k.places_eaje) end as share_places_hors_psu,
           -- children are derived (places / rate): fractional, summed exactly (fixed point, 18 decimals) in any order
           case when sum(k.enfants) filter (where k.enfants > 0) > 0
                then 100 * sum(k.places_eaje) filter (where k.enfants > 0) / cast(sum(k.enfants::decimal(38, 18)) filter (where k.enfants > 0) as double) end
               as taux_couverture_eaje,
           case when any_value(p.population) > 0 then any_value(p.population_caf) / any_value(p.population) end as caf_population_coverage
    from caf_rows k
    left join population p using (epci_siren)
    group by 1
)
select
    s.epci_siren,
    s.epci_nom,
    cast(s.geography_year as integer) as geography_year,
    cast((select annee from last_year) as integer) as annee,
    cast(s.n_facilities as bigint) as n_facilities,
    s.share_public,
    s.share_ess,
    s.share_lucratif,
    s.share_autre,
    cast(a.n_associations as bigint) as n_associations,
    cast(l.n_facilities_2015 as bigint) as n_facilities_2015,
    l.share_lucratif_2015,
    s.share_lucratif - l.share_lucratif_2015 as change_share_lucratif_since_2015,
    cast(c.caf_annee as integer) as caf_annee,
    c.places_eaje_caf,
    c.share_places_hors_psu,
    c.taux_couverture_eaje,
    c.caf_population_coverage,
    g.epci_siren is not null as has_geometry
from sector s
left join assoc a using (epci_siren)
left join lucratif_2015 l using (epci_siren)
left join caf c using (epci_siren)
left join _geo_epci g using (epci_siren)
order by s.epci_siren;
