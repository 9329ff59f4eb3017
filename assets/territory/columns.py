"""Column specifications of the territory's int tables (``observatory.columns``). Its marts carry their
comments in ``sql.py`` (``COMMENTS``)."""

from assets.common.passage import METHODS
from observatory.columns import Col, TableSpec

CODE_MAP = TableSpec(
    "int.commune_code_map",
    "Any commune code seen 2015-2026 (and the arrondissements of Paris, Lyon, Marseille) brought to the geography of "
    "each year, through the passage tables.",
    ("code_commune", "annee"),
    (
        Col("code_commune", "VARCHAR", "Commune code as given (any code seen in the territorial reference, or an arrondissement)"),
        Col("annee", "INTEGER", "Year whose geography the code is brought to (1 January)", "year"),
        Col("code_commune_annee", "VARCHAR", "The commune of annee that code_commune maps to"),
        Col("method", "VARCHAR", "How the code was brought to annee: " + ", ".join(METHODS)),
        Col(
            "estimated", "BOOLEAN", "True when the commune of annee is a choice among several (split, or a code looked at before a fusion)"
        ),
        Col("annee_reference", "INTEGER", "Year whose geography code_commune is read in (its latest meaning)", "year"),
    ),
)

POLYGONS = TableSpec(
    "int.epci_polygons",
    "Index of the EPCI polygons (GeoParquet files dissolved from commune polygons): one row per year, zone and EPCI.",
    ("annee", "zone", "epci_siren"),
    (
        Col("annee", "INTEGER", "Year of the EPCI perimeters (1 January)", "year"),
        Col("zone", "VARCHAR", "Map zone: metro (metropolitan France) or one DROM (971, 972, 973, 974, 976)"),
        Col("epci_siren", "VARCHAR", "EPCI SIREN (9 digits)"),
        Col("epci_nom", "VARCHAR", "EPCI name in annee"),
        Col("crs", "INTEGER", "EPSG code of the zone's projected CRS the polygon is in (2154, 5490, 2972, 2975, 4471)", "EPSG code"),
        Col("n_communes", "INTEGER", "Number of commune polygons dissolved into the EPCI polygon", "communes"),
        Col("area_km2", "DOUBLE", "Area of the polygon", "km²"),
        Col("file", "VARCHAR", "Path of the GeoParquet file holding the polygon"),
    ),
)
