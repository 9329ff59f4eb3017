"""Blocking checks of the territory tables (suites are plain lists: pytest runs the same ones)."""

import dagster as dg

from assets.territory.inputs import METROPOLE_DE_LYON, YEARS
from assets.territory.mergers import EVENT_TYPES
from assets.territory.passage import METHODS
from assets.territory.reconciliation import NATURES, OPERATIONS, STATUSES
from assets.territory.sql import KEYS
from observatory.quality import (
    Between, COMMUNE_RE, DEPARTEMENT_RE, SIREN_RE, Columns, InSet, Matches, NotNull, Sql, Unique, table_check,
)

#: Number of EPCI à fiscalité propre on 1 January (DGCL / INSEE). Every source lists the Métropole de
#: Lyon with the EPCI; it is a collectivité à statut particulier and is not counted: the tables carry
#: it with ``epci_a_fiscalite_propre = false`` and the check expects official + 1 rows in total.
OFFICIAL_EPCI_COUNT = {
    # 2015: no count was given with the brief. 2,133 is what two independent official files give once
    # the Métropole de Lyon is set aside: the DGCL epcicom 2015 (2,134 SIREN) and the INSEE 2015 table.
    2015: 2133,
    2016: 2062, 2017: 1266, 2018: 1263, 2019: 1258, 2020: 1254, 2021: 1253,
    2022: 1254, 2023: 1254, 2024: 1254, 2025: 1254,
    # 2026: no published count was available to us; the only source (Etalab 6.0.0) lists the same 1,254
    # EPCI as in 2025. This row pins that assumption: a different 2026 list fails the check.
    2026: 1254,
}
LYON_EXPLANATION = (
    f"The Métropole de Lyon ({METROPOLE_DE_LYON}) is listed with the EPCI by INSEE, DGCL and Etalab but is a "
    "collectivité territoriale à statut particulier, not an EPCI à fiscalité propre: the official counts leave it out, "
    "so each year holds exactly official + 1 EPCI rows, the extra one being Lyon (epci_a_fiscalite_propre = false)."
)

#: The four single-commune islands, exempted from the obligation to join an EPCI (loi RCT of 16 December 2010).
ISLANDS = {"22016": "Île-de-Bréhat", "29083": "Île-de-Sein", "29155": "Ouessant", "85113": "L'Île-d'Yeu"}

#: Other communes outside any EPCI on 1 January, as published by INSEE and DGCL. Rules by
#: département where the reason is collective, single codes otherwise; anything else fails.
KNOWN_OUTSIDE = {
    2015: {
        "departements": {
            "75": "Paris, before the Métropole du Grand Paris (1 January 2016)",
            "92": "petite couronne communes in no EPCI before the Métropole du Grand Paris (2016)",
            "93": "petite couronne communes in no EPCI before the Métropole du Grand Paris (2016)",
            "94": "petite couronne communes in no EPCI before the Métropole du Grand Paris (2016)",
            "976": "Mayotte: its EPCI start on 1 January 2016",
        },
        "codes": {
            "54095": "isolated commune (joined an EPCI in 2017)", "54372": "isolated commune (2017)",
            "54469": "isolated commune (2017)", "54577": "isolated commune (2017)",
            "71085": "isolated commune (2017)", "71443": "isolated commune (2017)",
            "72137": "commune nouvelle Villeneuve-en-Perseigne, not yet attached",
            "74281": "Thonon-les-Bains, isolated until Thonon Agglomération (2017)",
            "78640": "Vélizy-Villacoublay, isolated (joined Versailles Grand Parc in 2016)",
        },
    },
    2016: {
        "departements": {},
        "codes": {
            **{c: "isolated commune (joined an EPCI in 2017)" for c in ("54095", "54372", "54469", "54577", "71085", "71443")},
            "72137": "commune nouvelle Villeneuve-en-Perseigne, not yet attached",
            "74281": "Thonon-les-Bains, isolated until Thonon Agglomération (2017)",
            **{c: "commune nouvelle of 1 January 2016, not yet attached to an EPCI" for c in (
                "12021", "12270", "14061", "14726", "14762", "22046", "25424", "45191", "46311", "49018", "49307",
                "50129", "65192", "76618", "89086")},
        },
    },
    2017: {"departements": {}, "codes": {"49307": "commune nouvelle Loire-Authion, attached to Angers Loire Métropole in 2018"}},
}


