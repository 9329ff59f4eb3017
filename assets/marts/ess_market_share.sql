-- marts.ess_market_share: shares of sectors and operator classes among EAJE by territory and year.
-- Parameters: $first_geo_year, $latest_year. Table _categories(breakdown, category) is prepared by build.py.
-- Two geographies: 'year' (territories of 1 January of annee, years of the territorial reference) and
-- 'latest' (the latest perimeters, every facility year). The grid holds every territory of the reference
-- and every category, so a category absent from a territory has 0 facilities and share 0, and a
-- territory without any facility has NULL shares (undefined, not zero).
create or replace temp table _ms_facts as
with placed as (
    select 'year' as geography, annee as geography_year, annee, sector, operator_class, places,
           epci_siren, code_departement, code_region
    from int.facility_territory_years
    where code_departement is not null and annee between $first_geo_year and $latest_year
    union all
    select 'latest', latest_year, annee, sector, operator_class, places,
           epci_siren_latest, code_departement_latest, code_region_latest
    from int.facility_territory_years
    where code_departement_latest is not null
),
levels as (
    select *, 'epci' as territory_level, epci_siren as territory_code from placed where epci_siren is not null
    union all select *, 'departement', code_departement from placed
    union all select *, 'region', code_region from placed
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
)
select annee as geography_year, 'epci' as territory_level, epci_siren as territory_code, epci_nom as territory_name
from stg.epci
union all
select distinct c.annee, 'departement', c.code_departement, d.nom
from stg.communes c left join names_dep d using (code_departement)
union all
-- région codes of 2016 onwards; the 2015 codes of the former régions keep a NULL name
select distinct c.annee, 'region', c.code_region, case when c.annee >= 2016 then r.nom end
from stg.communes c left join regions r using (code_region)
union all
select distinct annee, 'france', 'FR', 'France' from stg.communes;

create or replace temp table _ms_years as
select distinct 'year' as geography, annee as geography_year, annee
from int.facility_territory_years where annee between $first_geo_year and $latest_year
union all
select distinct 'latest', $latest_year, annee from int.facility_territory_years;

create or replace table marts.ess_market_share as
with counts as (
    select geography, geography_year, annee, territory_level, territory_code, breakdown, category,
           count(*) as n_facilities, sum(places) as places, count(places) as n_with_places
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
           coalesce(k.places, 0) as places_raw,
           coalesce(k.n_with_places, 0) as n_with_places
    from grid g
    left join counts k using (geography, geography_year, annee, territory_level, territory_code, breakdown, category)
),
totals as (
    select *,
           sum(n_facilities) over w as n_facilities_total,
           sum(places_raw) over w as places_sum,
           sum(n_with_places) over w as n_with_places_total
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
    case when n_with_places_total > 0 then places_raw end as places,
    case when n_with_places_total > 0 then places_sum end as places_total,
    case when places_sum > 0 then places_raw / places_sum end as share_places,
    case when n_with_places_total > 0 then 'estimated' else 'none' end as places_method,
    case when n_facilities_total > 0 then n_with_places_total / n_facilities_total end as places_coverage
from totals
order by geography, annee, territory_level, territory_code, breakdown, category;

drop table _ms_facts;
drop table _ms_territories;
drop table _ms_years;
