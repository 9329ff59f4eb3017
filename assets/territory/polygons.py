"""EPCI polygons by dissolving commune polygons, one GeoParquet per year and zone.

Each zone is dissolved in its own projected CRS (never mixing CRSs in one operation):
metropolitan France in Lambert-93, each DROM in its local UTM.
"""

import geopandas as gpd
import pandas as pd
import shapely

#: Zone -> EPSG code. 971/972 share UTM 20N (RGAF09).
ZONE_CRS = {"metro": 2154, "971": 5490, "972": 5490, "973": 2972, "974": 2975, "976": 4471}


def zone_of(code: str) -> str:
    return code[:3] if code.startswith("97") else "metro"


def dissolve(communes: gpd.GeoDataFrame, membership: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Commune polygons (``code_commune``, geometry, any CRS) + membership (``code_commune,
    epci_siren, epci_nom``) -> per zone: ``epci_siren, epci_nom, n_communes, geometry``.

    Communes outside any EPCI are left out. Polygons are made valid before the union.
    """
    joined = communes.merge(membership.dropna(subset=["epci_siren"]), on="code_commune", how="inner")
    joined["zone"] = joined["code_commune"].map(zone_of)
    out = {}
    for zone, part in joined.groupby("zone", sort=True):
        part = part.to_crs(ZONE_CRS[zone])
        part["geometry"] = shapely.make_valid(part.geometry.values)
        rows = []
        for (siren, nom), grp in part.groupby(["epci_siren", "epci_nom"], dropna=False, sort=True):
            geom = shapely.union_all(grp.geometry.values)
            rows.append({"epci_siren": siren, "epci_nom": nom, "n_communes": grp["code_commune"].nunique(), "geometry": geom})
        out[zone] = gpd.GeoDataFrame(rows, geometry="geometry", crs=ZONE_CRS[zone])
    return out
