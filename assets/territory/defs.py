"""Territory 2015-2026: communes, EPCI membership, code passage, EPCI polygons, merger marts.

Cross-source tables built from the five territorial sources (insee_epci, etalab_epci, cog,
dgcl_epci, contours). Year plan and rules: ``inputs.py`` and docs/methodology.md (Territory).

``stg/communes``, ``stg/epci_membership`` and ``stg/epci`` are partitioned by year (1 January;
``observatory.partitions.YEARS``): one official list and composition per year, so a year can be
refreshed or backfilled alone. They replace only the years of their run; everything below them
(passage, code map, polygons, marts) is unpartitioned and reads every year.
"""

import json
from collections import defaultdict
from pathlib import Path

import dagster as dg
import polars as pl

from assets.territory import inputs, sql
from assets.territory.checks import LYON_EXPLANATION, all_checks
from assets.territory.mergers import YearInputs, compare_all
from assets.territory.passage import PassageRow, code_map, complete_steps
from assets.territory.reconciliation import REFERENCE, load_reference, reconcile
from observatory.partitions import YEARS, replace_years, written_metadata, years_to_build
from observatory.resources import Downloader, Warehouse

GROUP = "territory"
OWNERS = ["team:data"]
RAW = {name: dg.AssetKey(["raw", name]) for name in ("insee_epci", "etalab_epci", "cog", "dgcl_epci", "contours")}
#: Yearly partitions, a backfill of a year range being one run (see observatory.partitions).
YEARLY = dict(partitions_def=YEARS, backfill_policy=dg.BackfillPolicy.single_run())


def _store(con, table: str, frame: pl.DataFrame) -> None:
    """Replace ``table`` with ``frame`` (Arrow hand-over, no CSV round trip)."""
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"create or replace table {table} as select * from _frame")
    finally:
        con.unregister("_frame")


def _replace(con, table: str, years: list[int], frame: pl.DataFrame) -> dict[int, int]:
    """Replace the rows of ``years`` in ``table`` with ``frame`` (those years only), in one transaction."""
    con.register("_frame", frame.to_arrow())
    try:
        return replace_years(con, table, years, "select * from _frame")
    finally:
        con.unregister("_frame")


def _table_exists(con, table: str) -> bool:
    schema, name = table.split(".")
    return bool(con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, name]).fetchone()[0])


def _sources(*names: str) -> dict:
    """Publisher, licence and page of the sources a table is built from (sha256s are on the raw assets)."""
    specs = [inputs._spec(n) for n in names]
    return {"source_licences": _json({s.name: {"publisher": s.publisher, "licence": s.licence, "url": s.homepage} for s in specs})}


def _json(value) -> dg.MetadataValue:
    return dg.MetadataValue.json(json.loads(json.dumps(value, default=str)))


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
    rows = [PassageRow(*r) for r in con.execute("select annee_from, code_from, code_to, typemodif, ratio from stg.commune_passage").fetchall()]
    return complete_steps(_codes_by_year(communes), rows, source="stg.commune_passage")


