"""Commune polygons for the EPCI polygons of ``int.epci_polygons`` (built by the territory package): which
file feeds which target year and zones, as the file plan resolves it, and the reader of each file."""

import geopandas as gpd

from assets.contours.parse import read_embedded, read_etalab_communes
from assets.contours.source import SPEC
from observatory.resources import Downloader
from observatory.sources import EMBEDDED, PlannedFile, resolve_one


def polygon_plan(dl: Downloader) -> dict[int, list[tuple[PlannedFile, int, str]]]:
    """Target year -> [(file, its commune geography, zones taken from it: all / metro / drom)], for every
    year the run's files cover (no fallback: official mode builds the years of the official files)."""
    plan: dict[int, list[tuple[PlannedFile, int, str]]] = {}
    for f in resolve_one(dl, SPEC, "polygons", fallback=False):
        for y in f.years:
            plan.setdefault(y, []).append((f, int(f.entry.detail("geography")), str(f.entry.detail("zones"))))
    return dict(sorted(plan.items()))


def read_polygons(f: PlannedFile) -> gpd.GeoDataFrame:
    """``code_commune, geometry`` of one planned file."""
    return read_embedded(f.path) if f.variant == EMBEDDED else read_etalab_communes(f.path)
