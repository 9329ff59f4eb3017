"""Blocking checks of the territory's int and marts tables (suites are plain lists: pytest runs the same ones)."""

import dagster as dg

from assets.common.identifiers import COMMUNE_RE, epci_siren
from assets.common.passage import METHODS
from assets.common.years import TERRITORY_YEARS as YEARS
from assets.territory.columns import CODE_MAP, POLYGONS
from assets.territory.mergers import EVENT_TYPES
from assets.territory.reconciliation import NATURES, OPERATIONS, STATUSES
from assets.territory.sql import KEYS
from observatory.quality import Columns, InSet, Matches, NotNull, Sql, Unique, table_check
from observatory.resources import sql_literal

CODE_MAP_SUITE = [
    Columns(CODE_MAP.types),
    Unique("code_commune", "annee"),
    Matches("code_commune", COMMUNE_RE),
    InSet("method", METHODS),
    Sql(
        "code_commune_annee is a commune of annee",
        "select m.code_commune, m.annee, m.code_commune_annee from {table} m "
        "anti join stg.communes c on c.annee = m.annee and c.code_commune = m.code_commune_annee",
    ),
    Sql("every code has every year", f"select code_commune, count(*) n from {{table}} group by 1 having n <> {len(YEARS)}"),
    Sql("every commune of every year is mapped", "select c.code_commune from stg.communes c anti join {table} m using (code_commune)"),
    Sql(
        "a code is itself in its reference year",
        "select * from {table} where annee = annee_reference and method <> 'arrondissement' and code_commune_annee <> code_commune",
    ),
    Sql(
        "estimated exactly for the estimated methods",
        "select * from {table} where estimated <> (method in (" + ", ".join(map(sql_literal, METHODS[5:])) + "))",
    ),
]

POLYGONS_SUITE = [
    Columns(POLYGONS.types),
    Unique("annee", "zone", "epci_siren"),
    epci_siren("epci_siren"),
    InSet("zone", ("metro", "971", "972", "973", "974", "976")),
    InSet("crs", (2154, 5490, 2972, 2975, 4471)),
    Sql("metropolitan polygons in Lambert-93, DROM in their UTM", "select * from {table} where (zone = 'metro') <> (crs = 2154)"),
    Sql(
        "every EPCI of a year with polygons has one",
        "select e.annee, e.epci_siren from stg.epci e "
        "where e.annee in (select annee from {table}) and e.epci_siren not in (select epci_siren from {table} p where p.annee = e.annee)",
    ),
    Sql("area is positive", "select * from {table} where not area_km2 > 0"),
]

MERGERS_SUITE = [
    Unique(*KEYS["marts.epci_mergers"]),
    InSet("type_evenement", EVENT_TYPES),
    epci_siren("epci_siren"),
    NotNull("epci_nom"),
    Sql(
        "a transformation changes the nature of one SIREN",
        "select * from {table} where type_evenement = 'transformation' "
        "and (epci_nature is not distinct from epci_nature_avant or predecessors <> [epci_siren])",
    ),
    Sql(
        "the predecessors of a fusion or identifier change are the EPCI it absorbed (marts.epci_lineage.absorbed)",
        "select m.annee, m.epci_siren, m.predecessors, l.absorbed from {table} m left join ("
        "select annee, epci_siren_apres, list(epci_siren_avant order by epci_siren_avant) absorbed from marts.epci_lineage where absorbed group by all"
        ") l on l.annee = m.annee and l.epci_siren_apres = m.epci_siren "
        "where m.type_evenement in ('fusion', 'changement_identifiant') and (l.absorbed is null or list_sort(m.predecessors) <> l.absorbed "
        "or m.n_predecessors <> len(l.absorbed))",
    ),
    Sql("a fusion has at least two predecessors", "select * from {table} where type_evenement = 'fusion' and len(predecessors) < 2"),
    Sql("events compare consecutive years 2016-2026", f"select * from {{table}} where annee not between {YEARS[1]} and {YEARS[-1]}"),
    Sql("n_communes = len(communes)", "select * from {table} where n_communes <> len(communes)"),
    Sql(
        "a fused, created or renamed EPCI exists in its year",
        "select m.annee, m.epci_siren from {table} m where type_evenement in ('fusion', 'creation', 'changement_identifiant') "
        "and not exists (select 1 from stg.epci e where e.annee = m.annee and e.epci_siren = m.epci_siren)",
    ),
    Sql(
        "predecessors existed the year before",
        "select m.annee, p.siren from {table} m, unnest(m.predecessors) p(siren) "
        "where not exists (select 1 from stg.epci e where e.annee = m.annee - 1 and e.epci_siren = p.siren)",
    ),
]

