"""INSEE EPCI composition: the raw asset (files as published, or the embedded copy)."""

import dagster as dg

from assets.insee_epci.source import SPEC
from observatory.sources import raw_asset

raw_insee_epci = raw_asset(SPEC)

defs = dg.Definitions(assets=[raw_insee_epci])
