"""The merger study: groups and panel in SQL, estimation with :mod:`assets.marts.did`.

For each cohort (year of 1 January on which EPCIs were formed by fusion): groups from
``merger_groups.sql``, a balanced EPCI x year panel on that year's fixed perimeters from
``merger_panel.sql``, then an event study and a pooled DiD per outcome and estimand. A cohort with
fewer than :data:`MIN_TREATED` treated (or :data:`MIN_CONTROL` control) EPCIs is reported with
``status = 'not_estimable'`` and the reason, not estimated.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from assets.marts import columns as C
from assets.marts import did
from assets.marts.provenance import stamp_facility_source
from observatory.resources import run_sql_script

HERE = Path(__file__).parent
#: Below this many clusters per group, a cluster bootstrap's percentile interval is unreliable
#: (Cameron, Gelbach & Miller 2008 discuss fewer than ~10-30 clusters); 10 is the floor used here.
MIN_TREATED = 10
MIN_CONTROL = 10
N_BOOT = 999

#: (outcome, estimand label, did estimand)
OUTCOMES = (
    ("n_associations", "ecart_relatif_pct", "ratio_of_totals"),
    ("n_associations", "ecart_par_epci", "mean_difference"),
    ("share_ess", "ecart_share", "mean_difference"),
    ("places_associations", "ecart_relatif_pct", "ratio_of_totals"),
)

_SCHEMA = {c.name: {"INTEGER": pl.Int32, "BIGINT": pl.Int64, "DOUBLE": pl.Float64, "VARCHAR": pl.String, "BOOLEAN": pl.Boolean}[c.type]
           for c in C.MERGER_EFFECT.columns if c.name != C.FACILITY_SOURCE.name}  # stamped after (provenance)


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def _nan_to_none(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def cohorts(con: duckdb.DuckDBPyConnection, first_geo_year: int, latest_year: int) -> dict[int, int]:
    """Every year whose 1 January can be compared with the previous one -> number of fusions that day."""
    counts = dict(
        con.execute(
            "select annee, count(distinct epci_siren) from marts.epci_mergers where type_evenement = 'fusion' group by 1"
        ).fetchall()
    )
    return {y: int(counts.get(y, 0)) for y in range(first_geo_year + 1, latest_year + 1)}


def _outcome_values(panel: pl.DataFrame, outcome: str) -> pl.DataFrame:
    if outcome == "n_associations":
        v = pl.col("n_associations").cast(pl.Float64)
    elif outcome == "share_ess":  # a 0-1 share like every share of the marts: 0.01 = one percentage point
        v = pl.when(pl.col("n_facilities") > 0).then(pl.col("n_ess") / pl.col("n_facilities")).otherwise(None)
    elif outcome == "places_associations":
        # unknown places are NULL, never 0: associations present but none with known places -> NULL
        known = (pl.col("n_with_places") > 0) & ((pl.col("n_associations") == 0) | (pl.col("n_associations_with_places") > 0))
        v = pl.when(known).then(pl.col("places_associations_raw").fill_null(0.0)).otherwise(None)
    else:
        raise ValueError(outcome)
    return panel.select("epci_siren", "annee", "groupe", v.alias("y"))


def _not_estimable(cohort: int, outcome: str, estimand: str, last_year: int, n_t: int, n_c: int, seed: int, note: str) -> dict:
    return {
        "cohort": cohort, "outcome": outcome, "estimand": estimand, "estimator": "did", "annee": last_year,
        "event_time": None, "period_start": cohort, "estimate": None, "ci_low": None, "ci_high": None, "std_error": None,
        "n_treated": n_t, "n_control": n_c, "n_bootstrap": 0, "seed": seed, "base_year": cohort - 1,
        "mean_treated": None, "mean_control": None, "index_treated": None, "index_control": None,
        "status": "not_estimable", "note": note,
    }


def _estimate_outcome(values: pl.DataFrame, cohort: int, outcome: str, estimand: str, kind: str,
                      n_boot: int, seed: int, min_treated: int, min_control: int, last_year: int) -> list[dict]:
    base = cohort - 1
    note = None
    if outcome == "places_associations":
        # Places are estimated from CAF commune data, which starts in December 2017 (1 January 2018):
        # keep the EPCIs whose places are known every year from base_year on, and only those years.
        known = (
            values.filter(pl.col("annee") >= base)
            .group_by("epci_siren").agg(pl.col("y").is_not_null().all().alias("ok"))
            .filter(pl.col("ok")).get_column("epci_siren")
        )
        values = values.filter(pl.col("epci_siren").is_in(known.implode()) & (pl.col("annee") >= base))
        n_t = values.filter(pl.col("groupe") == "traite").get_column("epci_siren").n_unique()
        n_c = values.filter(pl.col("groupe") == "controle").get_column("epci_siren").n_unique()
        if n_t < max(min_treated, 2) or n_c < max(min_control, 2):
            return [_not_estimable(
                cohort, outcome, estimand, last_year, n_t, n_c, seed,
                f"places known from base year {base} on for {n_t} treated and {n_c} control EPCIs "
                f"(minimum {min_treated}/{min_control}): CAF commune places start in December 2017 "
                "(1 January 2018) and cover communes above 10,000 inhabitants only",
            )]
        note = "EPCIs whose places are known every year since base_year only (CAF communes above 10,000 inhabitants)"
    rows = [(r[0], r[1], r[2]) for r in values.filter(pl.col("groupe").is_in(["traite", "controle"])).select("epci_siren", "annee", "y").iter_rows()]
    treated = values.filter(pl.col("groupe") == "traite").get_column("epci_siren").unique().to_list()
    control = values.filter(pl.col("groupe") == "controle").get_column("epci_siren").unique().to_list()
    panel = did.panel_from_rows(rows, treated, control)
    res = did.estimate(panel, base, kind, n_boot=n_boot, seed=seed)
    out = []
    for r in res.rows:
        is_es = r.estimator == "event_study"
        out.append({
            "cohort": cohort, "outcome": outcome, "estimand": estimand, "estimator": r.estimator, "annee": r.annee,
            "event_time": r.annee - cohort if is_es else None, "period_start": r.period_start,
            "estimate": _nan_to_none(r.estimate), "ci_low": _nan_to_none(r.ci_low), "ci_high": _nan_to_none(r.ci_high),
            "std_error": _nan_to_none(r.std_error),
            "n_treated": res.n_treated, "n_control": res.n_control, "n_bootstrap": res.n_bootstrap, "seed": seed,
            "base_year": base,
            "mean_treated": _nan_to_none(res.mean_treated.get(r.annee)) if is_es else None,
            "mean_control": _nan_to_none(res.mean_control.get(r.annee)) if is_es else None,
            "index_treated": _nan_to_none(res.index_treated.get(r.annee)) if is_es and kind == "ratio_of_totals" else None,
            "index_control": _nan_to_none(res.index_control.get(r.annee)) if is_es and kind == "ratio_of_totals" else None,
            "status": r.status,
            "note": note if r.status != "not_estimable" else (note or "undefined in too many bootstrap replicates (empty group total or share)"),
        })
    return out


def build_merger_effect(
    con: duckdb.DuckDBPyConnection,
    seed: int,
    *,
    first_year: int = 2012,
    n_boot: int = N_BOOT,
    min_treated: int = MIN_TREATED,
    min_control: int = MIN_CONTROL,
) -> dict[str, Any]:
    """Write marts.merger_effect and marts.merger_effect_epci; return a summary for the asset metadata."""
    first_geo, latest_geo = con.execute("select min(annee), max(annee) from stg.epci_membership").fetchone()
    last_year = con.execute("select max(annee) from int.facility_territory_years").fetchone()[0]
    run_sql_script(con, _sql("placed_in"))
    con.execute(
        "create or replace temp table _mg_epci (cohort integer, epci_siren varchar, epci_nom varchar, groupe varchar, "
        "exclusion_reason varchar, n_predecessors integer, base_year integer, annee integer, n_associations bigint, "
        "n_facilities bigint, n_ess bigint, share_ess double, places_associations double, index_associations double)"
    )
    results: list[dict] = []
    summary: dict[str, Any] = {}
    for cohort, n_fusions in cohorts(con, int(first_geo), int(latest_geo)).items():
        params = {"cohort": cohort, "base_year": cohort - 1}
        run_sql_script(con, _sql("merger_groups"), params)
        groups = dict(con.execute("select groupe, count(*) from _mg_groups group by 1").fetchall())
        n_t, n_c = groups.get("traite", 0), groups.get("controle", 0)
        summary[cohort] = {"fusions": n_fusions, **groups}
        if n_t == 0:
            results += [_not_estimable(cohort, o, e, last_year, n_t, n_c, seed, f"no EPCI formed by fusion on 1 January {cohort}")
                        for o, e, _ in OUTCOMES]
            continue
        # The per-EPCI panel is published for every cohort with a fusion, estimable or not (descriptive).
        run_sql_script(con, _sql("merger_panel"), {"cohort": cohort, "first_year": first_year, "last_year": last_year})
        con.execute(
            """
            insert into _mg_epci
            select $cohort, g.epci_siren, g.epci_nom, g.groupe, g.exclusion_reason, g.n_predecessors, $cohort - 1, p.annee,
                   p.n_associations, p.n_facilities, p.n_ess,
                   case when p.n_facilities > 0 then p.n_ess / p.n_facilities end,
                   case when p.n_with_places > 0 and (p.n_associations = 0 or p.n_associations_with_places > 0)
                        then coalesce(p.places_associations_raw, 0) end,
                   case when b.n_associations > 0 then 100.0 * p.n_associations / b.n_associations end
            from _mg_panel p
            join _mg_groups g using (epci_siren)
            left join _mg_panel b on b.epci_siren = p.epci_siren and b.annee = $cohort - 1
            """,
            {"cohort": cohort},
        )
        if n_t < max(min_treated, 2) or n_c < max(min_control, 2):
            why = (f"{n_t} EPCI(s) formed by fusion on 1 January {cohort} and {n_c} control EPCIs: fewer than "
                   f"{min_treated} treated / {min_control} control clusters, too few for a cluster bootstrap")
            results += [_not_estimable(cohort, o, e, last_year, n_t, n_c, seed, why) for o, e, _ in OUTCOMES]
            continue
        panel = con.execute(
            "select p.*, g.groupe from _mg_panel p join _mg_groups g using (epci_siren) order by epci_siren, annee"
        ).pl()
        for outcome, estimand, kind in OUTCOMES:
            results += _estimate_outcome(_outcome_values(panel, outcome), cohort, outcome, estimand, kind,
                                         n_boot, seed, min_treated, min_control, last_year)
    frame = pl.DataFrame(results, schema=_SCHEMA, orient="row") if results else pl.DataFrame(schema=_SCHEMA)
    con.register("_mg_results", frame.to_arrow())
    try:
        con.execute(
            "create or replace table marts.merger_effect as select * from _mg_results "
            "order by cohort, outcome, estimand, estimator, annee"
        )
    finally:
        con.unregister("_mg_results")
    con.execute("create or replace table marts.merger_effect_epci as select * from _mg_epci order by cohort, epci_siren, annee")
    for t in ("_mg_epci", "_mg_groups", "_mg_panel"):
        con.execute(f"drop table if exists {t}")
    for spec in (C.MERGER_EFFECT, C.MERGER_EFFECT_EPCI):
        stamp_facility_source(con, spec.table)
        C.apply_comments(con, spec)
    headline = con.execute(
        "select estimate, ci_low, ci_high, n_treated, n_control, status from marts.merger_effect where cohort = 2017 "
        "and outcome = 'n_associations' and estimand = 'ecart_relatif_pct' and estimator = 'did'"
    ).fetchone()
    return {
        "cohorts": summary,
        "estimated_cohorts": [r[0] for r in con.execute(
            "select distinct cohort from marts.merger_effect where status = 'estimated' order by 1").fetchall()],
        "did_2017_associations_pct": dict(zip(("estimate", "ci_low", "ci_high", "n_treated", "n_control", "status"), headline))
        if headline else None,
        "n_bootstrap": n_boot,
        "seed": seed,
    }
