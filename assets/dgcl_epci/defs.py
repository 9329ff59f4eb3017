"""DGCL epcicom: the raw asset (embedded copy; see source.py for why nothing is downloaded)."""

import dagster as dg

from assets.dgcl_epci.source import SPEC
from observatory.sources import raw_asset

raw_dgcl_epci = raw_asset(SPEC)

defs = dg.Definitions(assets=[raw_dgcl_epci])
