"""SIRENE assets: raw files -> staged 88.91A establishments, their succession links and legal units ->
operator-years and facility-years, each table gated by a blocking quality check."""

import json
import warnings
from typing import Any

import dagster as dg

from assets.sirene import checks, columns
from assets.sirene.classification import UnknownLegalCategoryWarning
from assets.sirene.extract import SireneFiles, extract_establishments, extract_legal_units, extract_successions
from assets.sirene.facility_years import build_facility_years
from assets.sirene.operators import build_operator_years
from assets.sirene.source import SPEC, sirene_directory, succession_file
from observatory.progress import watch_query
from observatory.publish import MIN_ROWS
from observatory.quality import table_check
from observatory.resources import Downloader, Warehouse, table_key
from assets.sirene.facility_years import FIRST_FACILITY_YEAR
from observatory.sources import raw_asset, read_manifest

GROUP = "sirene"
OWNERS = ["team:data"]
SOURCE_META = {"source_url": dg.MetadataValue.url(SPEC.homepage), "licence": SPEC.licence}

raw_sirene = raw_asset(SPEC)


def _key(table: str) -> dg.AssetKey:
    return table_key(table)


#: Declared minimum rows of each staging table: the synthetic sample holds about 40,000-80,000 rows per table and
#: the national stock far more, so fewer than 10,000 is an empty or cut stock, never a real month.
STG_MIN_ROWS = 10_000


def _spec(table: str, description: str, deps: list[dg.AssetKey]) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=_key(table),
        description=description,
        metadata={MIN_ROWS: STG_MIN_ROWS} if table.startswith("stg.") else {},
        group_name=GROUP,
        kinds={"duckdb"},
        owners=OWNERS,
        deps=deps,
    )


def _json(value: Any) -> dg.MetadataValue:
    return dg.MetadataValue.json(json.loads(json.dumps(value, default=str)))


def _source_files(downloader: Downloader, context: dg.AssetExecutionContext, con) -> tuple[SireneFiles, dict[str, Any]]:
    directory, how = sirene_directory(downloader)
    context.log.info(f"SIRENE files: {directory} ({how})")
    files = SireneFiles.in_dir(directory, con)
    described = files.describe()
    synthetic = False
    if (directory / "manifest.json").exists():
        manifest = read_manifest(directory)
        synthetic = bool(manifest.get("synthetic", False))
        for name, entry in manifest.get("files", {}).items():
            if name in described:
                described[name]["sha256"] = entry.get("sha256")
    meta = {
        "sirene_source": how + (" - SYNTHETIC, not real data" if synthetic else ""),
        "synthetic": synthetic,
        "sirene_files": _json(described),
        **SOURCE_META,
    }
    return files, meta


ETAB_PERIODES = "stg.sirene_etablissement_periodes"
ETABS = "stg.sirene_etablissements"
UL_PERIODES = "stg.sirene_unite_legale_periodes"
ULS = "stg.sirene_unites_legales"
SUCCESSIONS = "stg.sirene_successions"
OPERATOR_YEARS = "int.operator_years"
FACILITY_YEARS = "int.facility_years"
HORS_CHAMP = "int.facility_years_hors_champ"


@dg.multi_asset(
    specs=[
        _spec(
            ETAB_PERIODES,
            "Every period (StockEtablissementHistorique) of every establishment whose activity was 88.91A "
            "(accueil de jeunes enfants) in any period or in the current stock; key (siret, date_debut).",
            [SPEC.raw_key],
        ),
        _spec(
            ETABS, "Current stock row (StockEtablissement) of the same establishments: commune, dates, names; key siret.", [SPEC.raw_key]
        ),
    ],
    pool="duckdb",
)
def sirene_establishments(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader):
    """Selects the establishments ever in 88.91A with DuckDB projection and pushdown on the Parquet files."""
    with warehouse.connect() as con:
        files, meta = _source_files(downloader, context, con)
        with watch_query(con, context, "SIRENE establishments ever in 88.91A"):
            summary = extract_establishments(con, files)
        context.log.info(f"{summary['establishments_selected']} establishments ever in 88.91A, {summary['period_rows']} periods")
        counts = {k: v for k, v in summary.items() if k != "files"}
        yield dg.MaterializeResult(
            asset_key=_key(ETAB_PERIODES),
            metadata={**warehouse.table_metadata(con, columns.SPECS[ETAB_PERIODES]), **meta, "extraction": _json(counts)},
        )
        yield dg.MaterializeResult(
            asset_key=_key(ETABS),
            metadata={**warehouse.table_metadata(con, columns.SPECS[ETABS]), **meta, "extraction": _json(counts)},
        )


