"""DGCL epcicom: raw file -> ``stg.dgcl_epci_membership`` (a cross-check of the INSEE membership)."""

import dagster as dg

from assets.dgcl_epci import checks, columns, stage
from assets.dgcl_epci.source import SPEC
from observatory.publish import MIN_ROWS
from observatory.quality import table_check
from observatory.resources import Downloader, Warehouse, json_metadata, store_frame
from observatory.sources import licence_metadata, raw_asset

raw_dgcl_epci = raw_asset(SPEC)
TABLE = columns.MEMBERSHIP.table


# about 35,000 communes in an EPCI on each of the four years: fewer than one year's is a truncated file
@dg.asset(
    key=TABLE.split("."),
    deps=[SPEC.raw_key],
    group_name="territory",
    kinds={"duckdb"},
    owners=["team:data"],
    pool="duckdb",
    metadata={MIN_ROWS: 30_000},
)
def stg_dgcl_epci_membership(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """DGCL epcicom 2014-2017 (commune -> EPCI with DGCL populations), a cross-check of the INSEE
    membership. Commune codes that lost their leading zero are zero-padded; the count is in ``fixes``."""
    frame, meta = stage.load_dgcl(downloader)
    with warehouse.connect() as con:
        store_frame(con, TABLE, frame)
        md = warehouse.table_metadata(con, columns.MEMBERSHIP)
    return dg.MaterializeResult(
        metadata={**md, **licence_metadata(SPEC), "fixes": json_metadata(meta["fixes"]), "source_file": str(meta["file"])}
    )


defs = dg.Definitions(assets=[raw_dgcl_epci, stg_dgcl_epci_membership], asset_checks=[table_check(TABLE, checks.DGCL_SUITE)])
