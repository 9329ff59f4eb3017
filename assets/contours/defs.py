"""Commune contours: the raw asset (Etalab GeoJSON as published, or the embedded GeoParquet)."""

import dagster as dg

from assets.contours.source import SPEC
from observatory.sources import raw_asset

raw_contours = raw_asset(SPEC)

defs = dg.Definitions(assets=[raw_contours])
