"""INSEE composition communale des EPCI: raw files -> ``stg.epci_membership`` and ``stg.epci`` (both
partitioned by year, 1 January).

``stg.epci_membership`` is cross-source (the INSEE table, Etalab's composition for the years it alone
covers, chosen by the file plans: ``stage.py``); the INSEE package owns it as the official membership.
``stg.epci`` is derived from it in SQL (``stg_epci.sql``), its dependencies read from that SQL.
"""

from pathlib import Path

import dagster as dg
import polars as pl

from assets.cog.source import SPEC as COG
from assets.common.validate import METROPOLE_DE_LYON, reconcile
from assets.common.years import YEARS
from assets.dgcl_epci.source import SPEC as DGCL
from assets.etalab_epci.source import SPEC as ETALAB
from assets.insee_epci import checks, columns, stage
from assets.insee_epci.source import SPEC
from observatory.publish import MIN_ROWS
from observatory.partitions import replace_years, replace_years_frame, written_metadata, years_to_build
from observatory.quality import table_check
from observatory.resources import Downloader, Warehouse, json_metadata, table_exists
from observatory.sources import licence_metadata, raw_asset
from observatory.sql import sql_deps

raw_insee_epci = raw_asset(SPEC)

HERE = Path(__file__).parent
GROUP = "territory"
OWNERS = ["team:data"]
YEARLY = dict(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run())
DGCL_TABLE = "stg.dgcl_epci_membership"


@dg.asset(
    key=["stg", "epci_membership"],
    deps=[dg.AssetKey(["stg", "communes"]), dg.AssetKey(DGCL_TABLE.split(".")), SPEC.raw_key, ETALAB.raw_key, COG.raw_key],
    # one row per commune and year: about 35,000 a year
    metadata={MIN_ROWS: 30_000},
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
    **YEARLY,
)
def stg_epci_membership(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Commune -> EPCI on 1 January, every commune of every year of the reference (epci_siren NULL: outside
    any EPCI). INSEE 2015-2019, Etalab 2020-2026 (embedded mode); every year both sources cover is
    reconciled and the differences are in the metadata, as is the DGCL cross-check of the years DGCL covers.
    Partitioned by year: a run replaces the rows of its years only, aligned on the same years of ``stg.communes``."""
    years = years_to_build(context)
    with warehouse.connect() as con:
        communes = con.execute("select annee, code_commune from stg.communes where list_contains(?, annee)", [years]).pl()
        frame, meta = stage.load_membership(downloader, communes, years)
        written = replace_years_frame(con, "stg.epci_membership", years, frame)
        dgcl = {}
        for y in sorted(set(DGCL.plan_years("epci_membership")) & set(years)):
            if not table_exists(con, DGCL_TABLE):
                dgcl[str(y)] = f"{DGCL_TABLE} not built yet: cross-check skipped"
                continue
            b = con.execute(f"select code_commune, epci_siren from {DGCL_TABLE} where annee = ?", [y]).pl()
            if b.height:
                dgcl[str(y)] = reconcile(frame.filter((pl.col("annee") == y) & pl.col("epci_siren").is_not_null()), b, "insee", "dgcl")
        outside = dict(
            con.execute("select annee, count(*) from stg.epci_membership where epci_siren is null group by 1 order by 1").fetchall()
        )
        md = {**warehouse.table_metadata(con, columns.MEMBERSHIP), **written_metadata(con, "stg.epci_membership", written)}
    return dg.MaterializeResult(
        metadata={
            **md,
            **licence_metadata(SPEC, ETALAB, COG),
            "mode": downloader.source_mode,
            "sources": json_metadata(meta["years"]),
            "reconciliation": json_metadata(meta["reconciliation"] or "no year of this run is covered by both INSEE and Etalab"),
            "dgcl_cross_check": json_metadata(dgcl),
            "code_fixes": json_metadata(meta["code_fixes"]),
            "zero_padding_fixes": json_metadata(meta["fixes"]),
            "outside_any_epci_per_year": json_metadata(outside),
            "absent_from_source_so_outside_any_epci": json_metadata(meta["outside_any_epci_by_absence"]),
        }
    )


@dg.asset(
    key=["stg", "epci"],
    deps=sql_deps(HERE, ["stg_epci"]),
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
    # 1,250 (2026) to 2,150 (2015) EPCI a year
    metadata={MIN_ROWS: 1_000},
    **YEARLY,
)
def stg_epci(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """EPCI on 1 January of each year: name, nature, number of communes, population (sum of the
    communes' COG population), and whether it counts as an EPCI à fiscalité propre (the Métropole de
    Lyon does not). Partitioned by year: a run replaces the rows of its years only."""
    years = years_to_build(context)
    with warehouse.connect() as con:
        written = replace_years(
            con, "stg.epci", years, (HERE / "stg_epci.sql").read_text(encoding="utf-8"), {"lyon": METROPOLE_DE_LYON, "years": years}
        )
        counts = con.execute(
            "select annee, count(*) filter (where epci_a_fiscalite_propre), count(*) from stg.epci group by 1 order by 1"
        ).fetchall()
        md = {**warehouse.table_metadata(con, columns.EPCI), **written_metadata(con, "stg.epci", written)}
    return dg.MaterializeResult(
        metadata={
            **md,
            "epci_per_year": json_metadata({str(y): {"epci_a_fiscalite_propre": a, "rows_incl_lyon": b} for y, a, b in counts}),
            "metropole_de_lyon": checks.LYON_EXPLANATION,
        }
    )


defs = dg.Definitions(
    assets=[raw_insee_epci, stg_epci_membership, stg_epci],
    asset_checks=[
        table_check(
            "stg.epci_membership",
            checks.MEMBERSHIP_SUITE,
            description=(
                "Every commune of a year's COG belongs to exactly one EPCI, or is one of the known communes outside any EPCI: "
                "the four islands (22016, 29083, 29155, 85113) every year, and the listed cases of 2015-2017 (Paris and the "
                "petite couronne before the Métropole du Grand Paris, Mayotte in 2015, isolated communes, communes nouvelles "
                "not yet attached). Any other commune without an EPCI fails the check."
            ),
        ),
        table_check(
            "stg.epci",
            checks.EPCI_SUITE,
            description="EPCI per year: keys, formats, and the official count check. " + checks.LYON_EXPLANATION,
        ),
    ],
)
