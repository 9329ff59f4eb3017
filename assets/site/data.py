"""The rows behind each page, as plain functions over frames in the site's names (``reader.py``).

Pure functions: the bad-input rules (no facility, small counts, no polygon, a year without CAF data)
are decided here and tested on hand-made frames (tests/unit/test_site_data.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assets.site import charts
from assets.site.reader import SECTORS

SECTOR_ORDER = {k: i for i, k in enumerate(SECTORS)}
#: Map layers: the share of a sector among facilities, or the CAF coverage rate.
MAP_LAYERS = {
    "ess": {"title": "Part de l'ESS", "legend": "Part ESS", "sector": "ess", "domain": [0, 1], "scheme": "greens", "format": ".0%"},
    "lucratif": {
        "title": "Part du lucratif",
        "legend": "Part lucrative",
        "sector": "lucratif",
        "domain": [0, 1],
        "scheme": "reds",
        "format": ".0%",
    },
    "caf": {
        "title": "Taux de couverture CAF (EAJE)",
        "legend": "Places pour 100 enfants",
        "sector": None,
        "domain": [0, 60],
        "scheme": "purples",
        "format": ".0f",
    },
}


def clean(value: Any) -> Any:
    """JSON-safe scalar: NaN / NA -> None, numpy scalars and arrays -> Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(df: pd.DataFrame, columns: Iterable[str] | None = None) -> list[dict]:
    """Rows of ``df`` as JSON-safe dicts (one conversion per frame: the pages then work on plain Python)."""
    cols = list(columns) if columns is not None else list(df.columns)
    frame = df[cols]
    # object dtype boxes numpy scalars into Python ones; NaN / NA become None; list columns are cleaned one by one
    out = frame.astype(object).where(frame.notna(), None).to_dict("records")
    nested = [c for c in cols if frame[c].dtype == object and any(isinstance(v, np.ndarray) for v in frame[c].head(50))]
    for r in out:
        for c in nested:
            r[c] = clean(r[c])
    return out


def group(rows: list[dict], key: str) -> dict[Any, list[dict]]:
    out: dict[Any, list[dict]] = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


# ---------------------------------------------------------------------------------------------- time series


def series_rows(shares: list[dict]) -> dict[str, list[dict]]:
    """Chart rows of one territory's sector shares (rows of ``reader.sector_shares`` for one code)."""
    area, lines, places = [], [], []
    for r in shares:
        label, order = SECTORS.get(r["category"], r["category"]), SECTOR_ORDER.get(r["category"], 9)
        area.append({"annee": r["annee"], "label": label, "order": order, "n": r["n"]})
        if r["category"] in ("ess", "public", "lucratif") and r["n_total"]:
            lines.append(
                {
                    "annee": r["annee"],
                    "label": label,
                    "share": r["share"],
                    "n": r["n"],
                    "n_total": r["n_total"],
                    "small": r["small"],
                    "note": "moins de 5 établissements : part peu fiable" if r["small"] else "",
                }
            )
        if r["places_total"]:
            places.append({"annee": r["annee"], "label": label, "places": r["places"], "coverage": r["places_coverage"]})
    return {"area": area, "shares": lines, "places": places}


def latest_figures(shares: list[dict]) -> dict[str, Any]:
    """Latest year of one territory: total, share and count per sector, small-count flag."""
    if not shares:
        return {"annee": None, "n_total": 0, "small": False, "sectors": {}}
    year = max(r["annee"] for r in shares)
    last = [r for r in shares if r["annee"] == year]
    return {
        "annee": year,
        "n_total": last[0]["n_total"],
        "small": bool(last[0]["small"]),
        "sectors": {r["category"]: {"n": r["n"], "share": r["share"]} for r in last},
    }


def structure_rows(facilities: pd.DataFrame, type_labels: dict[str, str]) -> list[dict]:
    g = facilities.groupby(["type_structure", "sector"]).size().rename("n").reset_index()
    return [
        {
            "type": type_labels.get(r["type_structure"], r["type_structure"]),
            "label": SECTORS.get(r["sector"], r["sector"]),
            "order": SECTOR_ORDER.get(r["sector"], 9),
            "n": r["n"],
        }
        for r in records(g)
    ]


