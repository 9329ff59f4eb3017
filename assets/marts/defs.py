"""The observatory marts: facility -> territory, market shares, CAF supply, the merger study,
operators, facilities, the map layer and the sources they come from. Each asset calls one builder of
``build.py`` (``provenance.py`` for marts.sources)."""

from pathlib import Path

import dagster as dg

from assets.marts import build, merger, provenance, suites, transitions
from assets.marts import columns as C
from observatory.publish import GEO_STAGING
from observatory.quality import table_check
from assets.catalog import source_specs
from observatory.resources import Downloader, Lineage, Parameters, Warehouse, table_key
from observatory.sql import sql_deps
from observatory.sources import read_source

K = dg.AssetKey
HERE = Path(__file__).parent
MEMBERSHIP = K(["stg", "epci_membership"])
#: What assets/territory/names.py reads to repair EPCI names (the builders of ess_market_share,
#: childcare_supply and facilities call it).
NAME_SOURCES = (K(["stg", "epci"]), K(["stg", "dgcl_epci_membership"]))
POLYGONS = K(["int", "epci_polygons"])
FTY = K(["int", "facility_territory_years"])
SOURCES = provenance.SOURCES_KEY
SPECS = source_specs()


def _reads(*sql_files: str, extra: tuple[dg.AssetKey, ...] = ()) -> list[dg.AssetKey]:
    """Upstream keys of an asset: the tables its SQL files read (observatory.sql), plus what its Python code
    reads besides (``extra``): marts.sources for the facility_source label, the years of stg.epci_membership,
    the polygon files. tests/unit/test_sql_deps.py checks the SQL files of the other packages against their deps."""
    return sql_deps(HERE, sql_files, extra)


_COMMON = dict(group_name="marts", owners=["team:data"], pool="duckdb")


def _meta(warehouse: Warehouse, con, table: str, figures: dict) -> dict:
    meta = {**warehouse.table_metadata(con, table), "summary": dg.MetadataValue.json(figures)}
    if any(spec.table == table for spec in C.FACILITY_DERIVED):
        meta["facility_source"] = provenance.facility_source(con)
    return meta


