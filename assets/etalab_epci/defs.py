"""Etalab découpage administratif: the raw asset (JSON as published, or the embedded copy)."""

import dagster as dg

from assets.etalab_epci.source import SPEC
from observatory.sources import raw_asset

raw_etalab_epci = raw_asset(SPEC)

defs = dg.Definitions(assets=[raw_etalab_epci])
