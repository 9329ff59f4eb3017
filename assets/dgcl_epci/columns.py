"""Column specification of the DGCL composition table (``observatory.columns``)."""

from observatory.columns import Col, TableSpec

MEMBERSHIP = TableSpec(
    "stg.dgcl_epci_membership",
    "EPCI composition published by the DGCL (epcicom/BANATIC): one row per year and member commune.",
    ("annee", "code_commune"),
    (
        Col("annee", "INTEGER", "Year of the composition (1 January)", "year"),
        Col("code_commune", "VARCHAR", "Member commune code (INSEE)"),
        Col("nom_commune", "VARCHAR", "Commune name as published by the DGCL"),
        Col("epci_siren", "VARCHAR", "EPCI SIREN (9 digits)"),
        Col("epci_nom", "VARCHAR", "EPCI name as published by the DGCL"),
        Col("epci_nature", "VARCHAR", "EPCI nature: CC, CA, CU, ME (métropole), SA (SAN), MET69 (Métropole de Lyon)"),
        Col("population_totale", "BIGINT", "Total population of the commune as published by the DGCL", "inhabitants"),
    ),
)
