"""Readers of commune polygons: Etalab GeoJSON as published, or the embedded GeoParquet."""

from pathlib import Path

from assets.common.validate import InputError, check_file


def read_etalab_communes(path: Path):
    """Communes of an Etalab ``communes-*.geojson(.gz)``: ``code_commune, geometry`` (EPSG:4326).

    The layer also holds the arrondissements municipaux (property ``commune`` = parent), whose
    polygons overlap their commune's: they are dropped.
    """
    import geopandas as gpd

    check_file(path, expect_magic=(b"\x1f\x8b", b"{"))
    src = f"/vsigzip/{path}" if str(path).endswith(".gz") else str(path)
    try:
        gdf = gpd.read_file(src)
    except Exception as exc:
        raise InputError(f"{path}: unreadable GeoJSON ({type(exc).__name__}: {exc}); truncated download?") from exc
    if "code" not in gdf.columns:
        raise InputError(f"{path}: column 'code' missing; expected properties code, nom, ... found {list(gdf.columns)}")
    if "commune" in gdf.columns:
        gdf = gdf[gdf["commune"].isna()]
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise InputError(f"{path}: CRS {gdf.crs}, expected EPSG:4326 (WGS84)")
    return gdf.rename(columns={"code": "code_commune"})[["code_commune", "geometry"]]


def read_embedded(path: Path):
    import geopandas as gpd

    check_file(path, expect_magic=(b"PAR1",))
    gdf = gpd.read_parquet(path)
    if "code_commune" not in gdf.columns or gdf.crs is None:
        raise InputError(f"{path}: expected a GeoParquet with column code_commune and a CRS, found {list(gdf.columns)}, crs={gdf.crs}")
    return gdf
