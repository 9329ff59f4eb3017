"""Blocking checks of the commune -> EPCI membership and of the EPCI per year (``stg.epci_membership``,
``stg.epci``), with the official counts and the known communes outside any EPCI."""

from assets.insee_epci.columns import EPCI, MEMBERSHIP
from assets.common.identifiers import COMMUNE_RE, departement_sql, epci_siren
from assets.common.validate import METROPOLE_DE_LYON
from assets.common.years import TERRITORY_YEARS as YEARS
from observatory.quality import Columns, InSet, Matches, NotNull, Sql, Unique, referential_integrity
from observatory.resources import sql_literal

#: Number of EPCI à fiscalité propre on 1 January (DGCL / INSEE). Every source lists the Métropole de
#: Lyon with the EPCI; it is a collectivité à statut particulier and is not counted: the tables carry
#: it with ``epci_a_fiscalite_propre = false`` and the check expects official + 1 rows in total.
OFFICIAL_EPCI_COUNT = {
    # 2015: no count was given with the brief. 2,133 is what two independent official files give once
    # the Métropole de Lyon is set aside: the DGCL epcicom 2015 (2,134 SIREN) and the INSEE 2015 table.
    2015: 2133,
    2016: 2062,
    2017: 1266,
    2018: 1263,
    2019: 1258,
    2020: 1254,
    2021: 1253,
    2022: 1254,
    2023: 1254,
    2024: 1254,
    2025: 1254,
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
            "54095": "isolated commune (joined an EPCI in 2017)",
            "54372": "isolated commune (2017)",
            "54469": "isolated commune (2017)",
            "54577": "isolated commune (2017)",
            "71085": "isolated commune (2017)",
            "71443": "isolated commune (2017)",
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
            **{
                c: "commune nouvelle of 1 January 2016, not yet attached to an EPCI"
                for c in (
                    "12021",
                    "12270",
                    "14061",
                    "14726",
                    "14762",
                    "22046",
                    "25424",
                    "45191",
                    "46311",
                    "49018",
                    "49307",
                    "50129",
                    "65192",
                    "76618",
                    "89086",
                )
            },
        },
    },
    2017: {"departements": {}, "codes": {"49307": "commune nouvelle Loire-Authion, attached to Angers Loire Métropole in 2018"}},
}


def known_outside_values() -> str:
    """``(annee, code_commune, departement)`` rows of the allowed exceptions, as a SQL VALUES list."""
    rows = [f"({int(y)}, {sql_literal(c)}, NULL)" for y in YEARS for c in ISLANDS]
    for y, rules in KNOWN_OUTSIDE.items():
        rows += [f"({int(y)}, {sql_literal(c)}, NULL)" for c in rules["codes"]]
        rows += [f"({int(y)}, NULL, {sql_literal(d)})" for d in rules["departements"]]
    return ", ".join(rows)


def _expected_counts() -> str:
    return ", ".join(f"({y}, {n})" for y, n in OFFICIAL_EPCI_COUNT.items())


MEMBERSHIP_SUITE = [
    Columns(MEMBERSHIP.types),
    Unique("annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    epci_siren("epci_siren"),
    InSet("epci_nature", ("CC", "CA", "CU", "ME", "SA", "MET69")),
    Sql(
        "every commune of the year's COG has a membership row",
        "select c.annee, c.code_commune from stg.communes c anti join {table} m using (annee, code_commune)",
    ),
    referential_integrity(["annee", "code_commune"], "stg.communes"),
    Sql(
        "communes outside any EPCI are known exceptions (4 islands every year; listed cases 2015-2017)",
        f"with known(annee, code_commune, departement) as (values {known_outside_values()}) "
        "select m.annee, m.code_commune from {table} m where m.epci_siren is null and not exists ("
        "select 1 from known k where k.annee = m.annee and (k.code_commune = m.code_commune or "
        f"k.departement = {departement_sql('m.code_commune')}))",
    ),
    Sql(
        "the four islands are outside any EPCI every year",
        "select m.annee, m.code_commune, m.epci_siren from {table} m where m.code_commune in ("
        + ", ".join(map(sql_literal, ISLANDS))
        + ") and m.epci_siren is not null",
    ),
    Sql(
        "an EPCI has one name and one nature per year",
        "select annee, epci_siren from {table} where epci_siren is not null group by all having count(distinct epci_nom) > 1 or count(distinct epci_nature) > 1",
    ),
]

EPCI_SUITE = [
    Columns(EPCI.types),
    Unique("annee", "epci_siren"),
    epci_siren("epci_siren"),
    NotNull("epci_nom"),
    Sql(
        "EPCI count per year = official count (+ the Métropole de Lyon, listed but not counted)",
        f"with expected(annee, officiel) as (values {_expected_counts()}) "
        "select e.annee, e.officiel, count(t.epci_siren) filter (where t.epci_a_fiscalite_propre) as epci_fp, "
        "count(t.epci_siren) as rows_total, count(t.epci_siren) filter (where not t.epci_a_fiscalite_propre) as lyon "
        "from expected e left join {table} t using (annee) group by all "
        "having epci_fp <> e.officiel or rows_total <> e.officiel + 1 or lyon <> 1",
    ),
    Sql(
        "only the Métropole de Lyon is not counted as an EPCI à fiscalité propre",
        f"select annee, epci_siren from {{table}} where (epci_siren = {sql_literal(METROPOLE_DE_LYON)}) = epci_a_fiscalite_propre",
    ),
    Sql(
        "n_communes matches the membership",
        "select e.annee, e.epci_siren from {table} e left join ("
        "select annee, epci_siren, count(*) n from stg.epci_membership where epci_siren is not null group by all) m using (annee, epci_siren) "
        "where m.n is distinct from e.n_communes",
    ),
]
