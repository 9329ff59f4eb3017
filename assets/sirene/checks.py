"""Quality suites of the SIRENE tables: plain lists of specs, run as blocking asset checks by
``defs.py`` and by the tests (``observatory.quality.run_suite``)."""

from assets.sirene import columns as C
from assets.sirene.facility_years import SCOPE_REASONS, TYPES_STRUCTURE
from assets.common import identifiers as ids
from observatory import quality as q
from assets.sirene.classification import (
    COOPERATIVE_NAME,
    NAF_EAJE,
    RULES,
    SCOPE_IN,
    SCOPE_PATTERNS,
    SECTORS,
    default_rules,
    normalized_name_sql,
)
from assets.sirene.facility_years import FIRST_FACILITY_YEAR
from observatory.resources import sql_literal


# the extraction's selection, read back from the stg columns: 88.91A or an own name saying EAJE
_EAJE_EVIDENCE = (
    f"activite_principale = {sql_literal(NAF_EAJE)} or regexp_matches("
    + normalized_name_sql("concat_ws(' ', enseigne1, enseigne2, enseigne3, denomination_usuelle)")
    + f", {sql_literal(SCOPE_PATTERNS['eaje'])})"
)


def _duplicates(*key: str) -> q.Sql:
    cols = ", ".join(key)
    return q.Sql(
        f"unique ({cols}) (nulls compared equal)",
        f"select {cols}, count(*) as n from {{table}} group by all having count(*) > 1",
    )


ETABLISSEMENT_PERIODES = [
    q.Columns(C.ETABLISSEMENT_PERIODES.types),
    _duplicates("siret", "date_debut"),
    q.NotNull("siret"),
    q.NotNull("siren"),
    ids.valid_siret("siret"),
    ids.valid_siren("siren"),
    ids.siret_of_siren("siret", "siren"),
    q.InSet("etat_administratif", ("A", "F")),
    q.Sql(
        "every selected establishment had 88.91A or an EAJE name in a period or in the stock",
        "select siret from {table} group by siret having not bool_or(" + _EAJE_EVIDENCE + ") "
        "and siret not in (select siret from stg.sirene_etablissements where " + _EAJE_EVIDENCE + ")",
    ),
]

ETABLISSEMENTS = [
    q.Columns(C.ETABLISSEMENTS.types),
    q.Unique("siret"),
    q.NotNull("siret"),
    ids.valid_siret("siret"),
    ids.valid_siren("siren"),
    ids.siret_of_siren("siret", "siren"),
    ids.commune_code("code_commune", arrondissements=True, overseas_collectivities=True),
    q.InSet("etat_administratif", ("A", "F")),
]

UNITE_LEGALE_PERIODES = [
    q.Columns(C.UNITE_LEGALE_PERIODES.types),
    _duplicates("siren", "date_debut"),
    q.NotNull("siren"),
    ids.valid_siren("siren"),
    q.Matches("categorie_juridique", r"^[0-9]{4}$"),
    q.InSet("ess_flag", ("O", "N")),
    q.InSet("etat_administratif", ("A", "C")),
]

UNITES_LEGALES = [
    q.Columns(C.UNITES_LEGALES.types),
    q.Unique("siren"),
    q.NotNull("siren"),
    ids.valid_siren("siren"),
    q.Matches("categorie_juridique", r"^[0-9]{4}$"),
    q.InSet("ess_flag", ("O", "N")),
    q.InSet("etat_administratif", ("A", "C")),
]

# Dates that do not parse are refused when the file is inspected (extract.inspect_file); a null here is a
# link the file publishes without a date, which no key can hold.
SUCCESSIONS = [
    q.Columns(C.SUCCESSIONS.types),
    _duplicates("siret_predecessor", "siret_successor", "date_lien"),
    q.NotNull("siret_predecessor"),
    q.NotNull("siret_successor"),
    q.NotNull("date_lien"),
    ids.valid_siret("siret_predecessor"),
    ids.valid_siret("siret_successor"),
]


