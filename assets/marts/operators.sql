-- marts.operators: one row per operator that ran an in-scope EAJE since 2010, classified as in the
-- last year it ran one, with its facilities and territories (latest perimeters) that year.
create or replace table marts.operators as
with f as (
    select * from int.facility_territory_years
),
latest as (
    select max(annee) as annee from f
),
spans as (
    select siren, min(annee) as first_year, max(annee) as last_year, count(distinct siret) as n_facilities_ever
    from f group by 1
),
last_year_facilities as (
    select f.siren,
           count(*) as n_facilities,
           count(distinct f.epci_siren_latest) as n_epci,
           count(distinct f.code_departement_latest) as n_departements,
           string_agg(distinct f.code_departement_latest, ', ' order by f.code_departement_latest) as departements
    from f join spans s on s.siren = f.siren and s.last_year = f.annee
    group by 1
)
select
    s.siren,
    o.denomination,
    coalesce(o.operator_class, 'indetermine') as operator_class,
    coalesce(o.sector, 'indetermine') as sector,
    coalesce(o.rule, 'unite_legale_absente') as rule,
    o.categorie_juridique,
    o.ess_flag,
    cast(s.last_year as integer) as classification_year,
    cast(s.first_year as integer) as first_year,
    cast(s.last_year as integer) as last_year,
    s.last_year = (select annee from latest) as is_active,
    cast(l.n_facilities as bigint) as n_facilities,
    cast(s.n_facilities_ever as bigint) as n_facilities_ever,
    cast(l.n_epci as bigint) as n_epci,
    cast(l.n_departements as bigint) as n_departements,
    l.departements
from spans s
join last_year_facilities l using (siren)
left join int.operator_years o on o.siren = s.siren and o.annee = s.last_year
order by s.siren;
