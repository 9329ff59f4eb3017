-- marts.ess_market_share: shares of sectors and operator classes among EAJE by territory and year.
-- Parameters: $first_geo_year, $latest_year. Table _categories(breakdown, category) is prepared by build.py.
-- Two geographies: 'year' (territories of 1 January of annee, years of the territorial reference) and
-- 'latest' (the latest perimeters, every facility year). The grid holds every territory of the reference
-- and every category, so a category absent from a territory has 0 facilities and share 0, and a
-- territory without any facility has NULL shares (undefined, not zero). Parameters $small_count (5) and
-- $unknown_tolerance (0.01): see build.py.
create or replace temp table _ms_facts as
with placed as (
    select 'year' as geography, annee as geography_year, annee, sector, operator_class, places,
           epci_siren, code_departement, code_region
    from int.facility_territory_years
    where annee between $first_geo_year and $latest_year
    union all
    select 'latest', latest_year, annee, sector, operator_class, places,
           epci_siren_latest, code_departement_latest, code_region_latest
    from int.facility_territory_years
),
-- Every facility is counted at every level: a facility in a commune outside any EPCI that year is in the
-- EPCI level's 'hors_epci' row, one that cannot be placed at all in the 'non_localise' row of each level,
-- so the rows of each level add up to France.
levels as (
    select *, 'epci' as territory_level,
           case when epci_siren is not null then epci_siren
                when code_departement is not null then 'hors_epci' else 'non_localise' end as territory_code
    from placed
    union all select *, 'departement', coalesce(code_departement, 'non_localise') from placed
    union all select *, 'region', coalesce(code_region, 'non_localise') from placed
    union all select *, 'france', 'FR' from placed
)
select geography, geography_year, annee, territory_level, territory_code, 'sector' as breakdown, sector as category, places from levels
union all
select geography, geography_year, annee, territory_level, territory_code, 'operator_class', operator_class, places from levels;

create or replace temp table _ms_territories as
with names_dep as (
    select code_departement, arg_max(nom_departement, annee) as nom
    from stg.drees_offre_departement group by 1
),
regions(code_region, nom) as (values
    ('01', 'Guadeloupe'), ('02', 'Martinique'), ('03', 'Guyane'), ('04', 'La Réunion'), ('06', 'Mayotte'),
    ('11', 'Île-de-France'), ('24', 'Centre-Val de Loire'), ('27', 'Bourgogne-Franche-Comté'), ('28', 'Normandie'),
    ('32', 'Hauts-de-France'), ('44', 'Grand Est'), ('52', 'Pays de la Loire'), ('53', 'Bretagne'),
    ('75', 'Nouvelle-Aquitaine'), ('76', 'Occitanie'), ('84', 'Auvergne-Rhône-Alpes'), ('93', 'Provence-Alpes-Côte d''Azur'),
    ('94', 'Corse')
),
-- the régions of 1 January 2015 (COG 2015), before the 2016 reform
regions_2015(code_region, nom) as (values
    ('01', 'Guadeloupe'), ('02', 'Martinique'), ('03', 'Guyane'), ('04', 'La Réunion'), ('06', 'Mayotte'),
    ('11', 'Île-de-France'), ('21', 'Champagne-Ardenne'), ('22', 'Picardie'), ('23', 'Haute-Normandie'),
    ('24', 'Centre-Val de Loire'), ('25', 'Basse-Normandie'), ('26', 'Bourgogne'), ('31', 'Nord-Pas-de-Calais'),
    ('41', 'Lorraine'), ('42', 'Alsace'), ('43', 'Franche-Comté'), ('52', 'Pays de la Loire'), ('53', 'Bretagne'),
    ('54', 'Poitou-Charentes'), ('72', 'Aquitaine'), ('73', 'Midi-Pyrénées'), ('74', 'Limousin'), ('82', 'Rhône-Alpes'),
    ('83', 'Auvergne'), ('91', 'Languedoc-Roussillon'), ('93', 'Provence-Alpes-Côte d''Azur'), ('94', 'Corse')
),
-- départements the DREES tables do not cover (COG name)
dep_names_cog(code_departement, nom) as (values ('976', 'Mayotte'))
-- EPCI names with the '?' a source left repaired (_epci_names: assets/territory/names.py, prepared by build.py)
select e.annee as geography_year, 'epci' as territory_level, e.epci_siren as territory_code, coalesce(n.epci_nom, e.epci_nom) as territory_name
from stg.epci e left join _epci_names n using (annee, epci_siren)
union all
select distinct c.annee, 'departement', c.code_departement, coalesce(d.nom, k.nom)
from stg.communes c left join names_dep d using (code_departement) left join dep_names_cog k using (code_departement)
union all
-- région names of the year's COG: the 2016 régions from 2016, the former régions in 2015
select distinct c.annee, 'region', c.code_region, coalesce(case when c.annee >= 2016 then r.nom else r15.nom end, r.nom, r15.nom)
from stg.communes c left join regions r using (code_region) left join regions_2015 r15 using (code_region)
union all
select distinct annee, 'france', 'FR', 'France' from stg.communes
union all
select distinct annee, 'epci', 'hors_epci', 'Communes hors EPCI' from stg.communes
union all
-- facilities that cannot be placed: a row only in the geographies that have some
select distinct f.geography_year, f.territory_level, 'non_localise', 'Non localisé'
from _ms_facts f where f.territory_code = 'non_localise';

