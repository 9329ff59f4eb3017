"""Map layer for dashboards: latest-year EPCI polygons (built by the territory stage) joined to
``marts.epci_indicators``, one GeoParquet per zone (each zone keeps its own CRS: Lambert-93 for
metropolitan France, local UTM for each DROM; one CRS per file, never mixed)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import duckdb

from observatory.publish import add_parquet_metadata, parquet_metadata

POLYGON_FILE = re.compile(r"^epci_(\d{4})_([a-z0-9]+)\.parquet$")
OUTPUT_PREFIX = "epci_indicators_"
#: The national layer (every zone, EPSG:4326, simplified) for dashboards and the site: epci_indicators_france.*
NATIONAL = "france"
#: Simplification tolerance of the national layer, in metres of each zone's projected CRS: far below what a
#: national map shows, and it keeps the GeoJSON near 1.5 MB. Shared borders stay shared (coverage_simplify).
NATIONAL_TOLERANCE_M = 400
#: Coordinate precision of the national layer: 4 decimals of a degree, about 10 m.
NATIONAL_GRID_DEG = 1e-4
#: Columns a map layer adds to marts.epci_indicators (documented in each file's key-value metadata).
LAYER_COLUMNS = {
    "polygon_year": "Year of the commune contours the EPCI polygon was dissolved from",
    "zone": "metro, 971, 972, 973, 974 or 976: the zone whose projected CRS the polygon was simplified in",
    "geometry": "EPCI polygon (dissolved from its member communes)",
}


def layer_metadata(con: duckdb.DuckDBPyConnection, crs: str, layer_columns) -> dict[str, str]:
    """Key-value metadata of a map layer: that of marts.epci_indicators (licence, sources, data dates, column
    descriptions) with the layer's own columns and CRS."""
    meta = parquet_metadata(con, "marts.epci_indicators")
    described = {**json.loads(meta["columns"]), **LAYER_COLUMNS}
    columns = {c: described.get(c, "") for c in layer_columns}
    return {**meta, "columns": json.dumps(columns, ensure_ascii=False), "crs": crs}


def polygon_files(geo_dir: Path, latest_year: int) -> tuple[int | None, dict[str, Path]]:
    """The most recent polygon year not after ``latest_year`` and its files by zone."""
    by_year: dict[int, dict[str, Path]] = {}
    if geo_dir.exists():
        for p in geo_dir.iterdir():
            m = POLYGON_FILE.match(p.name)
            if m and int(m.group(1)) <= latest_year:
                by_year.setdefault(int(m.group(1)), {})[m.group(2)] = p
    if not by_year:
        return None, {}
    year = max(by_year)
    return year, dict(sorted(by_year[year].items()))


def read_polygons(files: dict[str, Path]):
    import geopandas as gpd

    return {zone: gpd.read_parquet(path) for zone, path in files.items()}


def write_layers(con: duckdb.DuckDBPyConnection, polygons: dict[str, Any], polygon_year: int, out_dir: Path) -> dict[str, Any]:
    """Join every zone's polygons to marts.epci_indicators and write ``epci_indicators_<zone>.parquet``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    indicators = con.execute("select * from marts.epci_indicators").df()
    written, unmatched = {}, {}
    for zone, gdf in polygons.items():
        if gdf.crs is None:
            raise ValueError(f"EPCI polygons of {polygon_year} zone {zone}: no CRS in the GeoParquet metadata")
        layer = gdf[["epci_siren", "geometry"]].merge(indicators, on="epci_siren", how="left")
        layer.insert(1, "polygon_year", polygon_year)
        layer = layer[[c for c in layer.columns if c != "geometry"] + ["geometry"]]  # attributes first, as analysts expect
        unmatched[zone] = int(layer["epci_nom"].isna().sum())
        target = out_dir / f"{OUTPUT_PREFIX}{zone}.parquet"
        tmp = target.with_suffix(".parquet.tmp")
        layer.to_parquet(tmp, index=False)
        add_parquet_metadata(tmp, layer_metadata(con, gdf.crs.to_string(), layer.columns))
        os.replace(tmp, target)
        written[zone] = {"file": str(target), "features": int(len(layer)), "crs": gdf.crs.to_string()}
    written[NATIONAL] = write_national_layer(con, polygons, indicators, polygon_year, out_dir)
    # a zone that vanished from the polygons must not leave a stale layer behind
    for stale in out_dir.glob(f"{OUTPUT_PREFIX}*.parquet"):
        if stale.stem.removeprefix(OUTPUT_PREFIX) not in (*polygons, NATIONAL):
            stale.unlink()
    return {"polygon_year": polygon_year, "layers": written, "polygons_without_indicators": unmatched}


def national_geometries(polygons: dict[str, Any]):
    """Every zone's polygons simplified in its own metric CRS (shared borders kept shared), then in EPSG:4326 with
    the DROM at their real positions: epci_siren, zone, geometry."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    parts = []
    for zone, gdf in polygons.items():
        simplified = shapely.coverage_simplify(gdf.geometry.values, NATIONAL_TOLERANCE_M)
        part = gpd.GeoDataFrame({"epci_siren": gdf["epci_siren"].values, "zone": zone}, geometry=simplified, crs=gdf.crs)
        parts.append(part.to_crs(4326))
    out = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=4326)
    out["geometry"] = shapely.make_valid(shapely.set_precision(out.geometry.values, NATIONAL_GRID_DEG))
    return out


def write_national_layer(
    con: duckdb.DuckDBPyConnection, polygons: dict[str, Any], indicators, polygon_year: int, out_dir: Path
) -> dict[str, Any]:
    """``epci_indicators_france.parquet`` (GeoParquet) and ``.geojson`` (RFC 7946): one national layer in EPSG:4326."""
    layer = national_geometries(polygons).merge(indicators, on="epci_siren", how="left")
    layer.insert(1, "polygon_year", polygon_year)
    layer = layer[[c for c in layer.columns if c != "geometry"] + ["geometry"]]
    files = {}
    for suffix in ("parquet", "geojson"):
        target = out_dir / f"{OUTPUT_PREFIX}{NATIONAL}.{suffix}"
        tmp = target.with_name(target.name + ".tmp")
        if suffix == "parquet":
            layer.to_parquet(tmp, index=False)
            add_parquet_metadata(tmp, layer_metadata(con, "EPSG:4326", layer.columns))
        else:
            layer.to_file(tmp, driver="GeoJSON", layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": 4})
        os.replace(tmp, target)
        files[suffix] = str(target)
    return {"file": files["parquet"], "geojson": files["geojson"], "features": len(layer), "crs": "EPSG:4326"}
