"""Builders of the marts: plain functions over a DuckDB connection, in dependency order.

Each ``build_*`` writes one table (two for the merger study) from the ``stg``/``int`` tables,
writes its comments (``assets/marts/columns.py``) and returns figures for the asset metadata.
:func:`rebuild_marts` runs them all in order: the Dagster assets call the builders one by one, the
benchmark times the whole rebuild.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Sequence

import duckdb

from assets.marts import columns as C
from assets.marts.provenance import build_sources, stamp_facility_source
from assets.territory.names import register_epci_names
from observatory.resources import run_sql_script
from observatory.sources import SourceRead

HERE = Path(__file__).parent
#: The merger wave of the NOTRe law: fixed perimeters of the merger study.
MERGER_YEAR = 2017
#: First year of the merger study's panel (the brief's 2012; facility history starts in 2010).
PANEL_FIRST_YEAR = 2012
#: Legal maximum capacity of a micro-crèche (Code de la santé publique R2324-17 before and after the
#: decree n° 2021-1131 of 30 August 2021): caps the places a micro-crèche gets in the estimate. CAF year
#: N describes December N and is shown on 1 January N + 1, so the 12-place cap (from September 2021)
#: applies from annee 2022 (CAF year 2021). Other types have no legal maximum since that decree.
MICRO_CRECHE_CAP = {"micro_cap_before_2022": 10, "micro_cap_from_2022": 12}


#: Rules of the market-share mart: ``small_count``: a share whose denominator is under 5 facilities is
#: flagged (dashboards grey it out); ``unknown_tolerance``: share_places is NULL where a category with
#: facilities has no known places, unless those facilities are under 1 % of the territory's (so that 3
#: 'indetermine' facilities without places do not blank every France share of places).
SHARE_RULES = {"small_count": C.SMALL_COUNT, "unknown_tolerance": C.UNKNOWN_TOLERANCE}


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def _one(con: duckdb.DuckDBPyConnection, query: str, params: list | dict | None = None) -> Any:
    return con.execute(query, params or []).fetchone()[0]


def geography_years(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    """First and latest year of the territorial reference (EPCI membership on 1 January)."""
    first, latest = con.execute("select min(annee), max(annee) from stg.epci_membership").fetchone()
    if first is None:
        raise RuntimeError("stg.epci_membership is empty: the territorial reference must be built first")
    return int(first), int(latest)


def categories(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(breakdown, category) pairs of the market-share grid: the reference lists plus anything observed."""
    classes = C.OPERATOR_CLASSES  # the SIRENE classification's class table
    observed = con.execute(
        "select distinct 'sector', sector from int.facility_territory_years union "
        "select distinct 'operator_class', operator_class from int.facility_territory_years"
    ).fetchall()
    pairs = {("sector", s) for s in C.SECTORS} | {("operator_class", c) for c in classes} | set(observed)
    return sorted(pairs)


# --------------------------------------------------------------------------- int.facility_territory_years


def build_facility_territory_years(con: duckdb.DuckDBPyConnection, merger_year: int = MERGER_YEAR) -> dict[str, Any]:
    first, latest = geography_years(con)
    run_sql_script(con, _sql("placed_in"))
    run_sql_script(
        con,
        _sql("facility_territory_years"),
        {"first_geo_year": first, "latest_year": latest, "merger_year": merger_year, **MICRO_CRECHE_CAP},
    )
    C.apply_comments(con, C.FACILITY_TERRITORY_YEARS)
    t = "int.facility_territory_years"
    total = _one(con, f"select count(*) from {t}")

    def joined(col: str, where: str = "true") -> dict[str, Any]:
        n, ok = con.execute(f"select count(*), count({col}) from {t} where {where}").fetchone()
        return {"rows": n, "joined": ok, "share_joined": round(ok / n, 6) if n else None}

    reasons = {
        col: dict(con.execute(f"select {col}, count(*) from {t} where {col} is not null group by 1 order by 2 desc").fetchall())
        for col in ("unjoined_reason", "unjoined_reason_2017", "unjoined_reason_latest")
    }
    caf_places = _one(
        con, "select sum(places_eaje) from stg.caf_places_commune where caf_annee + 1 in (select distinct annee from int.facility_years)"
    )
    allocated = _one(con, f"select sum(places) from {t}")
    # places a micro-crèche cap left over (communes whose facilities are all micro-crèches): reported, never given
    unallocated = dict(
        con.execute("select annee, round(sum(places_unallocated), 1) from _fty_places_unallocated group by 1 order by 1").fetchall()
    )
    con.execute("drop table if exists _fty_places_unallocated")
    return {
        "rows": total,
        "first_geography_year": first,
        "latest_year": latest,
        "epci_year_geography": joined("epci_siren", f"annee between {first} and {latest}"),
        "departement_year_geography": joined("code_departement", f"annee between {first} and {latest}"),
        "epci_2017": joined("epci_siren_2017"),
        "epci_latest": joined("epci_siren_latest"),
        "unjoined_by_reason": reasons,
        "operator_missing": _one(con, f"select count(*) from {t} where operator_rule = 'unite_legale_absente'"),
        "places_estimated_rows": _one(con, f"select count(*) from {t} where places_method = 'estimated'"),
        "caf_places_in_facility_years": caf_places,
        "caf_places_allocated": allocated,
        "caf_places_share_allocated": round(allocated / caf_places, 6) if caf_places and allocated else None,
        "caf_places_unallocated_by_cap": {str(k): v for k, v in unallocated.items()},
        "micro_creche_cap": MICRO_CRECHE_CAP,
    }


