"""Column specifications of the CAF staging tables (``observatory.columns``): comments, type checks,
Dagster column schema and data dictionary all come from here."""

from observatory.columns import Col, TableSpec

_CAF_ANNEE = Col("caf_annee", "INTEGER", "CAF year: supply as of December of this year (shown on 1 January of caf_annee + 1)", "year")
_COMMUNE = Col(
    "code_commune", "VARCHAR", "Commune code (5 characters, arrondissements of Paris, Lyon, Marseille summed into their commune)"
)
_NOM = Col("nom_commune", "VARCHAR", "Commune name as published by the CAF")
_UNITS = Col(
    "n_units_published",
    "INTEGER",
    "Number of published rows summed into this row (1, or the arrondissements of Paris, Lyon, Marseille)",
    "rows",
)
_SOURCE = Col("source", "VARCHAR", "Which copy of the CAF data the row was read from (embedded copy or official export)")
_KINDS = (
    ("psu", "EAJE financed by the PSU (prestation de service unique)"),
    ("hors_psu", "EAJE outside the PSU (PAJE-financed micro-crèches, mostly)"),
    ("eaje", "all EAJE (collective care: PSU + outside PSU)"),
    ("prescolarisation", "pre-schooling of 2-year-olds"),
    ("assistante_maternelle", "childminders (assistantes maternelles)"),
    ("garde_domicile", "home care (garde à domicile)"),
    ("accueil_individuel", "individual care (childminders + home care)"),
)

PLACES = TableSpec(
    "stg.caf_places_commune",
    "CAF places by commune and CAF year (December), communes above 10,000 inhabitants only.",
    ("caf_annee", "code_commune"),
    (
        _CAF_ANNEE,
        _COMMUNE,
        _NOM,
        Col("epci_siren_caf", "VARCHAR", "EPCI SIREN as published by the CAF (its own, possibly dated, geography)"),
        Col("code_departement_caf", "VARCHAR", "Département code as published by the CAF"),
        *(Col(f"places_{k}", "DOUBLE", f"Places: {label}", "places") for k, label in _KINDS),
        Col("places_total", "DOUBLE", "Places: total of every mode of care published", "places"),
        _UNITS,
        _SOURCE,
    ),
)

COVERAGE = TableSpec(
    "stg.caf_coverage_commune",
    "CAF coverage rates by commune and CAF year (December), with the children under 3 they imply.",
    ("caf_annee", "code_commune"),
    (
        _CAF_ANNEE,
        _COMMUNE,
        _NOM,
        *(Col(f"taux_{k}", "DOUBLE", f"Coverage rate: {label}", "places per 100 children under 3") for k, label in _KINDS),
        Col("taux_global", "DOUBLE", "Coverage rate: every mode of care", "places per 100 children under 3"),
        Col(
            "enfants_moins_3_ans",
            "DOUBLE",
            "Children under 3 derived from the CAF figures (places / rate x 100, see enfants_method); NULL when not derivable",
            "children",
        ),
        Col("enfants_method", "VARCHAR", "Which places / rate pair gave enfants_moins_3_ans; NULL when none could"),
        Col("taux_recalcule", "BOOLEAN", "True when the rates were recomputed from arrondissements (Paris, Lyon, Marseille)"),
        _UNITS,
        _SOURCE,
    ),
)