@dg.asset(
    key=SOURCES,
    deps=[*(s.raw_key for s in SPECS), *(table_key(s.data_date_from[0]) for s in SPECS if s.data_date_from)],
    kinds={"duckdb", "python"},
    **_COMMON,
)
def sources(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader, lineage: Lineage) -> dg.MaterializeResult:
    """Where every published figure comes from: one row per source with the mode of this run (embedded copy,
    official files or a local directory), each file's sha256, size, origin and URL, the data date, whether the
    data are SYNTHETIC, and the published marts that depend on it (from the asset graph's lineage, handed in by the
    composition root as the ``lineage`` resource). The files are found and
    verified as the raw assets do (observatory.sources.read_source); the facility marts copy the SIRENE row's label
    into their facility_source column. A source whose files this run did not read (a run refreshing CAF alone)
    keeps the row recorded when its tables were built, marked read_by 'an earlier run'."""
    parents = lineage.parents()
    events = context.instance.get_records_for_run(context.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    done = [e.event_log_entry.dagster_event.asset_key.to_user_string() for e in events]
    fresh = provenance.read_by_run(parents, done, SPECS)
    used_by = provenance.used_by(parents, SPECS)
    with warehouse.connect() as con:
        recorded = provenance.earlier_records(con, [s.name for s in SPECS if s.name not in fresh])
        # no record (a new build database): read in place, as a run reading every source does
        reads = [read_source(downloader, spec) for spec in SPECS if spec.name not in recorded]
        figures = provenance.build_sources(con, reads, used_by, [(s, recorded[s.name]) for s in SPECS if s.name in recorded])
        meta = _meta(warehouse, con, C.SOURCES.table, figures)
    meta["synthetic_sources"] = dg.MetadataValue.json(figures["synthetic"])
    return dg.MaterializeResult(metadata=meta)


@dg.asset(key=FTY, deps=_reads("placed_in", "facility_territory_years"), kinds={"duckdb", "sql"}, **_COMMON)
def facility_territory_years(warehouse: Warehouse) -> dg.MaterializeResult:
    """Every in-scope EAJE-year with its operator class and its territories: the geography of that year
    (EPCI, département, région), the fixed 2017 EPCI perimeters (merger study) and the latest perimeters
    (dashboards), plus places estimated from CAF commune data. Unplaced rows are kept with a reason;
    the share joined per geography is in the metadata."""
    with warehouse.connect() as con:
        figures = build.build_facility_territory_years(con)
        meta = _meta(warehouse, con, C.FACILITY_TERRITORY_YEARS.table, figures)
        meta["share_joined_epci_year"] = figures["epci_year_geography"]["share_joined"]
        meta["share_joined_epci_2017"] = figures["epci_2017"]["share_joined"]
        meta["share_joined_epci_latest"] = figures["epci_latest"]["share_joined"]
        return dg.MaterializeResult(metadata=meta)


@dg.asset(
    key=K(["marts", "ess_market_share"]),
    deps=_reads("ess_market_share", extra=(MEMBERSHIP, SOURCES, *NAME_SOURCES)),
    kinds={"duckdb", "sql"},
    **_COMMON,
)
def ess_market_share(warehouse: Warehouse) -> dg.MaterializeResult:
    """Shares of public, ESS and for-profit operators (and finer classes) among EAJE, by EPCI, département,
    région and France, every year, in each year's geography and on the latest perimeters; facilities and,
    where CAF data allow, estimated places. A territory without facility has NULL shares, not 0."""
    with warehouse.connect() as con:
        return dg.MaterializeResult(metadata=_meta(warehouse, con, C.ESS_MARKET_SHARE.table, build.build_ess_market_share(con)))


@dg.asset(
    key=K(["marts", "childcare_supply"]),
    deps=_reads("childcare_supply", extra=(SOURCES, *NAME_SOURCES)),
    kinds={"duckdb", "sql"},
    **_COMMON,
)
def childcare_supply(warehouse: Warehouse) -> dg.MaterializeResult:
    """CAF childcare supply by EPCI and year (places PSU / outside PSU / total EAJE, coverage rates, children
    under 3 derived), next to our facility counts. CAF publishes communes above 10,000 inhabitants only: the
    CAF columns describe those communes (caf_population_coverage), a missing CAF year is explicit."""
    with warehouse.connect() as con:
        return dg.MaterializeResult(metadata=_meta(warehouse, con, C.CHILDCARE_SUPPLY.table, build.build_childcare_supply(con)))


TRANSITIONS_KEY = K(["marts", "facility_transitions"])


@dg.asset(
    key=TRANSITIONS_KEY,
    deps=_reads("merger_groups", "facility_transitions", extra=(MEMBERSHIP, FTY, SOURCES)),
    kinds={"duckdb", "sql"},
    **_COMMON,
)
def facility_transitions(warehouse: Warehouse) -> dg.MaterializeResult:
    """What became of each EAJE active on 1 January 2016 by 2018, 2020 and the latest year: still open, taken over
    (same operator, public body, for-profit, other ESS operator), closed or out of scope, with the matching method,
    its 2017 EPCI and merger group; also int.facility_transitions_yearly (every year to the next) for the merger study."""
    with warehouse.connect() as con:
        return dg.MaterializeResult(
            metadata=_meta(warehouse, con, C.FACILITY_TRANSITIONS.table, transitions.build_facility_transitions(con))
        )


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=K(["marts", "merger_effect"]),
            deps=_reads(
                "placed_in", "merger_groups", "merger_panel", "merger_covariates", extra=(MEMBERSHIP, FTY, SOURCES, TRANSITIONS_KEY)
            ),
            description=(
                "Did the 2017 EPCI fusions change associative EAJE? Event study and difference-in-differences on the "
                "fixed perimeters of each merger year (treated: formed by fusion; control: perimeter unchanged), "
                "indexed on the year before, 95 % intervals by seeded cluster bootstrap over EPCIs; later merger "
                "years estimated when they have enough cases, otherwise reported as not estimable with the reason."
            ),
            kinds={"duckdb", "python"},
            group_name="marts",
            owners=["team:data"],
        ),
        dg.AssetSpec(
            key=K(["marts", "merger_effect_epci"]),
            deps=_reads(
                "placed_in", "merger_groups", "merger_panel", "merger_covariates", extra=(MEMBERSHIP, FTY, SOURCES, TRANSITIONS_KEY)
            ),
            description="Per-EPCI panel of the merger study for dashboards: group (treated / control / excluded and why) and outcomes by year.",
            kinds={"duckdb", "python"},
            group_name="marts",
            owners=["team:data"],
        ),
    ],
    pool="duckdb",
)
def merger_effect(warehouse: Warehouse, parameters: Parameters):
    with warehouse.connect() as con:
        figures = merger.build_merger_effect(con, parameters.seed, first_year=build.PANEL_FIRST_YEAR)
        yield dg.MaterializeResult(asset_key=K(["marts", "merger_effect"]), metadata=_meta(warehouse, con, C.MERGER_EFFECT.table, figures))
        yield dg.MaterializeResult(
            asset_key=K(["marts", "merger_effect_epci"]),
            metadata=_meta(warehouse, con, C.MERGER_EFFECT_EPCI.table, {"cohorts": figures["cohorts"]}),
        )