# --------------------------------------------------------------------------- marts.ess_market_share


def build_ess_market_share(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    first, latest = geography_years(con)
    con.execute("create or replace temp table _categories(breakdown varchar, category varchar)")
    con.executemany("insert into _categories values (?, ?)", categories(con))
    repairs = register_epci_names(con)
    try:
        run_sql_script(con, _sql("ess_market_share"), {"first_geo_year": first, "latest_year": latest, **SHARE_RULES})
    finally:
        con.execute("drop table if exists _categories; drop table if exists _epci_names")
    stamp_facility_source(con, C.ESS_MARKET_SHARE.table)
    C.apply_comments(con, C.ESS_MARKET_SHARE)
    t = "marts.ess_market_share"
    return {
        "rows": _one(con, f"select count(*) from {t}"),
        "territories_without_facility": dict(
            con.execute(
                f"select territory_level, count(*) from (select distinct geography, annee, territory_level, territory_code "
                f"from {t} where n_facilities_total = 0) group by 1 order by 1"
            ).fetchall()
        ),
        "france_sector_shares_latest_year": {
            r[0]: r[1]
            for r in con.execute(
                f"select category, round(share_facilities, 4) from {t} where geography = 'latest' and territory_level = 'france' "
                f"and breakdown = 'sector' and annee = (select max(annee) from {t}) order by 1"
            ).fetchall()
        },
        "places_method": dict(con.execute(f"select places_method, count(*) from {t} group by 1 order by 1").fetchall()),
        "places_scope": dict(con.execute(f"select places_scope, count(*) from {t} group by 1 order by 1").fetchall()),
        "epci_name_repairs": [{k: r[k] for k in ("annee", "epci_siren", "epci_nom_source", "epci_nom", "name_repair")} for r in repairs],
    }


# --------------------------------------------------------------------------- marts.childcare_supply


def build_childcare_supply(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    first, latest = geography_years(con)
    register_epci_names(con)
    try:
        run_sql_script(con, _sql("childcare_supply"), {"first_geo_year": first, "latest_year": latest})
        unplaced = con.execute(
            "select k.caf_annee, count(*) from _cs_caf k left join stg.epci_membership mem "
            "on mem.annee = k.annee and mem.code_commune = k.code_commune "
            "where mem.epci_siren is null group by 1 order by 1"
        ).fetchall()
    finally:
        con.execute("drop table if exists _cs_caf; drop table if exists _epci_names")
    stamp_facility_source(con, C.CHILDCARE_SUPPLY.table)
    C.apply_comments(con, C.CHILDCARE_SUPPLY)
    t = "marts.childcare_supply"
    caf_years = [r[0] for r in con.execute("select distinct caf_annee from stg.caf_places_commune order by 1").fetchall()]
    return {
        "rows": _one(con, f"select count(*) from {t}"),
        "caf_years": caf_years,
        "years_without_caf": [
            r[0] for r in con.execute(f"select distinct annee from {t} where caf_status = 'caf_year_missing' order by 1").fetchall()
        ],
        "caf_status": dict(con.execute(f"select caf_status, count(*) from {t} group by 1 order by 1").fetchall()),
        # CAF communes that fall in no EPCI that year (outside any EPCI, or a year beyond the reference)
        "caf_communes_not_in_an_epci": dict(unplaced),
        "median_caf_population_coverage": _one(
            con, f"select round(median(caf_population_coverage), 4) from {t} where caf_status = 'published'"
        ),
    }


# --------------------------------------------------------------------------- operators, facilities


def build_operators(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    run_sql_script(con, _sql("operators"))
    stamp_facility_source(con, C.OPERATORS.table)
    C.apply_comments(con, C.OPERATORS)
    t = "marts.operators"
    return {
        "rows": _one(con, f"select count(*) from {t}"),
        "active": _one(con, f"select count(*) from {t} where is_active"),
        "active_by_sector": dict(con.execute(f"select sector, count(*) from {t} where is_active group by 1 order by 1").fetchall()),
        "largest_active": [
            {"siren": r[0], "denomination": r[1], "operator_class": r[2], "n_facilities": r[3]}
            for r in con.execute(
                f"select siren, denomination, operator_class, n_facilities from {t} where is_active "
                "order by n_facilities desc, siren limit 10"
            ).fetchall()
        ],
    }


def build_facilities(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    register_epci_names(con)
    try:
        run_sql_script(con, _sql("facilities"))
    finally:
        con.execute("drop table if exists _epci_names")
    stamp_facility_source(con, C.FACILITIES.table)
    C.apply_comments(con, C.FACILITIES)
    t = "marts.facilities"
    return {
        "rows": _one(con, f"select count(*) from {t}"),
        "stock_year": _one(con, f"select max(annee) from {t}"),
        "by_sector": dict(con.execute(f"select sector, count(*) from {t} group by 1 order by 1").fetchall()),
        "without_epci": dict(con.execute(f"select unjoined_reason, count(*) from {t} where epci_siren is null group by 1").fetchall()),
    }


# --------------------------------------------------------------------------- marts.epci_indicators + map layers


def build_epci_indicators(con: duckdb.DuckDBPyConnection, geo_dir: Path | None = None, out_dir: Path | None = None) -> dict[str, Any]:
    """The attribute table, and (when ``geo_dir``/``out_dir`` are given) the map GeoParquet per zone."""
    from assets.marts import geo

    _, latest = geography_years(con)
    polygon_year, files = geo.polygon_files(Path(geo_dir), latest) if geo_dir else (None, {})
    polygons = geo.read_polygons(files) if files else {}
    con.execute("create or replace temp table _geo_epci(epci_siren varchar)")
    sirens = sorted({s for gdf in polygons.values() for s in gdf["epci_siren"].dropna().astype(str)})
    if sirens:
        con.executemany("insert into _geo_epci values (?)", [(s,) for s in sirens])
    try:
        run_sql_script(con, _sql("epci_indicators"), {"latest_year": latest})
    finally:
        con.execute("drop table if exists _geo_epci")
    stamp_facility_source(con, C.EPCI_INDICATORS.table)
    C.apply_comments(con, C.EPCI_INDICATORS)
    t = "marts.epci_indicators"
    out: dict[str, Any] = {
        "rows": _one(con, f"select count(*) from {t}"),
        "perimeter_year": latest,
        "polygon_year": polygon_year,
        "epci_without_polygon": _one(con, f"select count(*) from {t} where not has_geometry"),
    }
    if polygons and out_dir is not None:
        out.update(geo.write_layers(con, polygons, polygon_year, Path(out_dir)))
    return out


# --------------------------------------------------------------------------- everything, in order


def rebuild_marts(
    con: duckdb.DuckDBPyConnection,
    seed: int = 20170101,
    *,
    n_boot: int | None = None,
    geo_dir: Path | None = None,
    geo_out_dir: Path | None = None,
    sources: Sequence[SourceRead] | None = None,
    used_by: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Rebuild every table of this package from the stg/int tables, in dependency order.

    Returns each step's summary and its duration in seconds (``timings``). The map GeoParquet is
    written only when ``geo_dir`` (territory polygons) and ``geo_out_dir`` are given. marts.sources
    is rebuilt first when ``sources`` (``observatory.sources.read_source`` of every source) are given;
    otherwise the facility marts take their facility_source from the marts.sources in place, or say
    it was not recorded (a label the blocking checks refuse).
    """
    from assets.marts import merger, transitions

    steps = [
        *([(C.SOURCES.table, lambda: build_sources(con, sources, used_by or {}))] if sources is not None else []),
        ("int.facility_territory_years", lambda: build_facility_territory_years(con)),
        ("marts.ess_market_share", lambda: build_ess_market_share(con)),
        ("marts.childcare_supply", lambda: build_childcare_supply(con)),
        ("marts.facility_transitions", lambda: transitions.build_facility_transitions(con)),
        (
            "marts.merger_effect",
            lambda: merger.build_merger_effect(con, seed, first_year=PANEL_FIRST_YEAR, **({"n_boot": n_boot} if n_boot else {})),
        ),
        ("marts.operators", lambda: build_operators(con)),
        ("marts.facilities", lambda: build_facilities(con)),
        ("marts.epci_indicators", lambda: build_epci_indicators(con, geo_dir, geo_out_dir)),
    ]
    results: dict[str, Any] = {"timings": {}}
    for name, step in steps:
        start = time.perf_counter()
        results[name] = step()
        results["timings"][name] = round(time.perf_counter() - start, 3)
    return results