#: Fewer links than this on a national stock is a cut file: the sample keeps about 800, the real register far more.
SUCCESSIONS_MIN_ROWS = 100


@dg.asset(
    key=_key(SUCCESSIONS),
    deps=[SPEC.raw_key, _key(ETABS), _key(ETAB_PERIODES)],
    metadata={MIN_ROWS: SUCCESSIONS_MIN_ROWS},
    group_name=GROUP,
    kinds={"duckdb"},
    owners=OWNERS,
    pool="duckdb",
)
def sirene_successions(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader) -> dg.MaterializeResult:
    """Succession links (StockEtablissementLiensSuccession) whose predecessor or successor establishment was ever
    in 88.91A: a transfer or a declared takeover links the closing siret to the one that carries on; key
    (siret_predecessor, siret_successor, date_lien). Not every takeover is declared (SCHEMAS.md §1.4b)."""
    path = succession_file(downloader)
    with warehouse.connect() as con:
        summary = extract_successions(con, path)
        context.log.info(f"{summary['links_kept']} of {summary['links_in_file']} succession links touch an 88.91A establishment")
        directory = path.parent
        synthetic = (directory / "manifest.json").exists() and bool(read_manifest(directory).get("synthetic", False))
        return dg.MaterializeResult(
            metadata={
                **warehouse.table_metadata(con, columns.SPECS[SUCCESSIONS]),
                "synthetic": synthetic,
                "extraction": _json(summary),
                **SOURCE_META,
            }
        )


@dg.multi_asset(
    specs=[
        _spec(
            UL_PERIODES,
            "Every period (StockUniteLegaleHistorique) of the legal units of the 88.91A establishments: legal "
            "category, ESS flag, name, state over time; key (siren, date_debut).",
            [_key(ETABS), _key(ETAB_PERIODES), SPEC.raw_key],
        ),
        _spec(
            ULS,
            "Current stock row (StockUniteLegale) of the same legal units (person names of individual entrepreneurs are not kept); key siren.",
            [_key(ETABS), _key(ETAB_PERIODES), SPEC.raw_key],  # it reads the legal-unit files too
        ),
    ],
    pool="duckdb",
)
def sirene_legal_units(context: dg.AssetExecutionContext, warehouse: Warehouse, downloader: Downloader):
    """Semi-join of the legal-unit files on the sirens of the selected establishments."""
    with warehouse.connect() as con:
        files, meta = _source_files(downloader, context, con)
        with watch_query(con, context, "SIRENE legal units of those establishments"):
            summary = extract_legal_units(con, files)
        if summary["legal_units_missing_from_stock"]:
            context.log.warning(
                f"{summary['legal_units_missing_from_stock']} sirens of 88.91A establishments have no legal unit in "
                f"StockUniteLegale (e.g. {summary['legal_units_missing_examples']}): their operator is 'indetermine'"
            )
        counts = {k: v for k, v in summary.items() if k != "files"}
        for table in (UL_PERIODES, ULS):
            yield dg.MaterializeResult(
                asset_key=_key(table),
                metadata={**warehouse.table_metadata(con, columns.SPECS[table]), **meta, "extraction": _json(counts)},
            )


