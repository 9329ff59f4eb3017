"""Commune polygons (IGN via Etalab / france-geojson / CARTElette), to dissolve into EPCI polygons."""

from observatory.sources import PlanFile, RemoteFile, SourceSpec

#: Etalab contours administratifs: years published, simplified at 100 m, WGS84, DROM at their real position.
OFFICIAL_YEARS = (2022, 2023, 2024, 2025)
_URL = "https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/{year}/geojson/communes-100m.geojson.gz"


def _plan():
    # Role polygons, by target year: the commune geography of the file (``geography``: its codes are brought
    # to the target year through the passage) and the zones taken from it. Embedded GeoParquet (EPSG:4326,
    # code_commune + geometry): no 2017 file, the 2016 polygons serve; CARTElette 2021/2024 moved the DROM
    # next to metropolitan France for display, so only their metropolitan communes are kept (part "metro")
    # and the DROM of those years come from the 2018 file (part "drom").
    yield PlanFile("polygons", (2016, 2017), embedded="communes_2016.parquet", details=(("geography", 2016), ("zones", "all")))
    yield PlanFile("polygons", (2018,), embedded="communes_2018.parquet", details=(("geography", 2018), ("zones", "all")))
    yield PlanFile(
        "polygons", (2021,), embedded="communes_2021_metro.parquet", part="metro", details=(("geography", 2021), ("zones", "metro"))
    )
    yield PlanFile(
        "polygons", (2024,), embedded="communes_2024_metro.parquet", part="metro", details=(("geography", 2024), ("zones", "metro"))
    )
    yield PlanFile(
        "polygons", (2021, 2024), embedded="communes_2018.parquet", part="drom", details=(("geography", 2018), ("zones", "drom"))
    )
    for y in OFFICIAL_YEARS:
        remote = RemoteFile(millesime=str(y), url=_URL.format(year=y), filename="communes-100m.geojson.gz", magic=(b"\x1f\x8b",))
        yield PlanFile("polygons", (y,), official=remote, details=(("geography", y), ("zones", "all")))


SPEC = SourceSpec(
    name="contours",
    title="Contours des communes",
    publisher="IGN (GEOFLA 2016, ADMIN EXPRESS COG), via Etalab, france-geojson and CARTElette",
    licence="Licence Ouverte 2.0 (IGN, Etalab); CARTElette copies ODbL (© ADMIN EXPRESS COG (IGN) et projet CARTElette)",
    homepage="https://github.com/etalab/contours-administratifs",
    cadence="yearly",
    description=(
        "Official: Etalab communes-100m.geojson.gz (WGS84; communes and the 45 arrondissements municipaux, which are "
        "dropped). Embedded: simplified commune polygons of COG 2016 and 2018 (france-geojson, DROM at their real "
        "position) and of COG 2021 and 2024 (CARTElette, metropolitan communes only: its DROM were moved for display)."
    ),
    plan=tuple(_plan()),
)
