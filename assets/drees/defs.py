"""DREES source: département tables of the childcare-supply survey -> stg.drees_offre_departement."""

import dagster as dg

from assets.drees import columns
from assets.drees.stage import load_drees
from assets.drees.source import SPEC, TABLES
from assets.common.identifiers import DEPARTEMENT_RE
from observatory.publish import MIN_ROWS
from observatory.quality import Between, Columns, InSet, Matches, NotNull, RowCount, Sql, Unique, table_check
from observatory.resources import Downloader, Warehouse
from observatory.sources import raw_asset, resolve_one

raw_drees = raw_asset(SPEC)
TABLE = columns.OFFRE_DEPARTEMENT.table


@dg.asset(
    key=dg.AssetKey(["stg", "drees_offre_departement"]),
    deps=[SPEC.raw_key],
    # about 100 départements times a few indicators a year: fewer than 100 rows is not even one year
    metadata={MIN_ROWS: 100},
    group_name="drees",
    kinds={"duckdb", "polars"},
    owners=["team:data"],
    pool="duckdb",
)
def stg_drees_offre_departement(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """DREES indicators by département and year, long format (annee, code_departement, indicateur, valeur).

    Sub-totals that are not départements (6AE Alsace = 67 + 68; 69D/69M = 69) are dropped and counted;
    thousands separators removed; missing (secret) values are NULL, never 0.
    """
    # official mode: the tables saved by hand in data/raw/drees/manual/ (the plan's error says where and from where)
    paths = {int(f.entry.detail("table")): f.path for f in resolve_one(downloader, SPEC, "tables")}
    with warehouse.connect() as con:
        stats = load_drees(con, paths)
        return dg.MaterializeResult(
            metadata={
                **warehouse.table_metadata(con, columns.OFFRE_DEPARTEMENT),
                "tables": dg.MetadataValue.json(stats),
                "source_url": dg.MetadataValue.url(SPEC.homepage),
                "licence": SPEC.licence,
            }
        )


SUITE = [
    Columns(columns.OFFRE_DEPARTEMENT.types),
    RowCount(min_value=1),
    Unique("indicateur", "annee", "code_departement"),
    NotNull("code_departement"),
    Matches("code_departement", DEPARTEMENT_RE),
    InSet("indicateur", tuple(ind for ind, _ in TABLES.values())),
    Between("valeur", 0, None),
    Sql(
        "about 100 départements per indicator and year (a lost row or a duplicated table shows here)",
        "select indicateur, annee, count(*) as n from {table} group by all having count(*) not between 96 and 101",
    ),
]

drees_check = table_check(TABLE, SUITE)

defs = dg.Definitions(assets=[raw_drees, stg_drees_offre_departement], asset_checks=[drees_check])
