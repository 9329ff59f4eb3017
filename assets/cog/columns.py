"""Column specifications of the commune geography (``observatory.columns``)."""

from observatory.columns import Col, TableSpec

_SOURCE = "Which source and file the row comes from (COG, Etalab or INSEE copy)"

COMMUNES = TableSpec(
    "stg.communes",
    "Communes of France on 1 January of each year (official geography, COG), with their département, région and population.",
    ("annee", "code_commune"),
    (
        Col("annee", "INTEGER", "Year of the geography (1 January)", "year"),
        Col("code_commune", "VARCHAR", "Commune code (INSEE, 5 characters)"),
        Col("nom_commune", "VARCHAR", "Commune name in that year"),
        Col("code_departement", "VARCHAR", "Département code of the commune"),
        Col("code_region", "VARCHAR", "Région code of the commune"),
        Col("population", "BIGINT", "Municipal population as published with that year's geography; NULL if unknown", "inhabitants"),
        Col("source", "VARCHAR", _SOURCE),
    ),
)

PASSAGE = TableSpec(
    "stg.commune_passage",
    "Commune code changes from one year's geography to the next (passage table): one row per old code and new code.",
    ("annee_from", "code_from", "code_to"),
    (
        Col("annee_from", "INTEGER", "Year of the geography of code_from (1 January)", "year"),
        Col("annee_to", "INTEGER", "Year of the geography of code_to (annee_from + 1)", "year"),
        Col("code_from", "VARCHAR", "Commune code in the geography of annee_from"),
        Col("code_to", "VARCHAR", "Commune code in the geography of annee_to"),
        Col("typemodif", "VARCHAR", "Kind of change: f (fusion), d (scission, commune split), c (code change)"),
        Col("ratio", "DOUBLE", "Share of code_from that goes to code_to; the ratios of a code sum to 1", "share (0-1)"),
        Col("source", "VARCHAR", _SOURCE),
    ),
)