create or replace temp table _ms_years as
select distinct 'year' as geography, annee as geography_year, annee
from int.facility_territory_years where annee between $first_geo_year and $latest_year
union all
select distinct 'latest', $latest_year, annee from int.facility_territory_years;

create or replace table marts.ess_market_share as
with counts as (
    select geography, geography_year, annee, territory_level, territory_code, breakdown, category,
           -- estimated places are fractional: summed exactly (fixed point, 18 decimals), whatever order the threads add them in
           count(*) as n_facilities, cast(sum(places::decimal(38, 18)) as double) as places, count(places) as n_with_places
    from _ms_facts group by all
),
grid as (
    select y.geography, y.geography_year, y.annee, t.territory_level, t.territory_code, t.territory_name, c.breakdown, c.category
    from _ms_years y
    join _ms_territories t on t.geography_year = y.geography_year
    cross join _categories c
),
filled as (
    select g.*,
           coalesce(k.n_facilities, 0) as n_facilities,
           k.places as places_known,
           coalesce(k.n_with_places, 0) as n_with_places
    from grid g
    left join counts k using (geography, geography_year, annee, territory_level, territory_code, breakdown, category)
),
totals as (
    select *,
           sum(n_facilities) over w as n_facilities_total,
           cast(sum(places_known::decimal(38, 18)) over w as double) as places_sum,
           sum(n_with_places) over w as n_with_places_total,
           -- facilities of the categories none of whose places is known
           sum(case when n_with_places = 0 then n_facilities else 0 end) over w as n_facilities_category_unknown
    from filled
    window w as (partition by geography, geography_year, annee, territory_level, territory_code, breakdown)
)
select
    geography,
    cast(geography_year as integer) as geography_year,
    cast(annee as integer) as annee,
    territory_level,
    territory_code,
    territory_name,
    breakdown,
    category,
    cast(n_facilities as bigint) as n_facilities,
    cast(n_facilities_total as bigint) as n_facilities_total,
    case when n_facilities_total > 0 then n_facilities / n_facilities_total end as share_facilities,
    n_facilities_total < $small_count as small_count,
    -- 0 only when the category has no facility; NULL (unknown) when it has some and none with known places
    case when n_facilities = 0 then 0.0 when n_with_places > 0 then places_known end as places,
    case when n_facilities > 0 then 1.0 * n_with_places / n_facilities end as places_coverage,
    places_sum as places_total,
    -- NULL when a category with facilities has no known places, unless those facilities are a negligible
    -- part of the territory's (under $unknown_tolerance of them: 3 'indetermine' facilities must not blank France)
    case when places_sum > 0
          and n_facilities_category_unknown <= $unknown_tolerance * n_facilities_total
          and (n_facilities = 0 or n_with_places > 0)
         then coalesce(places_known, 0) / places_sum end as share_places,
    case when n_with_places_total > 0 then 'estimated' else 'none' end as places_method,
    case when n_facilities_total > 0 then 1.0 * n_with_places_total / n_facilities_total end as places_coverage_total,
    case when n_facilities_total = 0 then 'no_facility'
         when n_with_places_total = 0 then 'none'
         when n_with_places_total = n_facilities_total then 'all_facilities'
         else 'communes_published_by_caf' end as places_scope
from totals
order by geography, annee, territory_level, territory_code, breakdown, category;

drop table _ms_facts;
drop table _ms_territories;
drop table _ms_years;
