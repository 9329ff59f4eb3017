"""Column specifications of the EPCI composition tables (``observatory.columns``)."""

from observatory.columns import Col, TableSpec

_ANNEE = Col("annee", "INTEGER", "Year of the composition (1 January)", "year")
_SIREN = "EPCI SIREN (9 digits)"
_NATURE = "EPCI nature: CC, CA, CU, ME (métropole), SA (SAN), MET69 (Métropole de Lyon, not an EPCI à fiscalité propre)"

MEMBERSHIP = TableSpec(
    "stg.epci_membership",
    "EPCI of every commune on 1 January of each year (one row per commune of the year's COG).",
    ("annee", "code_commune"),
    (
        _ANNEE,
        Col("code_commune", "VARCHAR", "Commune code in the geography of annee"),
        Col("epci_siren", "VARCHAR", _SIREN + "; NULL when the commune belongs to no EPCI"),
        Col("epci_nom", "VARCHAR", "EPCI name in annee"),
        Col("epci_nature", "VARCHAR", _NATURE),
        Col("source", "VARCHAR", "Which source the row comes from (INSEE composition file or Etalab; says when a commune is absent)"),
    ),
)

EPCI = TableSpec(
    "stg.epci",
    "EPCI à fiscalité propre on 1 January of each year (plus the Métropole de Lyon), with their size.",
    ("annee", "epci_siren"),
    (
        _ANNEE,
        Col("epci_siren", "VARCHAR", _SIREN),
        Col("epci_nom", "VARCHAR", "EPCI name in annee"),
        Col("epci_nature", "VARCHAR", _NATURE),
        Col("n_communes", "BIGINT", "Number of member communes in annee", "communes"),
        Col("population", "BIGINT", "Population of the member communes (COG of annee); NULL if unknown", "inhabitants"),
        Col("epci_a_fiscalite_propre", "BOOLEAN", "True for an EPCI à fiscalité propre (false: the Métropole de Lyon)"),
    ),
)
