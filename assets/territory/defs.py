"""Territory: the cross-source int and marts work over the staged commune geography and membership.

The staging belongs to the source packages (``stg.communes`` and ``stg.commune_passage``: ``assets/cog``;
``stg.epci_membership`` and ``stg.epci``: ``assets/insee_epci``; ``stg.dgcl_epci_membership``:
``assets/dgcl_epci``; the commune polygons' plan: ``assets/contours``). Here: the any-code -> any-year
commune code map, the EPCI polygons, and the merger marts (epci_mergers, epci_lineage, commune_epci),
all unpartitioned, reading every year. Rules: docs/methodology.md (Territory).
"""

from collections import defaultdict
from pathlib import Path

import dagster as dg
import polars as pl

from assets.common.passage import PassageRow, code_map, complete_steps
from assets.common.years import TERRITORY_YEARS
from assets.contours.source import SPEC as CONTOURS
from assets.territory import columns, names, sql
from assets.territory.checks import all_checks
from assets.territory.mergers import YearInputs, compare_all
from assets.territory.reconciliation import REFERENCE, load_reference, reconcile
from observatory.resources import Downloader, Warehouse, json_metadata as _json, store_frame as _store
from observatory.sources import licence_metadata
from observatory.sql import sql_deps

GROUP = "territory"
OWNERS = ["team:data"]
HERE = Path(__file__).parent


def _frame(con, query: str, params: list | None = None) -> pl.DataFrame:
    return con.execute(query, params or []).pl()


