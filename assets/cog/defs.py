"""INSEE COG: the raw asset (CSV as published, or the embedded copies)."""

import dagster as dg

from assets.cog.source import SPEC
from observatory.sources import raw_asset

raw_cog = raw_asset(SPEC)

defs = dg.Definitions(assets=[raw_cog])
