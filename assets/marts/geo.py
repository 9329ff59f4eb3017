"""Map layer for dashboards: latest-year EPCI polygons (built by the territory stage) joined to
``marts.epci_indicators``, one GeoParquet per zone (each zone keeps its own CRS: Lambert-93 for
metropolitan France, local UTM for each DROM; one CRS per file, never mixed)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import duckdb

POLYGON_FILE = re.compile(r"^epci_(\d{4})_([a-z0-9]+)\.parquet$")
OUTPUT_PREFIX = "epci_indicators_"


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
        os.replace(tmp, target)
        written[zone] = {"file": str(target), "features": int(len(layer)), "crs": gdf.crs.to_string()}
    # a zone that vanished from the polygons must not leave a stale layer behind
    for stale in out_dir.glob(f"{OUTPUT_PREFIX}*.parquet"):
        if stale.stem.removeprefix(OUTPUT_PREFIX) not in polygons:
            stale.unlink()
    return {"polygon_year": polygon_year, "layers": written, "polygons_without_indicators": unmatched}