def _codes_by_year(communes: pl.DataFrame) -> dict[int, set[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for y, c in communes.select("annee", "code_commune").iter_rows():
        out[y].add(c)
    return dict(out)


def _population_by_year(communes: pl.DataFrame) -> dict[int, dict[str, float | None]]:
    out: dict[int, dict[str, float | None]] = defaultdict(dict)
    for y, c, p in communes.select("annee", "code_commune", "population").iter_rows():
        out[y][c] = p
    return dict(out)


def _steps(con):
    communes = _frame(con, "select annee, code_commune from stg.communes")
    rows = [
        PassageRow(*r) for r in con.execute("select annee_from, code_from, code_to, typemodif, ratio from stg.commune_passage").fetchall()
    ]
    return complete_steps(_codes_by_year(communes), rows, source="stg.commune_passage")


@dg.asset(
    key=["int", "commune_code_map"],
    deps=[dg.AssetKey(["stg", "commune_passage"]), dg.AssetKey(["stg", "communes"])],
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
)
def int_commune_code_map(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Any commune code seen 2015-2026 (and the PLM arrondissements) -> its code in the geography of
    each year 2015-2026. A code is read in its latest meaning; forward fusions and code changes are
    exact, backward fusions and forward splits are estimated (``estimated``, ``method``)."""
    with warehouse.connect() as con:
        communes = _frame(con, "select annee, code_commune, population from stg.communes")
        rows = code_map(_codes_by_year(communes), _steps(con), _population_by_year(communes))
        frame = pl.DataFrame(
            rows,
            schema={
                "code_commune": pl.Utf8,
                "annee": pl.Int32,
                "code_commune_annee": pl.Utf8,
                "method": pl.Utf8,
                "estimated": pl.Boolean,
                "annee_reference": pl.Int32,
            },
            orient="row",
        )
        _store(con, "int.commune_code_map", frame)
        methods = con.execute("select method, estimated, count(*) from int.commune_code_map group by all order by 3 desc").fetchall()
        md = warehouse.table_metadata(con, columns.CODE_MAP)
    return dg.MaterializeResult(metadata={**md, "rows_per_method": _json([list(m) for m in methods])})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "epci_mergers"],
            deps=[["stg", "epci_membership"], ["stg", "commune_passage"], ["stg", "epci"]],
            group_name=GROUP,
            kinds={"duckdb"},
            owners=OWNERS,
            description="One row per EPCI change (type and EPCI) on 1 January 2016-2026 (fusion, extension, transfert, "
            "scission, dissolution, changement_identifiant, creation, retrait, transformation), derived by "
            "comparing consecutive years on the commune geography of the later year.",
        ),
        dg.AssetSpec(
            ["marts", "epci_lineage"],
            deps=[["stg", "epci_membership"], ["stg", "commune_passage"], ["stg", "epci"]],
            group_name=GROUP,
            kinds={"duckdb"},
            owners=OWNERS,
            description="Predecessor -> successor EPCI edges between consecutive 1 January compositions, with the "
            "share of communes and of population that moved.",
        ),
    ],
    pool="duckdb",
)
def marts_epci_changes(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """EPCI mergers and lineage 2016-2026 (rules: assets/territory/mergers.py)."""
    with warehouse.connect() as con:
        steps = _steps(con)
        communes = _frame(con, "select annee, code_commune, population from stg.communes")
        pops = _population_by_year(communes)
        membership: dict[int, dict[str, str | None]] = defaultdict(dict)
        for y, c, e in con.execute("select annee, code_commune, epci_siren from stg.epci_membership").fetchall():
            membership[y][c] = e
        names: dict[int, dict[str, str]] = defaultdict(dict)
        natures: dict[int, dict[str, str]] = defaultdict(dict)
        for y, e, n, nature in con.execute("select annee, epci_siren, epci_nom, epci_nature from stg.epci").fetchall():
            names[y][e] = n
            natures[y][e] = nature
        years = {y: YearInputs(membership[y], pops[y], names[y], natures[y]) for y in sorted(membership)}
        events, lineage = compare_all(years, steps)
        _store(con, "marts.epci_mergers", pl.DataFrame(events, schema=sql.MERGERS_SCHEMA))
        _store(con, "marts.epci_lineage", pl.DataFrame(lineage, schema=sql.LINEAGE_SCHEMA))
        sql.comment(con, "marts.epci_mergers")
        sql.comment(con, "marts.epci_lineage")
        per_type = con.execute("select annee, type_evenement, count(*) from marts.epci_mergers group by all order by all").fetchall()
        md_m = warehouse.table_metadata(con, "marts.epci_mergers")
        md_l = warehouse.table_metadata(con, "marts.epci_lineage")
    yield dg.MaterializeResult(
        asset_key=["marts", "epci_mergers"], metadata={**md_m, "events_per_year_and_type": _json([list(r) for r in per_type])}
    )
    yield dg.MaterializeResult(asset_key=["marts", "epci_lineage"], metadata=md_l)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            ["marts", "epci_mergers_reconciliation"],
            deps=[["marts", "epci_mergers"], ["marts", "epci_lineage"], ["stg", "epci"]],
            group_name=GROUP,
            kinds={"duckdb"},
            owners=OWNERS,
            description="EPCI counts by nature (2015-2026) and the mart's change types set against the official DGCL "
            "counts (2017 wave: 493 fusions, 76 dissolutions, 4 transformations), with sources.",
        ),
        dg.AssetSpec(
            ["marts", "epci_mergers_reconciliation_epci"],
            deps=[["marts", "epci_mergers"], ["marts", "epci_lineage"], ["stg", "epci"]],
            group_name=GROUP,
            kinds={"duckdb"},
            owners=OWNERS,
            description="The EPCI behind each operation count of marts.epci_mergers_reconciliation, certain or possible.",
        ),
    ],
    pool="duckdb",
)
def marts_epci_mergers_reconciliation(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Reconciliation with the DGCL's counts (rules: assets/territory/reconciliation.py; figures and sources:
    assets/territory/reference/official_epci_counts.csv). Differences fail the blocking check, not this asset."""
    official = load_reference(years=TERRITORY_YEARS)
    with warehouse.connect() as con:
        events = _frame(con, "select * from marts.epci_mergers").to_dicts()
        lineage = _frame(con, "select annee, epci_siren_avant, epci_siren_apres, absorbed from marts.epci_lineage").to_dicts()
        epci: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
        for y, e, n, nature in con.execute("select annee, epci_siren, epci_nom, epci_nature from stg.epci").fetchall():
            epci[y][e] = (n, nature)
        summary, detail = reconcile(events, lineage, dict(epci), official)
        for table, rows, schema in (
            ("marts.epci_mergers_reconciliation", summary, sql.RECONCILIATION_SCHEMA),
            ("marts.epci_mergers_reconciliation_epci", detail, sql.RECONCILIATION_EPCI_SCHEMA),
        ):
            _store(con, table, pl.DataFrame(rows, schema=schema))
            sql.comment(con, table)
        statuses = con.execute("select status, count(*) from marts.epci_mergers_reconciliation group by 1 order by 1").fetchall()
        ops_2017 = con.execute(
            "select item, n_official, n_observed, n_compatible_min, n_compatible_max, status from marts.epci_mergers_reconciliation "
            "where annee = 2017 and kind = 'operation' order by item"
        ).fetchall()
        md_s = warehouse.table_metadata(con, "marts.epci_mergers_reconciliation")
        md_d = warehouse.table_metadata(con, "marts.epci_mergers_reconciliation_epci")
    yield dg.MaterializeResult(
        asset_key=["marts", "epci_mergers_reconciliation"],
        metadata={
            **md_s,
            "reference_file": str(REFERENCE.relative_to(REFERENCE.parents[3])),
            "rows_per_status": _json(dict(statuses)),
            "operations_2017": _json([list(r) for r in ops_2017]),
        },
    )
    yield dg.MaterializeResult(asset_key=["marts", "epci_mergers_reconciliation_epci"], metadata=md_d)


@dg.asset(
    key=["marts", "commune_epci"],
    # names.register_epci_names reads stg.epci and stg.dgcl_epci_membership besides the SQL's tables
    deps=sorted(
        {*sql_deps(HERE, ["marts_commune_epci"]), dg.AssetKey(["stg", "epci"]), dg.AssetKey(["stg", "dgcl_epci_membership"])},
        key=lambda k: k.path,
    ),
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
)
def marts_commune_epci(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Which EPCI commune X belonged to on 1 January of year Y, 2015-2026, for any commune code seen
    in those years (old, new, or a PLM arrondissement): the published form of the code map joined to
    the membership."""
    with warehouse.connect() as con:
        repairs = names.register_epci_names(con)
        try:
            warehouse.run_sql_file(con, sql.path("marts_commune_epci"))
        finally:
            con.execute("drop table if exists _epci_names")
        sql.comment(con, "marts.commune_epci")
        md = warehouse.table_metadata(con, "marts.commune_epci")
    md["epci_name_repairs"] = _json(repairs)
    return dg.MaterializeResult(metadata=md)


@dg.asset(
    key=["int", "epci_polygons"],
    deps=[dg.AssetKey(["stg", "epci_membership"]), dg.AssetKey(["stg", "epci"]), dg.AssetKey(["stg", "commune_passage"]), CONTOURS.raw_key],
    group_name=GROUP,
    kinds={"duckdb", "geoparquet"},
    owners=OWNERS,
    pool="duckdb",
)
def int_epci_polygons(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """EPCI polygons by dissolving commune polygons, written as GeoParquet to
    ``data/build/geo/epci_<annee>_<zone>.parquet`` (metropolitan France in EPSG:2154, each DROM in its
    UTM: 971/972 EPSG:5490, 973 EPSG:2972, 974 EPSG:2975, 976 EPSG:4471). Embedded: 2016, 2017
    (2016 polygons through the passage table), 2018, 2021 and 2024; the CARTElette 2021/2024
    polygons moved the DROM for display, so the DROM of those years use the 2018 polygons."""
    from assets.territory.geometry import build_epci_polygons

    geo_dir = Path(warehouse.path).parent / "geo"
    with warehouse.connect() as con:
        steps = _steps(con)
        frame, meta = build_epci_polygons(con, downloader, steps, geo_dir)
        _store(con, "int.epci_polygons", frame)
        md = warehouse.table_metadata(con, columns.POLYGONS)
    return dg.MaterializeResult(
        metadata={
            **md,
            **licence_metadata(CONTOURS),
            "files": _json(meta["files"]),
            "plan": _json(meta["plan"]),
            "communes_without_polygon": _json(meta["missing"]),
            "crs": _json(meta["crs"]),
        }
    )


defs = dg.Definitions(
    assets=[int_commune_code_map, marts_epci_changes, marts_epci_mergers_reconciliation, marts_commune_epci, int_epci_polygons],
    asset_checks=all_checks(),
)