def known_outside_values() -> str:
    """``(annee, code_commune, departement)`` rows of the allowed exceptions, as a SQL VALUES list."""
    rows = [f"({y}, '{c}', NULL)" for y in YEARS for c in ISLANDS]
    for y, rules in KNOWN_OUTSIDE.items():
        rows += [f"({y}, '{c}', NULL)" for c in rules["codes"]]
        rows += [f"({y}, NULL, '{d}')" for d in rules["departements"]]
    return ", ".join(rows)


def _expected_counts() -> str:
    return ", ".join(f"({y}, {n})" for y, n in OFFICIAL_EPCI_COUNT.items())


COMMUNES_SUITE = [
    Columns({"annee": "INTEGER", "code_commune": "VARCHAR", "nom_commune": "VARCHAR", "code_departement": "VARCHAR",
             "code_region": "VARCHAR", "population": "BIGINT", "source": "VARCHAR"}),
    Unique("annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    Matches("code_departement", DEPARTEMENT_RE),
    NotNull("nom_commune"),
    NotNull("code_region"),
    InSet("annee", tuple(YEARS)),
    Sql("every year 2015-2026 has communes", f"select y.annee from range({YEARS[0]}, {YEARS[-1] + 1}) y(annee) "
        "anti join {table} t on t.annee = y.annee"),
]

MEMBERSHIP_SUITE = [
    Columns({"annee": "INTEGER", "code_commune": "VARCHAR", "epci_siren": "VARCHAR", "epci_nom": "VARCHAR",
             "epci_nature": "VARCHAR", "source": "VARCHAR"}),
    Unique("annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    Matches("epci_siren", SIREN_RE),
    InSet("epci_nature", ("CC", "CA", "CU", "ME", "SA", "MET69")),
    Sql("every commune of the year's COG has a membership row", "select c.annee, c.code_commune from stg.communes c anti join {table} m using (annee, code_commune)"),
    Sql("every membership row is a commune of the year's COG", "select m.annee, m.code_commune from {table} m anti join stg.communes c using (annee, code_commune)"),
    Sql("communes outside any EPCI are known exceptions (4 islands every year; listed cases 2015-2017)",
        f"with known(annee, code_commune, departement) as (values {known_outside_values()}) "
        "select m.annee, m.code_commune from {table} m where m.epci_siren is null and not exists ("
        "select 1 from known k where k.annee = m.annee and (k.code_commune = m.code_commune or "
        "k.departement = (case when m.code_commune like '97%' then left(m.code_commune, 3) else left(m.code_commune, 2) end)))"),
    Sql("the four islands are outside any EPCI every year",
        "select m.annee, m.code_commune, m.epci_siren from {table} m where m.code_commune in ("
        + ", ".join(f"'{c}'" for c in ISLANDS) + ") and m.epci_siren is not null"),
    Sql("an EPCI has one name and one nature per year",
        "select annee, epci_siren from {table} where epci_siren is not null group by all having count(distinct epci_nom) > 1 or count(distinct epci_nature) > 1"),
]

DGCL_SUITE = [
    Unique("annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    Matches("epci_siren", SIREN_RE),
    Between("population_totale", 0, None),
]

EPCI_SUITE = [
    Columns({"annee": "INTEGER", "epci_siren": "VARCHAR", "epci_nom": "VARCHAR", "epci_nature": "VARCHAR",
             "n_communes": "BIGINT", "population": "BIGINT", "epci_a_fiscalite_propre": "BOOLEAN"}),
    Unique("annee", "epci_siren"),
    Matches("epci_siren", SIREN_RE),
    NotNull("epci_nom"),
    Sql("EPCI count per year = official count (+ the Métropole de Lyon, listed but not counted)",
        f"with expected(annee, officiel) as (values {_expected_counts()}) "
        "select e.annee, e.officiel, count(t.epci_siren) filter (where t.epci_a_fiscalite_propre) as epci_fp, "
        "count(t.epci_siren) as rows_total, count(t.epci_siren) filter (where not t.epci_a_fiscalite_propre) as lyon "
        "from expected e left join {table} t using (annee) group by all "
        "having epci_fp <> e.officiel or rows_total <> e.officiel + 1 or lyon <> 1"),
    Sql("only the Métropole de Lyon is not counted as an EPCI à fiscalité propre",
        f"select annee, epci_siren from {{table}} where (epci_siren = '{METROPOLE_DE_LYON}') = epci_a_fiscalite_propre"),
    Sql("n_communes matches the membership", "select e.annee, e.epci_siren from {table} e left join ("
        "select annee, epci_siren, count(*) n from stg.epci_membership where epci_siren is not null group by all) m using (annee, epci_siren) "
        "where m.n is distinct from e.n_communes"),
]

PASSAGE_SUITE = [
    Columns({"annee_from": "INTEGER", "annee_to": "INTEGER", "code_from": "VARCHAR", "code_to": "VARCHAR",
             "typemodif": "VARCHAR", "ratio": "DOUBLE", "source": "VARCHAR"}),
    Unique("annee_from", "code_from", "code_to"),
    Matches("code_from", COMMUNE_RE),
    Matches("code_to", COMMUNE_RE),
    InSet("typemodif", ("f", "d", "c")),
    Sql("annee_to = annee_from + 1", "select * from {table} where annee_to <> annee_from + 1"),
    Sql("ratios of a code sum to 1", "select annee_from, code_from, sum(ratio) s from {table} group by all having abs(s - 1) > 1e-6"),
    Sql("code_from is a commune of annee_from", "select p.annee_from, p.code_from from {table} p anti join stg.communes c on c.annee = p.annee_from and c.code_commune = p.code_from"),
    Sql("code_to is a commune of annee_to", "select p.annee_to, p.code_to from {table} p anti join stg.communes c on c.annee = p.annee_to and c.code_commune = p.code_to"),
]

CODE_MAP_SUITE = [
    Columns({"code_commune": "VARCHAR", "annee": "INTEGER", "code_commune_annee": "VARCHAR", "method": "VARCHAR",
             "estimated": "BOOLEAN", "annee_reference": "INTEGER"}),
    Unique("code_commune", "annee"),
    Matches("code_commune", COMMUNE_RE),
    InSet("method", METHODS),
    Sql("code_commune_annee is a commune of annee", "select m.code_commune, m.annee, m.code_commune_annee from {table} m "
        "anti join stg.communes c on c.annee = m.annee and c.code_commune = m.code_commune_annee"),
    Sql("every code has every year", f"select code_commune, count(*) n from {{table}} group by 1 having n <> {len(YEARS)}"),
    Sql("every commune of every year is mapped", "select c.code_commune from stg.communes c anti join {table} m using (code_commune)"),
    Sql("a code is itself in its reference year", "select * from {table} where annee = annee_reference and method <> 'arrondissement' and code_commune_annee <> code_commune"),
    Sql("estimated exactly for the estimated methods", "select * from {table} where estimated <> (method in ("
        + ", ".join(f"'{m}'" for m in METHODS[5:]) + "))"),
]

POLYGONS_SUITE = [
    Unique("annee", "zone", "epci_siren"),
    Matches("epci_siren", SIREN_RE),
    InSet("zone", ("metro", "971", "972", "973", "974", "976")),
    InSet("crs", (2154, 5490, 2972, 2975, 4471)),
    Sql("metropolitan polygons in Lambert-93, DROM in their UTM", "select * from {table} where (zone = 'metro') <> (crs = 2154)"),
    Sql("every EPCI of a year with polygons has one", "select e.annee, e.epci_siren from stg.epci e "
        "where e.annee in (select annee from {table}) and e.epci_siren not in (select epci_siren from {table} p where p.annee = e.annee)"),
    Sql("area is positive", "select * from {table} where not area_km2 > 0"),
]

MERGERS_SUITE = [
    Unique(*KEYS["marts.epci_mergers"]),
    InSet("type_evenement", EVENT_TYPES),
    Matches("epci_siren", SIREN_RE),
    NotNull("epci_nom"),
    Sql("a transformation changes the nature of one SIREN", "select * from {table} where type_evenement = 'transformation' "
        "and (epci_nature is not distinct from epci_nature_avant or predecessors <> [epci_siren])"),
    Sql("the predecessors of a fusion or identifier change are the EPCI it absorbed (marts.epci_lineage.absorbed)",
        "select m.annee, m.epci_siren, m.predecessors, l.absorbed from {table} m left join ("
        "select annee, epci_siren_apres, list(epci_siren_avant order by epci_siren_avant) absorbed from marts.epci_lineage where absorbed group by all"
        ") l on l.annee = m.annee and l.epci_siren_apres = m.epci_siren "
        "where m.type_evenement in ('fusion', 'changement_identifiant') and (l.absorbed is null or list_sort(m.predecessors) <> l.absorbed "
        "or m.n_predecessors <> len(l.absorbed))"),
    Sql("a fusion has at least two predecessors", "select * from {table} where type_evenement = 'fusion' and len(predecessors) < 2"),
    Sql("events compare consecutive years 2016-2026", f"select * from {{table}} where annee not between {YEARS[1]} and {YEARS[-1]}"),
    Sql("n_communes = len(communes)", "select * from {table} where n_communes <> len(communes)"),
    Sql("a fused, created or renamed EPCI exists in its year", "select m.annee, m.epci_siren from {table} m where type_evenement in ('fusion', 'creation', 'changement_identifiant') "
        "and not exists (select 1 from stg.epci e where e.annee = m.annee and e.epci_siren = m.epci_siren)"),
    Sql("predecessors existed the year before", "select m.annee, p.siren from {table} m, unnest(m.predecessors) p(siren) "
        "where not exists (select 1 from stg.epci e where e.annee = m.annee - 1 and e.epci_siren = p.siren)"),
]

LINEAGE_SUITE = [
    Unique(*KEYS["marts.epci_lineage"]),
    Sql("an EPCI is absorbed by at most one successor", "select annee, epci_siren_avant from {table} where absorbed group by all having count(*) > 1"),
    Sql("population shares of a predecessor sum to 1", "select annee, epci_siren_avant, sum(share_population_avant) s from {table} "
        "where epci_siren_avant is not null and share_population_avant is not null group by all having abs(s - 1) > 1e-9"),
    Sql("commune shares of a predecessor sum to 1", "select annee, epci_siren_avant, sum(share_communes_avant) s from {table} "
        "where epci_siren_avant is not null group by all having abs(s - 1) > 1e-9"),
    Sql("population shares of a successor sum to 1", "select annee, epci_siren_apres, sum(share_population_apres) s from {table} "
        "where epci_siren_apres is not null and share_population_apres is not null group by all having abs(s - 1) > 1e-9"),
    Sql("every EPCI of a year continues into the next", "select e.annee, e.epci_siren from stg.epci e where e.annee < (select max(annee) from stg.epci) "
        "and not exists (select 1 from {table} l where l.annee = e.annee + 1 and l.epci_siren_avant = e.epci_siren)"),
]

COMMUNE_EPCI_SUITE = [
    Unique(*KEYS["marts.commune_epci"]),
    Matches("code_commune", COMMUNE_RE),
    Matches("epci_siren", SIREN_RE),
    Sql("every mapped code has every year", f"select code_commune from {{table}} group by 1 having count(*) <> {len(YEARS)}"),
]


RECONCILIATION_SUITE = [
    Unique(*KEYS["marts.epci_mergers_reconciliation"]),
    InSet("kind", ("nature", "operation")),
    InSet("item", NATURES + OPERATIONS),
    InSet("status", STATUSES),
    Sql("counts by nature and DGCL operation counts match the official figures, or differ exactly as documented",
        "select annee, kind, item, n_official, n_observed, n_compatible_min, n_compatible_max, documented_difference from {table} "
        "where status = 'different'"),
    Sql("every year 2015-2026 has its counts by nature", f"select y.annee from range({YEARS[0]}, {YEARS[-1] + 1}) y(annee) "
        "anti join (select annee from {table} where kind = 'nature') t using (annee)"),
    Sql("the 2017 wave is reconciled with BIS n°113 (fusion, dissolution, transformation, total)",
        "select * from (values ('fusion'), ('dissolution'), ('transformation'), ('total')) v(item) anti join {table} t "
        "on t.annee = 2017 and t.kind = 'operation' and t.item = v.item and t.n_official is not null"),
]

RECONCILIATION_EPCI_SUITE = [
    Unique(*KEYS["marts.epci_mergers_reconciliation_epci"]),
    InSet("item", ("fusion", "dissolution", "transformation")),
    Matches("epci_siren", SIREN_RE),
    Sql("the listed EPCI make each operation count's range", "select r.annee, r.item from marts.epci_mergers_reconciliation r "
        "left join (select annee, item, count(*) filter (where certain) c, count(*) n from {table} group by all) d using (annee, item) "
        "where r.kind = 'operation' and r.item <> 'total' and (coalesce(d.c, 0) <> r.n_compatible_min or coalesce(d.n, 0) <> r.n_compatible_max)"),
]


def all_checks() -> list[dg.AssetChecksDefinition]:
    return [
        table_check("stg.communes", COMMUNES_SUITE),
        table_check("stg.epci_membership", MEMBERSHIP_SUITE, description=(
            "Every commune of a year's COG belongs to exactly one EPCI, or is one of the known communes outside any EPCI: "
            "the four islands (22016, 29083, 29155, 85113) every year, and the listed cases of 2015-2017 (Paris and the "
            "petite couronne before the Métropole du Grand Paris, Mayotte in 2015, isolated communes, communes nouvelles "
            "not yet attached). Any other commune without an EPCI fails the check.")),
        table_check("stg.dgcl_epci_membership", DGCL_SUITE),
        table_check("stg.epci", EPCI_SUITE, description="EPCI per year: keys, formats, and the official count check. " + LYON_EXPLANATION),
        table_check("stg.commune_passage", PASSAGE_SUITE),
        table_check("int.commune_code_map", CODE_MAP_SUITE),
        table_check("int.epci_polygons", POLYGONS_SUITE),
        table_check("marts.epci_mergers", MERGERS_SUITE),
        table_check("marts.epci_lineage", LINEAGE_SUITE),
        table_check("marts.commune_epci", COMMUNE_EPCI_SUITE),
        table_check("marts.epci_mergers_reconciliation", RECONCILIATION_SUITE, description=(
            "Counts by nature on 1 January 2015-2026 equal the official figures of assets/territory/reference/official_epci_counts.csv "
            "(or differ by exactly the documented, explained difference), and the DGCL's operation counts lie within the range the "
            "compositions are compatible with. Any other difference fails.")),
        table_check("marts.epci_mergers_reconciliation_epci", RECONCILIATION_EPCI_SUITE),
    ]
