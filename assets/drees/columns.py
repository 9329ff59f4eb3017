"""Column specification of the DREES staging table (``observatory.columns``)."""

from observatory.columns import Col, TableSpec

OFFRE_DEPARTEMENT = TableSpec(
    "stg.drees_offre_departement",
    "DREES childcare supply indicators by département and year, one row per indicator (long format).",
    ("indicateur", "annee", "code_departement"),
    (
        Col("annee", "INTEGER", "Year of the figure (as published by the DREES)", "year"),
        Col("code_departement", "VARCHAR", "Département code"),
        Col("nom_departement", "VARCHAR", "Département name as published"),
        Col("code_region", "VARCHAR", "Région code of the département"),
        Col("indicateur", "VARCHAR", "Indicator name (e.g. places_creches_collectives, agrements_assistants_maternels)"),
        Col("unite", "VARCHAR", "Unit of valeur as the DREES states it (places, établissements, assistants maternels agréés)"),
        Col(
            "valeur",
            "DOUBLE",
            "Value of the indicator, in the unit of the unite column; NULL when not published (secret, nd, -)",
            "see unite",
        ),
        Col("tableau", "VARCHAR", "DREES table the figure comes from (tabNN)"),
    ),
)
