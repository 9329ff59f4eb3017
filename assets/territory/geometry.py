"""EPCI polygons of each year from the commune polygons the contours plan gives it (``assets/contours/stage.py``), as GeoParquet."""

from pathlib import Path

import geopandas as gpd
import pandas as pd
import polars as pl

from assets.common.identifiers import PLM_ARRONDISSEMENTS
from assets.common.passage import Steps, forward_codes
from assets.contours.stage import polygon_plan, read_polygons
from assets.territory.polygons import ZONE_CRS, dissolve
from observatory.resources import Downloader


def build_epci_polygons(con, dl: Downloader, steps: Steps, geo_dir: Path) -> tuple[pl.DataFrame, dict]:
    geo_dir.mkdir(parents=True, exist_ok=True)
    for old in geo_dir.glob("epci_*.parquet"):
        old.unlink()
    cache: dict[str, gpd.GeoDataFrame] = {}
    rows, files, missing, used_plan = [], {}, {}, {}
    for target, parts in polygon_plan(dl).items():
        communes_target = set(r[0] for r in con.execute("select code_commune from stg.communes where annee = ?", [target]).fetchall())
        pieces = []
        for planned, source_year, zones in parts:
            if str(planned.path) not in cache:
                cache[str(planned.path)] = read_polygons(planned)
            gdf = cache[str(planned.path)].copy()
            gdf["code_commune"] = gdf["code_commune"].map(lambda c: PLM_ARRONDISSEMENTS.get(c, c))
            drom = gdf["code_commune"].str.startswith("97")
            gdf = gdf[~drom] if zones == "metro" else gdf[drom] if zones == "drom" else gdf
            known = gdf["code_commune"].isin(set(steps.get(source_year, {})) | (communes_target if source_year == target else set()))
            if not known.all():
                raise ValueError(
                    f"contours {source_year}: codes {sorted(gdf.loc[~known, 'code_commune'])[:10]} are not communes of {source_year}"
                )
            mapping = forward_codes(steps, source_year, target, gdf["code_commune"].unique())
            gdf["code_commune"] = gdf["code_commune"].map({c: m[0] for c, m in mapping.items()})
            pieces.append(gdf[["code_commune", "geometry"]])
        polys = gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), geometry="geometry", crs=pieces[0].crs)
        membership = con.execute("select code_commune, epci_siren, epci_nom from stg.epci_membership where annee = ?", [target]).df()
        with_epci = set(membership.dropna(subset=["epci_siren"])["code_commune"])
        missing[str(target)] = sorted(with_epci - set(polys["code_commune"]))
        used_plan[str(target)] = [f"{y} ({z})" for _, y, z in parts]
        for zone, out in dissolve(polys, membership).items():
            name = f"epci_{target}_{zone}.parquet"
            out = out.assign(annee=target)
            out[["epci_siren", "epci_nom", "annee", "geometry"]].to_parquet(geo_dir / name, compression="zstd", index=False)
            files[name] = {"crs": f"EPSG:{ZONE_CRS[zone]}", "epci": len(out)}
            for r in out.itertuples():
                rows.append(
                    (
                        target,
                        zone,
                        r.epci_siren,
                        r.epci_nom,
                        ZONE_CRS[zone],
                        int(r.n_communes),
                        float(r.geometry.area) / 1e6,
                        str(geo_dir / name),
                    )
                )
    frame = pl.DataFrame(
        rows,
        schema={
            "annee": pl.Int32,
            "zone": pl.Utf8,
            "epci_siren": pl.Utf8,
            "epci_nom": pl.Utf8,
            "crs": pl.Int32,
            "n_communes": pl.Int32,
            "area_km2": pl.Float64,
            "file": pl.Utf8,
        },
        orient="row",
    )
    meta = {
        "files": files,
        "plan": used_plan,
        "missing": {y: {"count": len(v), "examples": v[:10]} for y, v in missing.items()},
        "crs": {z: f"EPSG:{c}" for z, c in ZONE_CRS.items()},
    }
    return frame.sort("annee", "zone", "epci_siren"), meta
