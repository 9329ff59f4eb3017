"""Blocking checks of the commune geography (``stg.communes``, ``stg.commune_passage``): plain lists of
specs, run as asset checks by ``defs.py`` and by the tests."""

from assets.cog.columns import COMMUNES, PASSAGE
from assets.common.identifiers import COMMUNE_RE, DEPARTEMENT_RE
from assets.common.years import TERRITORY_YEARS as YEARS
from observatory.quality import Columns, InSet, Matches, NotNull, Sql, Unique, years_covered

COMMUNES_SUITE = [
    Columns(COMMUNES.types),
    Unique("annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    Matches("code_departement", DEPARTEMENT_RE),
    NotNull("nom_commune"),
    NotNull("code_region"),
    InSet("annee", tuple(YEARS)),
    years_covered("annee", YEARS),
]

PASSAGE_SUITE = [
    Columns(PASSAGE.types),
    Unique("annee_from", "code_from", "code_to"),
    Matches("code_from", COMMUNE_RE),
    Matches("code_to", COMMUNE_RE),
    InSet("typemodif", ("f", "d", "c")),
    Sql("annee_to = annee_from + 1", "select * from {table} where annee_to <> annee_from + 1"),
    Sql("ratios of a code sum to 1", "select annee_from, code_from, sum(ratio) s from {table} group by all having abs(s - 1) > 1e-6"),
    Sql(
        "code_from is a commune of annee_from",
        "select p.annee_from, p.code_from from {table} p anti join stg.communes c on c.annee = p.annee_from and c.code_commune = p.code_from",
    ),
    Sql(
        "code_to is a commune of annee_to",
        "select p.annee_to, p.code_to from {table} p anti join stg.communes c on c.annee = p.annee_to and c.code_commune = p.code_to",
    ),
]