@dg.asset(
    key=["stg", "communes"], deps=[RAW["cog"], RAW["etalab_epci"], RAW["insee_epci"]], group_name=GROUP, kinds={"duckdb"},
    owners=OWNERS, pool="duckdb", **YEARLY,
)
def stg_communes(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Communes (France: metropolitan and DROM) on 1 January of each year 2015-2026, with
    département, région and population (COG population; NULL where the year's source has none).
    Partitioned by year: a run replaces the rows of its years only."""
    years = years_to_build(context)
    frame, meta = inputs.load_communes(downloader, years)
    with warehouse.connect() as con:
        written = _replace(con, "stg.communes", years, frame)
        counts = dict(con.execute("select annee, count(*) from stg.communes group by 1 order by 1").fetchall())
        md = {**warehouse.table_metadata(con, "stg.communes"), **written_metadata(con, "stg.communes", written)}
    return dg.MaterializeResult(metadata={**md, **_sources("cog", "etalab_epci", "insee_epci"), "mode": downloader.source_mode,
                                          "communes_per_year": _json(counts), "sources": _json(meta)})


@dg.asset(
    key=["stg", "dgcl_epci_membership"], deps=[RAW["dgcl_epci"]], group_name=GROUP, kinds={"duckdb"}, owners=OWNERS, pool="duckdb",
)
def stg_dgcl_epci_membership(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """DGCL epcicom 2014-2017 (commune -> EPCI with DGCL populations), a cross-check of the INSEE
    membership. Commune codes that lost their leading zero are zero-padded; the count is in ``fixes``."""
    frame, meta = inputs.load_dgcl(downloader)
    with warehouse.connect() as con:
        _store(con, "stg.dgcl_epci_membership", frame)
        md = warehouse.table_metadata(con, "stg.dgcl_epci_membership")
    return dg.MaterializeResult(metadata={**md, **_sources("dgcl_epci"), "fixes": _json(meta["fixes"]), "source_file": meta["file"]})


@dg.asset(
    key=["stg", "epci_membership"], deps=[dg.AssetKey(["stg", "communes"]), dg.AssetKey(["stg", "dgcl_epci_membership"]), RAW["insee_epci"], RAW["etalab_epci"], RAW["cog"]],
    group_name=GROUP, kinds={"duckdb"}, owners=OWNERS, pool="duckdb", **YEARLY,
)
def stg_epci_membership(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Commune -> EPCI on 1 January, every commune of every year 2015-2026 (epci_siren NULL: outside
    any EPCI). INSEE 2015-2019, Etalab 2020-2026 (embedded mode); the overlapping year 2019 is
    reconciled and the differences are in the metadata, as is the DGCL cross-check of 2015-2017.
    Partitioned by year: a run replaces the rows of its years only, aligned on the same years of
    ``stg.communes``."""
    years = years_to_build(context)
    with warehouse.connect() as con:
        communes = _frame(con, "select annee, code_commune from stg.communes where list_contains(?, annee)", [years])
        frame, meta = inputs.load_membership(downloader, communes, years)
        written = _replace(con, "stg.epci_membership", years, frame)
        dgcl = {}
        for y in sorted({2015, 2016, 2017} & set(years)):
            if not _table_exists(con, "stg.dgcl_epci_membership"):
                dgcl[str(y)] = "stg.dgcl_epci_membership not built yet: cross-check skipped"
                continue
            a = frame.filter(pl.col("annee") == y)
            b = _frame(con, "select code_commune, epci_siren from stg.dgcl_epci_membership where annee = ?", [y])
            if b.height:
                dgcl[str(y)] = inputs.reconcile(a.filter(pl.col("epci_siren").is_not_null()), b, "insee", "dgcl")
        outside = dict(con.execute("select annee, count(*) from stg.epci_membership where epci_siren is null group by 1 order by 1").fetchall())
        md = {**warehouse.table_metadata(con, "stg.epci_membership"), **written_metadata(con, "stg.epci_membership", written)}
    reconciliation = meta["reconciliation_2019"] if meta["reconciliation_2019"] is not None else "2019 not among the years of this run"
    return dg.MaterializeResult(metadata={
        **md, **_sources("insee_epci", "etalab_epci", "cog"), "mode": downloader.source_mode, "sources": _json(meta["years"]),
        "reconciliation_2019": _json(reconciliation), "dgcl_cross_check": _json(dgcl),
        "code_fixes": _json(meta["code_fixes"]), "zero_padding_fixes": _json(meta["fixes"]),
        "outside_any_epci_per_year": _json(outside),
        "absent_from_source_so_outside_any_epci": _json(meta["outside_any_epci_by_absence"]),
    })


@dg.asset(
    key=["stg", "epci"], deps=[dg.AssetKey(["stg", "epci_membership"]), dg.AssetKey(["stg", "communes"])],
    group_name=GROUP, kinds={"duckdb"}, owners=OWNERS, pool="duckdb", **YEARLY,
)
def stg_epci(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """EPCI on 1 January of each year: name, nature, number of communes, population (sum of the
    communes' COG population), and whether it counts as an EPCI à fiscalité propre (the Métropole de
    Lyon does not). Partitioned by year: a run replaces the rows of its years only."""
    years = years_to_build(context)
    with warehouse.connect() as con:
        written = replace_years(con, "stg.epci", years, sql.path("stg_epci").read_text(encoding="utf-8"),
                                {"lyon": inputs.METROPOLE_DE_LYON, "years": years})
        counts = con.execute("select annee, count(*) filter (where epci_a_fiscalite_propre), count(*) from stg.epci group by 1 order by 1").fetchall()
        md = {**warehouse.table_metadata(con, "stg.epci"), **written_metadata(con, "stg.epci", written)}
    return dg.MaterializeResult(metadata={
        **md, "epci_per_year": _json({str(y): {"epci_a_fiscalite_propre": a, "rows_incl_lyon": b} for y, a, b in counts}),
        "metropole_de_lyon": LYON_EXPLANATION,
    })


@dg.asset(
    key=["stg", "commune_passage"], deps=[dg.AssetKey(["stg", "communes"]), RAW["cog"], RAW["etalab_epci"]],
    group_name=GROUP, kinds={"duckdb"}, owners=OWNERS, pool="duckdb",
)
def stg_commune_passage(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Yearly commune code passage 2015->2026: what changed between two 1 January geographies
    (f = fusion, d = split with its population ratio, c = change of code). Every other code carries
    over unchanged; the asset fails if the rows and the commune lists contradict each other."""
    with warehouse.connect() as con:
        communes = _frame(con, "select annee, code_commune, population from stg.communes")
        rows, meta = inputs.load_passage(downloader, communes)
        complete_steps(_codes_by_year(communes), [r for r, _ in rows], source="commune passage")  # raises on contradictions
        frame = pl.DataFrame(
            [(r.annee_from, r.annee_from + 1, r.code_from, r.code_to, r.typemodif, r.ratio, s) for r, s in rows],
            schema={"annee_from": pl.Int32, "annee_to": pl.Int32, "code_from": pl.Utf8, "code_to": pl.Utf8, "typemodif": pl.Utf8, "ratio": pl.Float64, "source": pl.Utf8},
            orient="row",
        ).unique().sort("annee_from", "code_from", "code_to")
        _store(con, "stg.commune_passage", frame)
        per_step = con.execute("select annee_from || '->' || annee_to, typemodif, count(*) from stg.commune_passage group by all order by all").fetchall()
        md = warehouse.table_metadata(con, "stg.commune_passage")
    return dg.MaterializeResult(metadata={**md, **_sources("cog", "etalab_epci"), "sources": _json(meta["steps"]),
                                          "rows_per_step": _json([list(r) for r in per_step])})


@dg.asset(
    key=["int", "commune_code_map"], deps=[dg.AssetKey(["stg", "commune_passage"]), dg.AssetKey(["stg", "communes"])],
    group_name=GROUP, kinds={"duckdb"}, owners=OWNERS, pool="duckdb",
)
def int_commune_code_map(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Any commune code seen 2015-2026 (and the PLM arrondissements) -> its code in the geography of
    each year 2015-2026. A code is read in its latest meaning; forward fusions and code changes are
    exact, backward fusions and forward splits are estimated (``estimated``, ``method``)."""
    with warehouse.connect() as con:
        communes = _frame(con, "select annee, code_commune, population from stg.communes")
        rows = code_map(_codes_by_year(communes), _steps(con), _population_by_year(communes))
        frame = pl.DataFrame(rows, schema={"code_commune": pl.Utf8, "annee": pl.Int32, "code_commune_annee": pl.Utf8,
                                           "method": pl.Utf8, "estimated": pl.Boolean, "annee_reference": pl.Int32}, orient="row")
        _store(con, "int.commune_code_map", frame)
        methods = con.execute("select method, estimated, count(*) from int.commune_code_map group by all order by 3 desc").fetchall()
        md = warehouse.table_metadata(con, "int.commune_code_map")
    return dg.MaterializeResult(metadata={**md, "rows_per_method": _json([list(m) for m in methods])})


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "epci_mergers"], deps=[["stg", "epci_membership"], ["stg", "commune_passage"], ["stg", "epci"]],
                     group_name=GROUP, kinds={"duckdb"}, owners=OWNERS,
                     description="One row per EPCI change (type and EPCI) on 1 January 2016-2026 (fusion, extension, transfert, "
                                 "scission, dissolution, changement_identifiant, creation, retrait, transformation), derived by "
                                 "comparing consecutive years on the commune geography of the later year."),
        dg.AssetSpec(["marts", "epci_lineage"], deps=[["stg", "epci_membership"], ["stg", "commune_passage"], ["stg", "epci"]],
                     group_name=GROUP, kinds={"duckdb"}, owners=OWNERS,
                     description="Predecessor -> successor EPCI edges between consecutive 1 January compositions, with the "
                                 "share of communes and of population that moved."),
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
    yield dg.MaterializeResult(asset_key=["marts", "epci_mergers"], metadata={**md_m, "events_per_year_and_type": _json([list(r) for r in per_type])})
    yield dg.MaterializeResult(asset_key=["marts", "epci_lineage"], metadata=md_l)


@dg.multi_asset(
    specs=[
        dg.AssetSpec(["marts", "epci_mergers_reconciliation"], deps=[["marts", "epci_mergers"], ["marts", "epci_lineage"], ["stg", "epci"]],
                     group_name=GROUP, kinds={"duckdb"}, owners=OWNERS,
                     description="EPCI counts by nature (2015-2026) and the mart's change types set against the official DGCL "
                                 "counts (2017 wave: 493 fusions, 76 dissolutions, 4 transformations), with sources."),
        dg.AssetSpec(["marts", "epci_mergers_reconciliation_epci"], deps=[["marts", "epci_mergers"], ["marts", "epci_lineage"], ["stg", "epci"]],
                     group_name=GROUP, kinds={"duckdb"}, owners=OWNERS,
                     description="The EPCI behind each operation count of marts.epci_mergers_reconciliation, certain or possible."),
    ],
    pool="duckdb",
)
def marts_epci_mergers_reconciliation(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Reconciliation with the DGCL's counts (rules: assets/territory/reconciliation.py; figures and sources:
    assets/territory/reference/official_epci_counts.csv). Differences fail the blocking check, not this asset."""
    official = load_reference(years=inputs.YEARS)
    with warehouse.connect() as con:
        events = _frame(con, "select * from marts.epci_mergers").to_dicts()
        lineage = _frame(con, "select annee, epci_siren_avant, epci_siren_apres, absorbed from marts.epci_lineage").to_dicts()
        epci: dict[int, dict[str, tuple[str, str]]] = defaultdict(dict)
        for y, e, n, nature in con.execute("select annee, epci_siren, epci_nom, epci_nature from stg.epci").fetchall():
            epci[y][e] = (n, nature)
        summary, detail = reconcile(events, lineage, dict(epci), official)
        for table, rows, schema in (("marts.epci_mergers_reconciliation", summary, sql.RECONCILIATION_SCHEMA),
                                    ("marts.epci_mergers_reconciliation_epci", detail, sql.RECONCILIATION_EPCI_SCHEMA)):
            _store(con, table, pl.DataFrame(rows, schema=schema))
            sql.comment(con, table)
        statuses = con.execute("select status, count(*) from marts.epci_mergers_reconciliation group by 1 order by 1").fetchall()
        ops_2017 = con.execute("select item, n_official, n_observed, n_compatible_min, n_compatible_max, status from marts.epci_mergers_reconciliation "
                               "where annee = 2017 and kind = 'operation' order by item").fetchall()
        md_s = warehouse.table_metadata(con, "marts.epci_mergers_reconciliation")
        md_d = warehouse.table_metadata(con, "marts.epci_mergers_reconciliation_epci")
    yield dg.MaterializeResult(asset_key=["marts", "epci_mergers_reconciliation"], metadata={
        **md_s, "reference_file": str(REFERENCE.relative_to(REFERENCE.parents[3])), "rows_per_status": _json(dict(statuses)),
        "operations_2017": _json([list(r) for r in ops_2017])})
    yield dg.MaterializeResult(asset_key=["marts", "epci_mergers_reconciliation_epci"], metadata=md_d)


@dg.asset(
    key=["marts", "commune_epci"], deps=[dg.AssetKey(["int", "commune_code_map"]), dg.AssetKey(["stg", "epci_membership"]), dg.AssetKey(["stg", "communes"])],
    group_name=GROUP, kinds={"duckdb"}, owners=OWNERS, pool="duckdb",
)
def marts_commune_epci(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Which EPCI commune X belonged to on 1 January of year Y, 2015-2026, for any commune code seen
    in those years (old, new, or a PLM arrondissement): the published form of the code map joined to
    the membership."""
    with warehouse.connect() as con:
        warehouse.run_sql_file(con, sql.path("marts_commune_epci"))
        sql.comment(con, "marts.commune_epci")
        md = warehouse.table_metadata(con, "marts.commune_epci")
    return dg.MaterializeResult(metadata=md)


@dg.asset(
    key=["int", "epci_polygons"], deps=[dg.AssetKey(["stg", "epci_membership"]), dg.AssetKey(["stg", "epci"]), dg.AssetKey(["stg", "commune_passage"]), RAW["contours"]],
    group_name=GROUP, kinds={"duckdb", "geoparquet"}, owners=OWNERS, pool="duckdb",
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
        md = warehouse.table_metadata(con, "int.epci_polygons")
    return dg.MaterializeResult(metadata={**md, **_sources("contours"), "files": _json(meta["files"]), "plan": _json(meta["plan"]),
                                          "communes_without_polygon": _json(meta["missing"]), "crs": _json(meta["crs"])})


defs = dg.Definitions(
    assets=[stg_communes, stg_dgcl_epci_membership, stg_epci_membership, stg_epci, stg_commune_passage,
            int_commune_code_map, marts_epci_changes, marts_epci_mergers_reconciliation, marts_commune_epci, int_epci_polygons],
    asset_checks=all_checks(),
)