def operator_counts(facilities: pd.DataFrame, by: str) -> dict[Any, list[dict]]:
    """Current facilities per operator within each value of ``by`` (EPCI, département, région), most first."""
    g = (
        facilities.groupby([by, "siren", "denomination", "operator_class", "sector"], dropna=False)
        .size()
        .rename("n")
        .reset_index()
        .sort_values([by, "n", "denomination"], ascending=[True, False, True])
    )
    return group(records(g), by)


def top_operators(counts: list[dict], class_labels: dict[str, str], limit: int = 10) -> list[dict]:
    return [
        {
            **r,
            "class_label": class_labels.get(r["operator_class"], r["operator_class"]),
            "sector_label": SECTORS.get(r["sector"], r["sector"]),
        }
        for r in counts[:limit]
    ]


def supply_rows(supply: list[dict]) -> list[dict]:
    """CAF places of a territory by year, long form for the chart (years with CAF data only)."""
    rows = []
    for r in supply:
        if r["places_psu"] is not None:
            rows.append({"annee": r["annee"], "serie": "PSU", "places": r["places_psu"]})
            rows.append({"annee": r["annee"], "serie": "Hors PSU", "places": r["places_hors_psu"]})
    return rows


def aggregate_supply(supply: pd.DataFrame, epci_area: pd.DataFrame, area_col: str) -> pd.DataFrame:
    """CAF supply summed over the EPCIs of a département or région (each EPCI of each year counted in the area
    holding most of its communes). The coverage rate is recomputed over the EPCIs whose children are known."""
    df = supply.merge(epci_area, on=["annee", "code"], how="inner")
    known = df["enfants_moins_3_ans"].notna()
    df = df.assign(places_known=df["places_eaje"].where(known))
    g = (
        df.groupby([area_col, "annee"])
        .agg(
            places_psu=("places_psu", lambda s: s.sum(min_count=1)),
            places_hors_psu=("places_hors_psu", lambda s: s.sum(min_count=1)),
            places_eaje=("places_eaje", lambda s: s.sum(min_count=1)),
            places_known=("places_known", lambda s: s.sum(min_count=1)),
            enfants=("enfants_moins_3_ans", lambda s: s.sum(min_count=1)),
            n_epci=("code", "nunique"),
            statuses=("caf_status", lambda s: ",".join(sorted(set(s)))),
        )
        .reset_index()
    )
    g["taux_couverture_eaje"] = 100 * g["places_known"] / g["enfants"]
    g["caf_status"] = g["statuses"].map(lambda s: "caf_year_missing" if s == "caf_year_missing" else "published")
    return g


# ---------------------------------------------------------------------------------------------- lineage


@dataclass(frozen=True)
class LineageIndex:
    """Lineage edges by (year, successor) and the years, built once for every page's :func:`ancestry`."""

    by_after: dict[tuple[int, str], list[dict]]
    years: tuple[int, ...]  # latest first


def lineage_index(lineage: pd.DataFrame) -> LineageIndex:
    by_after: dict[tuple[int, str], list[dict]] = {}
    for r in records(lineage):
        if r["after"]:
            by_after.setdefault((r["annee"], r["after"]), []).append(r)
    return LineageIndex(by_after, tuple(sorted({y for y, _ in by_after}, reverse=True)))


def ancestry(code: str, index: LineageIndex) -> tuple[list[dict], set[str]]:
    """Edges of ``code``'s lineage back to the first year (predecessor -> successor, each year), unchanged years left
    out, and every SIREN of its ancestry."""
    current, seen, edges = {code}, {code}, []
    for y in index.years:
        nxt = set()
        for c in current:
            es = index.by_after.get((y, c), [])
            if not es:
                nxt.add(c)
                continue
            changed = not (len(es) == 1 and es[0]["same_siren"] and (es[0]["share_population_after"] or 0) > 0.999)
            for e in es:
                if changed:
                    edges.append(e)
                if e["before"]:
                    nxt.add(e["before"])
        current = nxt
        seen |= current
    return sorted(edges, key=lambda e: (-e["annee"], -(e["population"] or 0))), seen