@dg.asset(
    key=_key(OPERATOR_YEARS),
    deps=[_key(UL_PERIODES), _key(ULS), _key(ETABS), _key(ETAB_PERIODES)],
    group_name=GROUP,
    kinds={"duckdb", "polars"},
    owners=OWNERS,
    pool="duckdb",
)
def operator_years(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    """Each legal unit as it was on 1 January of each year (legal category and ESS flag from its
    history) classified public / ESS / for-profit: operator_class, sector and the rule that decided
    (assets/sirene/classification.py, rules in assets/sirene/reference/, loi 2014-856 art. 1).
    Analysts' overrides (assets/sirene/reference/operator_overrides.csv) always win and are listed here."""
    with warehouse.connect() as con:
        # the classifier's UnknownLegalCategoryWarning is for library callers; here the asset says it once, below
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnknownLegalCategoryWarning)
            summary = build_operator_years(con, first_year=FIRST_FACILITY_YEAR)
        if summary["unknown_legal_categories"]:
            context.log.warning(
                f"legal categories absent from the rules table, classified 'indetermine': {summary['unknown_legal_categories']}"
            )
        if summary["overrides_applied"]:
            context.log.info(f"operator overrides applied: {summary['overrides_applied']}")
        return dg.MaterializeResult(
            metadata={
                **warehouse.table_metadata(con, columns.SPECS[OPERATOR_YEARS]),
                "rules_version": summary["rules_version"],
                "by_rule": _json(summary["by_rule"]),
                "by_sector": _json(summary["by_sector"]),
                "by_operator_class": _json(summary["by_operator_class"]),
                "unknown_legal_categories": _json(summary["unknown_legal_categories"]),
                "overrides_applied": _json(summary["overrides_applied"]),
                "overrides_unused": _json(summary["overrides_unused"]),
                "public_with_ess_flag_o": summary["public_with_ess_flag_o"],
                "ess_status_with_flag_n": summary["ess_status_with_flag_n"],
                **SOURCE_META,
            }
        )


@dg.multi_asset(
    specs=[
        _spec(
            FACILITY_YEARS,
            "In-scope EAJE: one row per establishment and 1 January when it was active (A) and taken in by the EAJE "
            "scope rule (scope_reason naf_88_91A, or nom_eaje: another code, a public or associative operator, an EAJE "
            "name); commune as recorded and in the geography of the year; key (siret, annee).",
            [_key(ETAB_PERIODES), _key(ETABS), _key(OPERATOR_YEARS), dg.AssetKey(["int", "commune_code_map"])],
        ),
        _spec(
            HORS_CHAMP,
            "Candidate facility-years (88.91A or an EAJE name) outside the EAJE scope (abroad, individual entrepreneurs, "
            "MAM, relais petite enfance, LAEP, companies' establishments under another code, other look-alikes) with "
            "scope_reason: kept and counted, never dropped; key (siret, annee).",
            [_key(ETAB_PERIODES), _key(ETABS), _key(OPERATOR_YEARS), dg.AssetKey(["int", "commune_code_map"])],
        ),
    ],
    pool="duckdb",
)
def facility_years(context: dg.AssetExecutionContext, warehouse: Warehouse):
    """Facility-years from 1 January 2010 to the stock's latest 1 January, split by the EAJE scope."""
    with warehouse.connect() as con:
        summary = build_facility_years(con, first_year=FIRST_FACILITY_YEAR)
        context.log.info(f"excluded from the EAJE scope: {summary['excluded_by_reason']}")
        common = {
            "years": _json([summary["first_year"], summary["last_year"]]),
            "excluded_by_reason": _json(summary["excluded_by_reason"]),
            "hors_champ_rows": summary["hors_champ_rows"],
            **SOURCE_META,
        }
        yield dg.MaterializeResult(
            asset_key=_key(FACILITY_YEARS),
            metadata={
                **warehouse.table_metadata(con, columns.SPECS[FACILITY_YEARS]),
                **common,
                "facilities_per_year": _json(summary["facilities_per_year"]),
                "code_commune_method": _json(summary["code_commune_method"]),
                "in_scope_without_commune": summary["in_scope_without_commune"],
                "type_structure": _json(summary["type_structure"]),
            },
        )
        yield dg.MaterializeResult(
            asset_key=_key(HORS_CHAMP), metadata={**warehouse.table_metadata(con, columns.SPECS[HORS_CHAMP]), **common}
        )


asset_checks = [
    table_check(ETAB_PERIODES, checks.ETABLISSEMENT_PERIODES),
    table_check(ETABS, checks.ETABLISSEMENTS),
    table_check(UL_PERIODES, checks.UNITE_LEGALE_PERIODES),
    table_check(ULS, checks.UNITES_LEGALES),
    table_check(SUCCESSIONS, checks.SUCCESSIONS),
    table_check(OPERATOR_YEARS, checks.operator_years()),
    table_check(FACILITY_YEARS, checks.facility_years()),
    table_check(HORS_CHAMP, checks.facility_years_hors_champ()),
]

defs = dg.Definitions(
    assets=[raw_sirene, sirene_establishments, sirene_successions, sirene_legal_units, operator_years, facility_years],
    asset_checks=asset_checks,
)