@dg.asset(key=K(["marts", "operators"]), deps=_reads("operators", extra=(SOURCES,)), kinds={"duckdb", "sql"}, **_COMMON)
def operators(warehouse: Warehouse) -> dg.MaterializeResult:
    """One row per operator (legal unit) that ran an in-scope EAJE since 2010: name, class, sector, the rule that
    decided, its facilities and territories in the last year it ran one."""
    with warehouse.connect() as con:
        return dg.MaterializeResult(metadata=_meta(warehouse, con, C.OPERATORS.table, build.build_operators(con)))


@dg.asset(key=K(["marts", "facilities"]), deps=_reads("facilities", extra=(SOURCES, *NAME_SOURCES)), kinds={"duckdb", "sql"}, **_COMMON)
def facilities(warehouse: Warehouse) -> dg.MaterializeResult:
    """Current stock: every in-scope EAJE active on 1 January of the latest year, with its operator's class and its
    commune, EPCI, département and région."""
    with warehouse.connect() as con:
        return dg.MaterializeResult(metadata=_meta(warehouse, con, C.FACILITIES.table, build.build_facilities(con)))


@dg.asset(
    key=K(["marts", "epci_indicators"]),
    deps=_reads("epci_indicators", extra=(POLYGONS, SOURCES)),
    kinds={"duckdb", "geopandas", "parquet"},
    **_COMMON,
)
def epci_indicators(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Latest indicators of every EPCI of the latest perimeters (sector shares, associations, for-profit share change
    since 2015, CAF places and coverage) and the map layer for dashboards: the latest EPCI polygons joined to these
    indicators, one GeoParquet per zone (own CRS each) in data/build/geo_publish/, published to data/marts/geo/."""
    build_dir = Path(warehouse.path).parent
    geo_dir, out_dir = build_dir / "geo", build_dir / GEO_STAGING
    with warehouse.connect() as con:
        figures = build.build_epci_indicators(con, geo_dir, out_dir)
        if figures["polygon_year"] is None:
            raise FileNotFoundError(
                f"{geo_dir}: no EPCI polygon file (epci_<annee>_<zone>.parquet) for the latest perimeters; "
                "materialize int.epci_polygons first"
            )
        if figures["polygon_year"] != figures["perimeter_year"]:
            # A warning only when there is something to do (EPCIs missing from the map); otherwise a fact.
            log = context.log.warning if figures["epci_without_polygon"] else context.log.info
            log(
                f"EPCI polygons of {figures['polygon_year']} carry the indicators of the {figures['perimeter_year']} "
                f"perimeters: {figures['epci_without_polygon']} EPCI(s) without a polygon"
                + (" (add the contours of the latest year to draw them)" if figures["epci_without_polygon"] else "")
            )
        meta = _meta(warehouse, con, C.EPCI_INDICATORS.table, figures)
        meta["map_layers"] = dg.MetadataValue.json(published_layers(figures.get("layers", {}), Path(warehouse.published_dir)))
        return dg.MaterializeResult(metadata=meta)


def published_layers(layers: dict, marts_dir: Path) -> dict:
    """The map layers as publication places them (data/marts/geo/<file>), not the private build folder they are
    written to first: the UI's metadata points at files a reader can open (once publish/observatory ran)."""
    out = {}
    for zone, layer in layers.items():
        layer = dict(layer)
        for field in ("file", "geojson"):
            if isinstance(layer.get(field), str):
                layer[field] = str(marts_dir / "geo" / Path(layer[field]).name)
        out[zone] = layer
    return out


#: One set of named blocking checks per table; the key check comes from the column spec's natural key.
checks = [
    table_check(spec.table, suite, key=spec.key)
    for spec, suite in (
        (C.FACILITY_TERRITORY_YEARS, suites.FACILITY_TERRITORY_YEARS),
        (C.ESS_MARKET_SHARE, suites.ESS_MARKET_SHARE),
        (C.CHILDCARE_SUPPLY, suites.CHILDCARE_SUPPLY),
        (C.MERGER_EFFECT, suites.MERGER_EFFECT),
        (C.MERGER_EFFECT_EPCI, suites.MERGER_EFFECT_EPCI),
        (C.FACILITY_TRANSITIONS, suites.FACILITY_TRANSITIONS),
        (C.OPERATORS, suites.OPERATORS),
        (C.FACILITIES, suites.FACILITIES),
        (C.EPCI_INDICATORS, suites.EPCI_INDICATORS),
        (C.SOURCES, suites.SOURCES),
    )
]

defs = dg.Definitions(
    assets=[
        sources,
        facility_territory_years,
        ess_market_share,
        childcare_supply,
        facility_transitions,
        merger_effect,
        operators,
        facilities,
        epci_indicators,
    ],
    asset_checks=checks,
)