LINEAGE_SUITE = [
    Unique(*KEYS["marts.epci_lineage"]),
    Sql(
        "an EPCI is absorbed by at most one successor",
        "select annee, epci_siren_avant from {table} where absorbed group by all having count(*) > 1",
    ),
    Sql(
        "population shares of a predecessor sum to 1",
        "select annee, epci_siren_avant, sum(share_population_avant) s from {table} "
        "where epci_siren_avant is not null and share_population_avant is not null group by all having abs(s - 1) > 1e-9",
    ),
    Sql(
        "commune shares of a predecessor sum to 1",
        "select annee, epci_siren_avant, sum(share_communes_avant) s from {table} "
        "where epci_siren_avant is not null group by all having abs(s - 1) > 1e-9",
    ),
    Sql(
        "population shares of a successor sum to 1",
        "select annee, epci_siren_apres, sum(share_population_apres) s from {table} "
        "where epci_siren_apres is not null and share_population_apres is not null group by all having abs(s - 1) > 1e-9",
    ),
    Sql(
        "every EPCI of a year continues into the next",
        "select e.annee, e.epci_siren from stg.epci e where e.annee < (select max(annee) from stg.epci) "
        "and not exists (select 1 from {table} l where l.annee = e.annee + 1 and l.epci_siren_avant = e.epci_siren)",
    ),
]

COMMUNE_EPCI_SUITE = [
    Unique(*KEYS["marts.commune_epci"]),
    Sql(
        "no '?' left in an EPCI or commune name (a character lost by a source; assets/territory/names.py repairs EPCI names)",
        "select distinct annee, epci_siren, epci_nom, nom_commune from {table} where contains(epci_nom, '?') or contains(nom_commune, '?')",
    ),
    Matches("code_commune", COMMUNE_RE),
    epci_siren("epci_siren"),
    Sql("every mapped code has every year", f"select code_commune from {{table}} group by 1 having count(*) <> {len(YEARS)}"),
]


RECONCILIATION_SUITE = [
    Unique(*KEYS["marts.epci_mergers_reconciliation"]),
    InSet("kind", ("nature", "operation")),
    InSet("item", NATURES + OPERATIONS),
    InSet("status", STATUSES),
    Sql(
        "counts by nature and DGCL operation counts match the official figures, or differ exactly as documented",
        "select annee, kind, item, n_official, n_observed, n_compatible_min, n_compatible_max, documented_difference from {table} "
        "where status = 'different'",
    ),
    Sql(
        "every year 2015-2026 has its counts by nature",
        f"select y.annee from range({YEARS[0]}, {YEARS[-1] + 1}) y(annee) "
        "anti join (select annee from {table} where kind = 'nature') t using (annee)",
    ),
    Sql(
        "the 2017 wave is reconciled with BIS n°113 (fusion, dissolution, transformation, total)",
        "select * from (values ('fusion'), ('dissolution'), ('transformation'), ('total')) v(item) anti join {table} t "
        "on t.annee = 2017 and t.kind = 'operation' and t.item = v.item and t.n_official is not null",
    ),
]

RECONCILIATION_EPCI_SUITE = [
    Unique(*KEYS["marts.epci_mergers_reconciliation_epci"]),
    InSet("item", ("fusion", "dissolution", "transformation")),
    epci_siren("epci_siren"),
    Sql(
        "the listed EPCI make each operation count's range",
        "select r.annee, r.item from marts.epci_mergers_reconciliation r "
        "left join (select annee, item, count(*) filter (where certain) c, count(*) n from {table} group by all) d using (annee, item) "
        "where r.kind = 'operation' and r.item <> 'total' and (coalesce(d.c, 0) <> r.n_compatible_min or coalesce(d.n, 0) <> r.n_compatible_max)",
    ),
]


def all_checks() -> list[dg.AssetChecksDefinition]:
    return [
        table_check("int.commune_code_map", CODE_MAP_SUITE),
        table_check("int.epci_polygons", POLYGONS_SUITE),
        table_check("marts.epci_mergers", MERGERS_SUITE),
        table_check("marts.epci_lineage", LINEAGE_SUITE),
        table_check("marts.commune_epci", COMMUNE_EPCI_SUITE),
        table_check(
            "marts.epci_mergers_reconciliation",
            RECONCILIATION_SUITE,
            description=(
                "Counts by nature on 1 January 2015-2026 equal the official figures of assets/territory/reference/official_epci_counts.csv "
                "(or differ by exactly the documented, explained difference), and the DGCL's operation counts lie within the range the "
                "compositions are compatible with. Any other difference fails."
            ),
        ),
        table_check("marts.epci_mergers_reconciliation_epci", RECONCILIATION_EPCI_SUITE),
    ]
