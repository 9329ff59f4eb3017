"""CAF source: raw files (embedded copy or data.caf.fr exports) -> stg places and coverage by commune.

The two staging tables are partitioned by the observatory's year (``observatory.partitions.YEARS``,
shared with the territory): partition ``annee`` holds CAF year ``caf_annee = annee - 1`` (supply in
December of the previous year, shown on 1 January of ``annee`` as in the marts). A partition whose
CAF year the source does not publish is written empty and listed in the metadata (``caf_year_missing``).
"""

import dagster as dg

from assets.caf import columns, stage
from assets.caf.source import SPEC
from assets.common.years import YEARS
from observatory.partitions import written_metadata, years_to_build
from observatory.publish import MIN_ROWS
from assets.common.identifiers import ARRONDISSEMENT_RE, COMMUNE_RE, EPCI_RE
from observatory.quality import Between, Columns, Matches, NotNull, RowCount, Sql, Unique, table_check
from observatory.resources import Downloader, Warehouse, sql_literal
from observatory.sources import raw_asset, resolve_one

raw_caf = raw_asset(SPEC)

PLACES = columns.PLACES.table
COVERAGE = columns.COVERAGE.table
_COMMON = dict(group_name="caf", kinds={"duckdb", "polars"}, owners=["team:data"], deps=[SPEC.raw_key])
PARTITION_MEANING = (
    "Partitioned by the observatory's year annee (1 January): partition annee holds caf_annee = annee - 1, "
    "the CAF supply of December of the previous year."
)


def _paths(downloader: Downloader) -> dict[str, list]:
    """Files to read per kind, as the file plan resolves them (official: the current dataset first, then _hist)."""
    return {kind: [f.path for f in resolve_one(downloader, SPEC, kind)] for kind in stage.KINDS}


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(["stg", "caf_places_commune"]),
            description=(
                "CAF places by commune and year (caf_annee = December of that year), communes above 10,000 "
                "inhabitants only. Paris, Lyon and Marseille arrondissements summed into their commune; "
                "placeholder codes (XX) dropped; codes padded. Both the API field names and the republished "
                "headers of the embedded copy are recognized. " + PARTITION_MEANING
            ),
            # about 1,000 communes above 10,000 inhabitants a year: fewer than half a year's is a broken export
            metadata={MIN_ROWS: 500},
            **_COMMON,
        ),
        dg.AssetSpec(
            key=dg.AssetKey(["stg", "caf_coverage_commune"]),
            description=(
                "CAF coverage rates (places per 100 children under 3) by commune and year, with the number of "
                "children under 3 derived as places / rate x 100; rates of Paris, Lyon and Marseille recomputed "
                "from their arrondissements (taux_recalcule). " + PARTITION_MEANING
            ),
            metadata={MIN_ROWS: 500},
            **_COMMON,
        ),
    ],
    pool="duckdb",
    partitions_def=YEARS,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def stg_caf(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader):
    annees = years_to_build(context)
    caf_years = stage.caf_years_for(annees)
    paths = _paths(downloader)
    frames, read_stats = {}, {}
    for kind in stage.KINDS:
        frames[kind], read_stats[kind] = stage.read_kind(paths[kind], kind, source=downloader.source_mode)
    # CAF years the source publishes that no partition can hold (before 2014 or after the last
    # reference year - 1): not loaded, and said so.
    partition_caf_years = stage.caf_years_for(int(k) for k in YEARS.get_partition_keys())
    published = sorted(set(frames["places"].get_column("caf_annee").to_list()))
    outside = [y for y in published if y not in partition_caf_years]
    if outside:
        context.log.warning(
            f"CAF years {outside} are published but outside the partitions "
            f"(caf_annee {partition_caf_years[0]}-{partition_caf_years[-1]}): not loaded"
        )
    with warehouse.connect() as con:
        stats = stage.load_caf(con, frames["places"], frames["coverage"], caf_years)
        if stats["caf_years_missing_inside_range"]:
            context.log.warning(f"CAF years missing inside the published range: {stats['caf_years_missing_inside_range']}")
        missing = {
            kind: {
                str(y + stage.CAF_YEAR_LAG): f"no CAF row for caf_annee {y} (December {y}) in the source: partition written empty"
                for y, n in stats["rows_written"][kind].items()
                if n == 0
            }
            for kind in stage.KINDS
        }
        if missing["places"]:
            context.log.info(f"partitions without CAF data (written empty): {sorted(missing['places'])}")
        common = {
            "partition_meaning": PARTITION_MEANING,
            "caf_years_outside_partitions": dg.MetadataValue.json(outside),
            "normalization": dg.MetadataValue.json(read_stats),
            "caf_years": dg.MetadataValue.json(stats["caf_years"]),
            "caf_years_missing_inside_range": dg.MetadataValue.json(stats["caf_years_missing_inside_range"]),
            "files": dg.MetadataValue.json({k: [str(p) for p in v] for k, v in paths.items()}),
            "source_url": dg.MetadataValue.url(SPEC.homepage),
            "licence": SPEC.licence,
            "coverage_note": "Communes above 10,000 inhabitants only (about 1,040 a year): never a complete EPCI total.",
        }
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["stg", "caf_places_commune"]),
            metadata={
                **warehouse.table_metadata(con, columns.PLACES),
                **common,
                **written_metadata(con, PLACES, stats["rows_written"]["places"], column="caf_annee"),
                "caf_year_missing": dg.MetadataValue.json(missing["places"]),
                "communes_per_year": dg.MetadataValue.json(stats["communes_per_year"]),
            },
        )
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["stg", "caf_coverage_commune"]),
            metadata={
                **warehouse.table_metadata(con, columns.COVERAGE),
                **common,
                **written_metadata(con, COVERAGE, stats["rows_written"]["coverage"], column="caf_annee"),
                "caf_year_missing": dg.MetadataValue.json(missing["coverage"]),
                "children_not_derivable": stats["children_not_derivable"],
            },
        )


