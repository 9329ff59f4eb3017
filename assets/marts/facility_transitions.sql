-- What became of each EAJE: every facility active (in scope) on 1 January y0, followed to 1 January y1.
-- Reads int.facility_territory_years (facility-years with their operator class and 2017 EPCI), the SIRENE succession
-- links (stg.sirene_successions) and the merger groups of the 2017 cohort (_mg_groups, from merger_groups.sql run for
-- 2017 just before). A successor is looked for when the facility is no longer active on 1 January y1, in this order:
--   method 'succession_link': a link from it (siret_predecessor) dated before 1 January y1 whose successor is an
--     in-scope EAJE active on 1 January y1; INSEE's declaration beats a guess from the name, so it wins over the fallback.
--     A link to a siret that is not such an EAJE (unknown, outside 88.91A, closed by y1) is ignored: the facility
--     keeps the fallback's outcome. A cycle (A->B, B->A) cannot pair two inactive establishments, since the
--     successor must be active on 1 January y1 and the origin must not be;
--   method 'fallback_name_commune': another establishment in the same commune (2017 geography) whose normalised
--     name is the same, opened between 92 days before and 183 days after the closure, active on 1 January y1;
--   method 'same_siret': the facility itself is still active; 'none': no successor found.
-- When several links (or several name candidates) match, the earliest (link date, then opening date) then the
-- smallest siret is kept, so each facility has one row per target year.
create or replace temp macro _norm_name(x) as
    trim(regexp_replace(strip_accents(lower(coalesce(x, ''))), '[^a-z0-9]+', ' ', 'g'));

create or replace temp macro facility_transitions(y0, y1) as table
with origin as (
    select siret, siren, nom, operator_class, sector, code_commune_2017, epci_siren_2017, date_fermeture
    from int.facility_territory_years
    where annee = y0
),
target as (
    select siret, siren, nom, operator_class, sector, code_commune_2017, date_creation
    from int.facility_territory_years
    where annee = y1
),
candidates as (
    select o.siret, t.siret as successor_siret, t.siren as successor_siren, t.operator_class as successor_operator_class,
           t.sector as successor_sector, t.date_creation as successor_date_creation,
           row_number() over (partition by o.siret order by t.date_creation, t.siret) as rk
    from origin o
    join target t
      on t.code_commune_2017 = o.code_commune_2017 and t.siret <> o.siret
     and _norm_name(t.nom) = _norm_name(o.nom) and _norm_name(o.nom) <> ''
     and o.date_fermeture is not null
     and t.date_creation between o.date_fermeture - interval 92 day and o.date_fermeture + interval 183 day
    where o.siret not in (select siret from target)
),
linked as (
    -- continuite_economique is reported, not filtered on: it is INSEE's view of the business's continuity, not of the
    -- crèche's, and a takeover by another operator (what this mart counts) may lack it; the successor being an
    -- in-scope EAJE active on 1 January y1 is what says the crèche carried on
    select o.siret, t.siret as successor_siret, t.siren as successor_siren, t.operator_class as successor_operator_class,
           t.sector as successor_sector, t.date_creation as successor_date_creation,
           l.date_lien, l.continuite_economique,
           row_number() over (partition by o.siret order by l.date_lien, t.date_creation, t.siret) as rk
    from origin o
    join stg.sirene_successions l on l.siret_predecessor = o.siret
    join target t on t.siret = l.siret_successor and t.siret <> o.siret
    where o.siret not in (select siret from target)
      and l.date_lien < make_date(y1::integer, 1, 1)
),
successor as (
    select * exclude (rk, priority) from (
        select *, 1 as priority, 'succession_link' as method from linked where rk = 1
        union all by name
        select *, 2 as priority, 'fallback_name_commune' as method from candidates where rk = 1
    )
    qualify row_number() over (partition by siret order by priority) = 1
)
select
    y0::integer as from_year,
    y1::integer as to_year,
    o.siret, o.siren, o.nom, o.operator_class as operator_class_from, o.sector as sector_from,
    o.epci_siren_2017, g.groupe as groupe_2017,
    case
        when s.siret is not null then 'still_open'
        when c.successor_siret is null and o.date_fermeture is null then 'left_scope'
        when c.successor_siret is null then 'closed'
        when c.successor_siren = o.siren then 'same_operator'
        when c.successor_sector = 'public' then 'public_takeover'
        when c.successor_sector = 'lucratif' then 'for_profit_takeover'
        when c.successor_sector = 'ess' then 'other_ess_takeover'
        else 'other_takeover'
    end as transition,
    case when s.siret is not null then 'same_siret' else coalesce(c.method, 'none') end as method,
    coalesce(s.siret, c.successor_siret) as successor_siret,
    coalesce(s.siren, c.successor_siren) as successor_siren,
    coalesce(s.operator_class, c.successor_operator_class) as successor_operator_class,
    o.date_fermeture,
    c.successor_date_creation,
    c.date_lien,
    c.continuite_economique
from origin o
left join target s on s.siret = o.siret
left join successor c on c.siret = o.siret
left join _mg_groups g on g.epci_siren = o.epci_siren_2017;

-- The published mart: from 1 January 2016 (the year before the 2017 fusions) to 2018, 2020 and the latest year
-- (a target after the latest year is brought back to it; union removes the duplicates).
create or replace table marts.facility_transitions as
select * from facility_transitions(2016, least(2018, $latest_year))
union select * from facility_transitions(2016, least(2020, $latest_year))
union select * from facility_transitions(2016, $latest_year)
order by from_year, to_year, siret;