def successor_map(lineage: pd.DataFrame, latest: set[str]) -> dict[str, str]:
    """Former EPCI -> the EPCI of the latest perimeters that took most of its population (followed year by year)."""
    best: dict[str, tuple[int, float, str]] = {}
    for r in records(lineage):
        if r["before"] and r["after"]:
            cand = (r["annee"], r["share_population_before"] or 0.0, r["after"])
            if r["before"] not in best or cand[:2] > best[r["before"]][:2]:
                best[r["before"]] = cand
    out = {}
    for code in best.keys() - latest:
        c, steps = code, 0
        while c not in latest and c in best and steps < 20:
            c, steps = best[c][2], steps + 1
        if c in latest:
            out[code] = c
    return out


# ---------------------------------------------------------------------------------------------- map


def map_data(features: pd.DataFrame, names: dict[str, str], shares: pd.DataFrame, supply: pd.DataFrame) -> dict[str, Any]:
    """Everything the map page draws.

    ``features``: code, zone, geometry (GeoJSON dict) of the EPCIs that have a polygon; ``names``: every EPCI of the
    latest perimeters; ``shares``: ``reader.sector_shares('epci')``; ``supply``: ``reader.supply()``.

    Per layer and year, one ``[value, n, n_total, state, note]`` per feature, in feature order. State: no facility
    (grey, never 0 %), fewer than 5 facilities (hatched; the share stays in the tooltip), or a share to colour.
    A CAF year the source does not publish is listed in ``caf_missing_years`` and drawn all grey with a message.
    """
    order = list(features["code"])
    layers: dict[str, dict] = {}
    for key, spec in MAP_LAYERS.items():
        if spec["sector"] is None:
            continue
        sel = shares[shares["category"] == spec["sector"]]
        s = {
            (a, c): (sh, n, t, sm)
            for a, c, sh, n, t, sm in sel[["annee", "code", "share", "n", "n_total", "small"]].itertuples(index=False)
        }
        years = {}
        for y in sorted(shares["annee"].unique()):
            rows = []
            for code in order:
                share, n, total, small = s.get((y, code), (None, 0, 0, False))
                if not total:
                    rows.append([None, 0, 0, charts.STATE_NONE, "aucun établissement"])
                else:
                    state = charts.STATE_SMALL if small else charts.STATE_OK
                    rows.append(
                        [round(float(share), 4), int(n), int(total), state, "moins de 5 établissements : part peu fiable" if small else ""]
                    )
            years[int(y)] = rows
        layers[key] = years

    caf_years, missing = {}, []
    for y, g in supply.groupby("annee"):
        if set(g["caf_status"]) == {"caf_year_missing"}:
            missing.append(int(y))
            continue
        by_code = g.set_index("code")
        rows = []
        for code in order:
            if code not in by_code.index:
                rows.append([None, None, None, charts.STATE_NONE, "périmètre différent cette année (pas de ligne CAF)"])
                continue
            r = by_code.loc[code]
            if clean(r["taux_couverture_eaje"]) is None:
                why = "aucune commune publiée par la CAF" if r["caf_status"] == "no_commune_published" else "taux non calculable"
                rows.append([None, None, None, charts.STATE_NONE, why])
            else:
                cov = clean(r["caf_population_coverage"])
                rows.append(
                    [
                        round(float(r["taux_couverture_eaje"]), 1),
                        None,
                        None,
                        charts.STATE_OK,
                        f"communes publiées : {round(100 * cov)} % de la population" if cov is not None else "",
                    ]
                )
        caf_years[int(y)] = rows
    layers["caf"] = caf_years
    with_polygon = set(order)
    return {
        "features": [
            {"c": c, "n": names.get(c, c), "z": z, "g": g} for c, z, g in features[["code", "zone", "geometry"]].itertuples(index=False)
        ],
        "layers": layers,
        "caf_missing_years": sorted(missing),
        "no_polygon": sorted(({"code": c, "name": n} for c, n in names.items() if c not in with_polygon), key=lambda r: r["name"] or ""),
        "meta": {k: {kk: v for kk, v in spec.items() if kk != "sector"} for k, spec in MAP_LAYERS.items()},
    }