#: Quantity columns of each table (never negative), from the spec.
_PLACES_COLS = [c for c in columns.PLACES.names if c.startswith("places_")]
_RATE_COLS = [c for c in columns.COVERAGE.names if c.startswith("taux_") and c != "taux_recalcule"]

PLACES_SUITE = [
    Columns(columns.PLACES.types),
    RowCount(min_value=1),
    Unique("caf_annee", "code_commune"),
    NotNull("code_commune"),
    Matches("code_commune", COMMUNE_RE),
    Matches("epci_siren_caf", EPCI_RE),
    Between("caf_annee", 2000, 2100),
    *[Between(c, 0, None) for c in _PLACES_COLS],
    Sql(
        "EAJE places = PSU + outside PSU (to rounding)",
        "select caf_annee, code_commune, places_eaje, places_psu, places_hors_psu from {table} "
        "where abs(places_eaje - places_psu - places_hors_psu) > 1",
    ),
    Sql(
        "no arrondissement code left (751xx, 6938x, 132xx belong to their commune)",
        "select caf_annee, code_commune from {table} where regexp_full_match(code_commune, " + sql_literal(ARRONDISSEMENT_RE) + ")",
    ),
]

COVERAGE_SUITE = [
    Columns(columns.COVERAGE.types),
    RowCount(min_value=1),
    Unique("caf_annee", "code_commune"),
    Matches("code_commune", COMMUNE_RE),
    # Rates can exceed 100 (supply counted where it is, children where they live): never clamped.
    *[Between(c, 0, None) for c in _RATE_COLS],
    Between("enfants_moins_3_ans", 0, None),
    Sql(
        "derived children agree with the EAJE rate to rounding (rates are published to 0.1)",
        "select c.caf_annee, c.code_commune, c.enfants_moins_3_ans, p.places_eaje, c.taux_eaje from {table} c "
        "join stg.caf_places_commune p using (caf_annee, code_commune) "
        "where c.taux_eaje >= 5 and p.places_eaje >= 50 and c.enfants_moins_3_ans is not null "
        "and abs(100 * p.places_eaje / c.enfants_moins_3_ans - c.taux_eaje) > 0.1 + 0.01 * c.taux_eaje",
    ),
]

places_check = table_check(PLACES, PLACES_SUITE)
coverage_check = table_check(COVERAGE, COVERAGE_SUITE)

defs = dg.Definitions(assets=[raw_caf, stg_caf], asset_checks=[places_check, coverage_check])
