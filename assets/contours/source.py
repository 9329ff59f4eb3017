"""Commune polygons (IGN via Etalab / france-geojson / CARTElette), to dissolve into EPCI polygons."""

from observatory.sources import RemoteFile, SourceSpec

#: Etalab contours administratifs: years published, simplified at 100 m, WGS84, DROM at their real position.
OFFICIAL_YEARS = (2022, 2023, 2024, 2025)
_URL = "https://etalab-datasets.geo.data.gouv.fr/contours-administratifs/{year}/geojson/communes-100m.geojson.gz"

#: Embedded GeoParquet files (EPSG:4326, columns code_commune + geometry) and the years they describe.
#: CARTElette 2021/2024 moved the DROM next to metropolitan France for display: only their
#: metropolitan communes are kept; DROM polygons of 2021/2024 come from the 2018 file.
EMBEDDED = {
    2016: ("communes_2016.parquet", "all"),
    2018: ("communes_2018.parquet", "all"),
    2021: ("communes_2021_metro.parquet", "metro"),
    2024: ("communes_2024_metro.parquet", "metro"),
}

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
    remote_files=tuple(
        RemoteFile(millesime=str(y), url=_URL.format(year=y), filename="communes-100m.geojson.gz", magic=(b"\x1f\x8b",))
        for y in OFFICIAL_YEARS
    ),
    embedded_files=tuple(name for name, _ in EMBEDDED.values()),
)