def operator_years() -> list[q.Spec]:
    rules = default_rules()
    sector_of = dict(rules.classes.select("operator_class", "sector").iter_rows())
    mapping = " ".join(f"when {sql_literal(c)} then {sql_literal(s)}" for c, s in sector_of.items())
    return [
        q.Columns(C.OPERATOR_YEARS.types),
        _duplicates("siren", "annee"),
        q.NotNull("siren"),
        q.NotNull("operator_class"),
        ids.valid_siren("siren"),
        q.InSet("operator_class", tuple(sector_of)),
        q.InSet("sector", SECTORS),
        q.InSet("rule", RULES),
        q.Sql(
            "sector is the sector of operator_class (operator_classes.csv)",
            f"select siren, annee, operator_class, sector from {{table}} where sector is distinct from (case operator_class {mapping} end)",
        ),
        q.Sql(
            "public bodies are never ESS (loi 2014-856 art. 1)",
            "select siren, annee, categorie_juridique, operator_class from {table} "
            "where (operator_class like 'public%' and sector <> 'public') or (sector = 'ess' and starts_with(categorie_juridique, '7'))",
        ),
        q.Sql(
            "no unit named as a cooperative (SCIC, SCOP, coopérative) is an ESS commercial company: it is ess_cooperative (art. 1 II 1°)",
            "select siren, annee, categorie_juridique, ess_flag, denomination from {table} where operator_class = 'ess_societe_commerciale' "
            f"and regexp_matches(trim(regexp_replace(strip_accents(upper(coalesce(denomination, ''))), '[^A-Z0-9&]+', ' ', 'g')), {sql_literal(COOPERATIVE_NAME)})",
        ),
        q.Sql(
            "CAF (8110) is public, works councils (8310/8311) are private non-ESS, unless overridden",
            "select siren, annee, categorie_juridique, sector from {table} where rule <> 'override' and "
            "((categorie_juridique = '8110' and sector <> 'public') or (categorie_juridique in ('8310', '8311') and sector <> 'autre_prive'))",
        ),
    ]


def _facility_common(first_year: int, last_year: int) -> list[q.Spec]:
    return [
        _duplicates("siret", "annee"),
        q.NotNull("siret"),
        q.NotNull("siren"),
        q.NotNull("annee"),
        q.NotNull("code_commune_method"),
        ids.valid_siret("siret"),
        ids.siret_of_siren("siret", "siren"),
        q.Between("annee", first_year, last_year),
        ids.commune_code("code_commune_releve", arrondissements=True, overseas_collectivities=True),
        ids.commune_code("code_commune", arrondissements=False),
        q.InSet("type_structure", TYPES_STRUCTURE),
        q.Sql(
            "a facility-year without a year-geography commune says why",
            "select siret, annee, code_commune_releve, code_commune_method from {table} where code_commune is null "
            "and code_commune_method not in ('commune_non_renseignee', 'absent_du_referentiel')",
        ),
        q.Sql(
            "every facility-year has its operator classified for that year (int.operator_years)",
            "select siret, siren, annee from {table} f anti join int.operator_years o using (siren, annee)",
        ),
    ]


def facility_years(first_year: int = FIRST_FACILITY_YEAR, last_year: int = 2100) -> list[q.Spec]:
    return (
        [q.Columns(C.FACILITY_YEARS.types)]
        + _facility_common(first_year, last_year)
        + [
            q.InSet("scope_reason", SCOPE_IN),
            q.Sql(
                "no facility-year is both in scope and hors champ",
                "select siret, annee from {table} semi join int.facility_years_hors_champ using (siret, annee)",
            ),
        ]
    )


def facility_years_hors_champ(first_year: int = FIRST_FACILITY_YEAR, last_year: int = 2100) -> list[q.Spec]:
    return (
        [q.Columns(C.FACILITY_YEARS_HORS_CHAMP.types)]
        + _facility_common(first_year, last_year)
        + [
            q.NotNull("scope_reason"),
            q.InSet("scope_reason", SCOPE_REASONS),
        ]
    )
