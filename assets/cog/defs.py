"""INSEE COG: raw files -> ``stg.communes`` (partitioned by year) and ``stg.commune_passage``.

Both tables are cross-source (COG, Etalab, INSEE files, chosen by the file plans: ``stage.py``); the COG
package owns them as the official commune geography. ``stg.communes`` is partitioned by year (1 January,
``assets.common.years.YEARS``): a run replaces its years only.
"""

import dagster as dg
import polars as pl

from assets.cog import checks, columns, stage
from assets.cog.source import SPEC
from assets.common.passage import complete_steps
from assets.common.years import YEARS
from assets.etalab_epci.source import SPEC as ETALAB
from assets.insee_epci.source import SPEC as INSEE
from observatory.publish import MIN_ROWS
from observatory.partitions import replace_years_frame, written_metadata, years_to_build
from observatory.quality import table_check
from observatory.resources import Downloader, Warehouse, json_metadata, store_frame
from observatory.sources import licence_metadata, raw_asset

raw_cog = raw_asset(SPEC)

GROUP = "territory"
OWNERS = ["team:data"]
#: Yearly partitions, a backfill of a year range being one run (see observatory.partitions).
YEARLY = dict(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run())
COMMUNE_SOURCES = (SPEC, ETALAB, INSEE)


def codes_by_year(communes: pl.DataFrame) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for y, c in communes.select("annee", "code_commune").iter_rows():
        out.setdefault(y, set()).add(c)
    return out


@dg.asset(
    key=["stg", "communes"],
    deps=[s.raw_key for s in COMMUNE_SOURCES],
    # France has about 35,000 communes a year: fewer than one year's is a truncated list
    metadata={MIN_ROWS: 30_000},
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
    **YEARLY,
)
def stg_communes(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Communes (France: metropolitan and DROM) on 1 January of each year of the reference, with
    département, région and population (COG population; NULL where the year's source has none).
    Partitioned by year: a run replaces the rows of its years only."""
    years = years_to_build(context)
    frame, meta = stage.load_communes(downloader, years)
    with warehouse.connect() as con:
        written = replace_years_frame(con, "stg.communes", years, frame)
        counts = dict(con.execute("select annee, count(*) from stg.communes group by 1 order by 1").fetchall())
        md = {**warehouse.table_metadata(con, columns.COMMUNES), **written_metadata(con, "stg.communes", written)}
    return dg.MaterializeResult(
        metadata={
            **md,
            **licence_metadata(*COMMUNE_SOURCES),
            "mode": downloader.source_mode,
            "communes_per_year": json_metadata(counts),
            "sources": json_metadata(meta),
        }
    )


@dg.asset(
    key=["stg", "commune_passage"],
    deps=[dg.AssetKey(["stg", "communes"]), SPEC.raw_key, ETALAB.raw_key],
    # about 2,700 commune events since 2015 (mergers, splits, code changes)
    metadata={MIN_ROWS: 1_000},
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
)
def stg_commune_passage(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Yearly commune code passage between consecutive 1 January geographies (f = fusion, d = split with
    its population ratio, c = change of code). Every other code carries over unchanged; the asset fails if
    the rows and the commune lists contradict each other."""
    with warehouse.connect() as con:
        communes = con.execute("select annee, code_commune, population from stg.communes").pl()
        rows, meta = stage.load_passage(downloader, communes)
        complete_steps(codes_by_year(communes), [r for r, _ in rows], source="commune passage")  # raises on contradictions
        frame = (
            pl.DataFrame(
                [(r.annee_from, r.annee_from + 1, r.code_from, r.code_to, r.typemodif, r.ratio, s) for r, s in rows],
                schema={
                    "annee_from": pl.Int32,
                    "annee_to": pl.Int32,
                    "code_from": pl.Utf8,
                    "code_to": pl.Utf8,
                    "typemodif": pl.Utf8,
                    "ratio": pl.Float64,
                    "source": pl.Utf8,
                },
                orient="row",
            )
            .unique()
            .sort("annee_from", "code_from", "code_to")
        )
        store_frame(con, "stg.commune_passage", frame)
        per_step = con.execute(
            "select annee_from || '->' || annee_to, typemodif, count(*) from stg.commune_passage group by all order by all"
        ).fetchall()
        md = warehouse.table_metadata(con, columns.PASSAGE)
    return dg.MaterializeResult(
        metadata={
            **md,
            **licence_metadata(SPEC, ETALAB),
            "sources": json_metadata(meta["steps"]),
            "rows_per_step": json_metadata([list(r) for r in per_step]),
        }
    )


defs = dg.Definitions(
    assets=[raw_cog, stg_communes, stg_commune_passage],
    asset_checks=[table_check("stg.communes", checks.COMMUNES_SUITE), table_check("stg.commune_passage", checks.PASSAGE_SUITE)],
)
