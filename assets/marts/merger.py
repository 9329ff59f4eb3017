"""The merger study: groups, panel and covariates in SQL, estimation with :func:`assets.marts.did.estimate_panel`.

For each cohort (year of 1 January on which EPCIs were formed by fusion): groups from
``merger_groups.sql`` (treated = formed by fusion; control = perimeter unchanged and never part of a
later fusion: never treated on the cohort's fixed perimeters), a balanced EPCI x year panel on the
cohort's fixed perimeters from ``merger_panel.sql``, pre-period covariates from
``merger_covariates.sql``, then one :func:`~assets.marts.did.estimate_panel` call per outcome and estimand.

Timing: a fusion takes effect on 1 January of the cohort year, the day the outcome is counted, so
that count cannot show any effect yet. The first treated year passed to the estimator is
``cohort + 1``; the reference (base_year) is the cohort year itself; the published ``event_time`` is
``annee - cohort`` (0 = the merger day, the reference; 1 = one year later). The pooled effect
(estimator ``did``) averages event_time >= 1 only.

Estimands (``estimand`` x ``weighting``):

* ``ecart_relatif_pct`` / facility: the effect on the stock of associative EAJE of the treated EPCIs,
  in % of its base-year level (per-EPCI relative change weighted by the base-year count): the national
  stock estimand, the README's headline.
* ``ecart_relatif_pct_epci`` / unit: the same relative change for the average treated EPCI.
* ``ecart_par_epci`` / unit: facilities per average EPCI (levels).
* ``ecart_share`` / unit: the ESS share of facilities (0-1 scale) for the average EPCI.

An EPCI without associative EAJE in the base year has no relative change: it is left out of the
relative estimands, and the rows' note gives how many (never a silent drop).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from assets.marts import columns as C
from assets.marts import did
from assets.marts.provenance import stamp_facility_source
from observatory.resources import qualified, run_sql_script, sql_literal

HERE = Path(__file__).parent
REPO = HERE.parents[1]
#: The SIRENE sample's manifest: on the synthetic sample the planted truth is read from it (labels only).
SAMPLE_MANIFEST = REPO / "data" / "raw" / "sirene" / "embedded" / "manifest.json"
MIN_TREATED = did.MIN_TREATED
MIN_CONTROL = did.MIN_CONTROL
N_BOOT = 999
#: Regions with fewer treated or control EPCIs than this are pooled into one class ('autres'): a
#: propensity score cannot be estimated in a region where every EPCI is in one group.
MIN_PER_REGION = 5
COVARIATES = ("log_facilities", "log_population", "region")
CONTROL_GROUP = "never_treated"
METHOD = "dr"

#: (outcome, estimand, weighting)
OUTCOMES = (
    ("n_associations", "ecart_relatif_pct", "facility"),
    ("n_associations", "ecart_relatif_pct_epci", "unit"),
    ("n_associations", "ecart_par_epci", "unit"),
    ("share_ess", "ecart_share", "unit"),
    ("places_associations", "ecart_relatif_pct", "facility"),
)
#: For the 2017 cohort only (its fixed perimeters are those of int.facility_transitions_yearly): what became of the
#: associative EAJE, per year and per 100 associative EAJE of the EPCI on 1 January 2017.
TRANSITION_OUTCOMES = (
    ("public_takeovers", "taux_pour_100_2017", "facility"),
    ("closures", "taux_pour_100_2017", "facility"),
)
TRANSITIONS_TABLE = "int.facility_transitions_yearly"
HEADLINE = ("n_associations", "ecart_relatif_pct", "facility")
#: estimate_panel's row names -> the mart's estimator column
ESTIMATOR = {"att": "event_study", "pooled_post": "did"}

_SCHEMA = {
    c.name: {"INTEGER": pl.Int32, "BIGINT": pl.Int64, "DOUBLE": pl.Float64, "VARCHAR": pl.String, "BOOLEAN": pl.Boolean}[c.type]
    for c in C.MERGER_EFFECT.columns
    if c.name != C.FACILITY_SOURCE.name
}  # stamped after (provenance)


def _sql(name: str) -> str:
    return (HERE / f"{name}.sql").read_text(encoding="utf-8")


def _none(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def cohorts(con: duckdb.DuckDBPyConnection, first_geo_year: int, latest_year: int) -> dict[int, int]:
    """Every year whose 1 January can be compared with the previous one -> number of fusions that day."""
    counts = dict(
        con.execute(
            "select annee, count(distinct epci_siren) from marts.epci_mergers where type_evenement = 'fusion' group by 1"
        ).fetchall()
    )
    return {y: int(counts.get(y, 0)) for y in range(first_geo_year + 1, latest_year + 1)}


def planted_truth(con: duckdb.DuckDBPyConnection) -> dict[int, float] | None:
    """On the synthetic SIRENE sample: the planted effect on the treated stock of associative EAJE, in % of
    its 2017 level, by year (from the sample manifest's actual and counterfactual totals); else None."""
    synthetic = (
        con.execute("select any_value(synthetic) from marts.sources where source = 'sirene'").fetchall()
        if _has(con, "marts", "sources")
        else []
    )
    if not (synthetic and synthetic[0][0]) or not SAMPLE_MANIFEST.exists():
        return None
    by_year = json.loads(SAMPLE_MANIFEST.read_text(encoding="utf-8"))["planted_effect"]["true_effect_by_year"]
    base = by_year["2017"]["counterfactual_total"]
    return {int(y): round(100.0 * (v["actual_total"] - v["counterfactual_total"]) / base, 3) for y, v in by_year.items()}


def _has(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute("select count(*) from duckdb_tables() where schema_name = ? and table_name = ?", [schema, table]).fetchall()[0][0]
    )


def _panel_frame(
    panel: pl.DataFrame, covariates: pl.DataFrame, cohort: int, outcome: str, estimand: str
) -> tuple[pl.DataFrame, str | None]:
    """The long frame estimate_panel reads: unit, annee, cohort (first treated year), y, covariates, weight."""
    base = panel.filter(pl.col("annee") == cohort).select(
        "epci_siren",
        pl.col("n_associations").alias("base_assoc"),
        pl.col("n_facilities").alias("base_fac"),
        pl.col("places_associations_raw").alias("base_places"),
    )
    frame = panel.join(base, on="epci_siren").join(covariates, on="epci_siren", how="left")
    note = None
    if outcome == "places_associations":
        # CAF commune places start in December 2017 (1 January 2018) and cover communes above 10,000
        # inhabitants: only EPCIs whose places are known every year from the cohort year on, and only those years.
        frame = frame.filter(pl.col("annee") >= cohort)
        # unknown places are NULL, never 0: associations present but none with known places is unknown
        places_known = (pl.col("n_with_places") > 0) & ((pl.col("n_associations") == 0) | (pl.col("n_associations_with_places") > 0))
        known = frame.group_by("epci_siren").agg(places_known.all().alias("ok")).filter(pl.col("ok"))
        frame = frame.filter(pl.col("epci_siren").is_in(known.get_column("epci_siren").implode()))
        y = pl.col("places_associations_raw").fill_null(0.0)
        y = 100.0 * (y / pl.col("base_places") - 1.0)
        weight = pl.col("base_places")
        note = "EPCIs whose places are known every year since the cohort year only (CAF communes above 10,000 inhabitants)"
    elif outcome in ("public_takeovers", "closures"):
        # associative EAJE active on 1 January annee - 1 taken over by a public body / closed without successor by
        # 1 January annee, per 100 associative EAJE of the EPCI on 1 January of the cohort year
        n = pl.col("n_public_takeovers" if outcome == "public_takeovers" else "n_closures").cast(pl.Float64)
        y = pl.when(pl.col("base_assoc") > 0).then(100.0 * n / pl.col("base_assoc"))
        weight = pl.col("base_assoc").cast(pl.Float64)
        frame = frame.filter(pl.col("annee") > pl.col("annee").min())  # the first year has no previous year
    elif outcome == "share_ess":  # a 0-1 share like every share of the marts: 0.01 = one percentage point
        y = pl.when(pl.col("n_facilities") > 0).then(pl.col("n_ess") / pl.col("n_facilities")).otherwise(None)
        weight = None
    elif estimand == "ecart_par_epci":
        y = pl.col("n_associations").cast(pl.Float64)
        weight = None
    else:  # relative change since the cohort year, undefined (left out, noted) without associative EAJE then
        y = pl.when(pl.col("base_assoc") > 0).then(100.0 * (pl.col("n_associations") / pl.col("base_assoc") - 1.0))
        weight = pl.col("base_assoc").cast(pl.Float64)
    frame = frame.select(
        pl.col("epci_siren").alias("unit"),
        pl.col("annee").cast(pl.Int32),
        pl.when(pl.col("groupe") == "traite").then(pl.lit(cohort + 1)).otherwise(None).cast(pl.Int32).alias("cohort"),
        y.cast(pl.Float64).alias("y"),
        pl.col("base_fac").cast(pl.Float64).log1p().alias("log_facilities"),
        pl.col("population").log().alias("log_population"),
        pl.col("code_region").alias("region"),
        pl.col("base_fac").cast(pl.Float64).alias("size"),
        (weight if weight is not None else pl.lit(1.0)).cast(pl.Float64).alias("w"),
    )
    # regions with too few EPCIs of either group are pooled (a propensity score needs both groups there)
    reg = frame.group_by("unit").agg(pl.col("region").first(), pl.col("cohort").first())
    counts = reg.group_by("region").agg(pl.col("cohort").is_not_null().sum().alias("t"), pl.col("cohort").is_null().sum().alias("c"))
    small = counts.filter((pl.col("t") < MIN_PER_REGION) | (pl.col("c") < MIN_PER_REGION)).get_column("region")
    frame = frame.with_columns(
        pl.when(pl.col("region").is_in(small.implode())).then(pl.lit("autres")).otherwise(pl.col("region")).alias("region")
    )
    return frame, note


def _transition_counts(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Per 2017 EPCI and year: associative EAJE of 1 January annee - 1 taken over by a public body, or closed
    without successor, by 1 January annee (int.facility_transitions_yearly, built by marts.facility_transitions)."""
    return con.execute(
        f"""select epci_siren_2017 as epci_siren, to_year::integer as annee,
                  count(*) filter (where transition = 'public_takeover') as n_public_takeovers,
                  count(*) filter (where transition = 'closed') as n_closures
           from {TRANSITIONS_TABLE}
           where operator_class_from = 'ess_association' and epci_siren_2017 is not null
           group by all"""
    ).pl()


def _to_mart(
    out: pl.DataFrame,
    cohort: int,
    outcome: str,
    estimand: str,
    weighting: str,
    extra_note: str | None,
    truth: dict[int, float] | None,
    covariates: tuple[str, ...],
) -> list[dict]:
    rows = []
    headline = (outcome, estimand, weighting) == HEADLINE
    for r in out.iter_rows(named=True):
        name = r["name"]
        estimator = ESTIMATOR.get(name, name) if r["row_kind"] != "not_estimable" else "did"
        if r["row_kind"] == "event_time":
            annee = cohort + 1 + r["event_time"]
            start = annee
        else:
            annee = r["annee_end"] if r["annee_end"] is not None else None
            start = r["annee_start"]
        planted = None
        if truth and headline:
            if estimator == "event_study":
                planted = truth.get(annee)
            elif estimator in ("did", "trend_adjusted") and start is not None and annee is not None:
                planted = round(sum(truth[y] for y in range(start, annee + 1)) / (annee - start + 1), 3)
        rows.append(
            {
                "cohort": cohort,
                "outcome": outcome,
                "estimand": estimand,
                "weighting": weighting,
                "row_kind": r["row_kind"],
                "estimator": estimator,
                "annee": annee,
                "event_time": annee - cohort if estimator == "event_study" else None,
                "period_start": start,
                "dropped_epci": r["dropped_unit"],
                "estimate": _none(r["estimate"]),
                "ci_low": _none(r["ci_low"]),
                "ci_high": _none(r["ci_high"]),
                "std_error": _none(r["std_error"]),
                "statistic": _none(r["statistic"]),
                "p_value": _none(r["p_value"]),
                "n_treated": r["n_treated"],
                "n_control": r["n_control"],
                "n_bootstrap": r["n_bootstrap"],
                "seed": r["seed"],
                "base_year": cohort,
                "control_group": r["control_group"],
                "method": r["method"],
                "covariates": ", ".join(covariates),
                "status": r["status"],
                "note": "; ".join(filter(None, [r["note"], extra_note])) or None,
                "planted_effect": planted,
            }
        )
    return rows


def _not_estimable(
    cohort: int, outcome: str, estimand: str, weighting: str, last_year: int, n_t: int, n_c: int, seed: int, note: str
) -> dict:
    return {
        "cohort": cohort,
        "outcome": outcome,
        "estimand": estimand,
        "weighting": weighting,
        "row_kind": "not_estimable",
        "estimator": "did",
        "annee": last_year,
        "event_time": None,
        "period_start": cohort + 1,
        "dropped_epci": None,
        "estimate": None,
        "ci_low": None,
        "ci_high": None,
        "std_error": None,
        "statistic": None,
        "p_value": None,
        "n_treated": n_t,
        "n_control": n_c,
        "n_bootstrap": 0,
        "seed": seed,
        "base_year": cohort,
        "control_group": CONTROL_GROUP,
        "method": METHOD,
        "covariates": ", ".join(COVARIATES),
        "status": "not_estimable",
        "note": note,
        "planted_effect": None,
    }


def build_merger_effect(
    con: duckdb.DuckDBPyConnection,
    seed: int,
    *,
    first_year: int = 2012,
    n_boot: int = N_BOOT,
    min_treated: int = MIN_TREATED,
    min_control: int = MIN_CONTROL,
    covariates: tuple[str, ...] = COVARIATES,
) -> dict[str, Any]:
    """Write marts.merger_effect and marts.merger_effect_epci; return a summary for the asset metadata.
    ``covariates``: a subset of :data:`COVARIATES` (the published design uses all of them)."""
    first_geo, latest_geo = con.execute("select min(annee), max(annee) from stg.epci_membership").fetchone()
    last_year = con.execute("select max(annee) from int.facility_territory_years").fetchone()[0]
    truth = planted_truth(con)
    run_sql_script(con, _sql("placed_in"))
    con.execute(
        "create or replace temp table _mg_epci (cohort integer, epci_siren varchar, epci_nom varchar, groupe varchar, "
        "exclusion_reason varchar, n_predecessors integer, base_year integer, annee integer, n_associations bigint, "
        "n_facilities bigint, n_ess bigint, share_ess double, places_associations double, index_associations double)"
    )
    results: list[dict] = []
    summary: dict[str, Any] = {}
    for cohort, n_fusions in cohorts(con, int(first_geo), int(latest_geo)).items():
        run_sql_script(con, _sql("merger_groups"), {"cohort": cohort, "base_year": cohort - 1})
        groups = dict(con.execute("select groupe, count(*) from _mg_groups group by 1").fetchall())
        n_t, n_c = groups.get("traite", 0), groups.get("controle", 0)
        summary[cohort] = {"fusions": n_fusions, **groups}
        if n_t == 0:
            results += [
                _not_estimable(cohort, o, e, w, last_year, n_t, n_c, seed, f"no EPCI formed by fusion on 1 January {cohort}")
                for o, e, w in OUTCOMES
            ]
            continue
        # The per-EPCI panel is published for every cohort with a fusion, estimable or not (descriptive).
        run_sql_script(con, _sql("merger_panel"), {"cohort": cohort, "first_year": first_year, "last_year": last_year})
        con.execute(
            """
            insert into _mg_epci
            select $cohort, g.epci_siren, g.epci_nom, g.groupe, g.exclusion_reason, g.n_predecessors, $cohort, p.annee,
                   p.n_associations, p.n_facilities, p.n_ess,
                   case when p.n_facilities > 0 then p.n_ess / p.n_facilities end,
                   case when p.n_with_places > 0 and (p.n_associations = 0 or p.n_associations_with_places > 0)
                        then coalesce(p.places_associations_raw, 0) end,
                   case when b.n_associations > 0 then 100.0 * p.n_associations / b.n_associations end
            from _mg_panel p
            join _mg_groups g using (epci_siren)
            left join _mg_panel b on b.epci_siren = p.epci_siren and b.annee = $cohort
            """,
            {"cohort": cohort},
        )
        if n_t < max(min_treated, 2) or n_c < max(min_control, 2):
            why = (
                f"{n_t} EPCI(s) formed by fusion on 1 January {cohort} and {n_c} control EPCIs: fewer than "
                f"{min_treated} treated / {min_control} control clusters, too few for a cluster bootstrap"
            )
            results += [_not_estimable(cohort, o, e, w, last_year, n_t, n_c, seed, why) for o, e, w in OUTCOMES]
            continue
        run_sql_script(con, _sql("merger_covariates"), {"cohort": cohort})
        base_covariates = con.execute("select * from _mg_covariates").pl()
        panel = con.execute(
            "select p.*, g.groupe from _mg_panel p join _mg_groups g using (epci_siren) "
            "where g.groupe in ('traite', 'controle') order by epci_siren, annee"
        ).pl()
        outcomes = OUTCOMES
        if cohort == 2017 and _has(con, *TRANSITIONS_TABLE.split(".")):
            panel = panel.join(_transition_counts(con), on=["epci_siren", "annee"], how="left").with_columns(
                pl.col("n_public_takeovers").fill_null(0), pl.col("n_closures").fill_null(0)
            )
            outcomes = OUTCOMES + TRANSITION_OUTCOMES
        for outcome, estimand, weighting in outcomes:
            frame, note = _panel_frame(panel, base_covariates, cohort, outcome, estimand)
            out = did.estimate_panel(
                frame,
                outcome="y",
                covariates=covariates,
                seed=seed,
                weights="w" if weighting == "facility" else None,
                size="size",
                control_group=CONTROL_GROUP,
                method=METHOD,
                n_boot=n_boot,
                min_treated=min_treated,
                min_control=min_control,
            )
            if out.get_column("row_kind")[0] == "not_estimable":
                results.append(
                    _not_estimable(
                        cohort,
                        outcome,
                        estimand,
                        weighting,
                        last_year,
                        int(out["n_treated"][0]),
                        int(out["n_control"][0]),
                        seed,
                        "; ".join(filter(None, [out["note"][0], note])),
                    )
                )
            else:
                results += _to_mart(out, cohort, outcome, estimand, weighting, note, truth, covariates)
    frame = pl.DataFrame(results, schema=_SCHEMA, orient="row") if results else pl.DataFrame(schema=_SCHEMA)
    con.register("_mg_results", frame.to_arrow())
    try:
        con.execute(
            "create or replace table marts.merger_effect as select * from _mg_results "
            "order by cohort, outcome, estimand, weighting, row_kind, estimator, annee, dropped_epci"
        )
    finally:
        con.unregister("_mg_results")
    con.execute("create or replace table marts.merger_effect_epci as select * from _mg_epci order by cohort, epci_siren, annee")
    for t in ("_mg_epci", "_mg_groups", "_mg_panel", "_mg_covariates"):
        con.execute(f"drop table if exists {t}")
    for spec in (C.MERGER_EFFECT, C.MERGER_EFFECT_EPCI):
        stamp_facility_source(con, spec.table)
        C.apply_comments(con, spec)
    label_planted(con, truth)
    headline = con.execute(
        "select estimate, ci_low, ci_high, n_treated, n_control, status, planted_effect from marts.merger_effect "
        "where cohort = 2017 and outcome = ? and estimand = ? and weighting = ? and estimator = 'did'",
        list(HEADLINE),
    ).fetchall()
    return {
        "cohorts": summary,
        "estimated_cohorts": [
            r[0]
            for r in con.execute(
                "select distinct cohort from marts.merger_effect where status in ('estimated', 'fragile') order by 1"
            ).fetchall()
        ],
        "fragile_cohorts": [
            r[0] for r in con.execute("select distinct cohort from marts.merger_effect where status = 'fragile' order by 1").fetchall()
        ],
        "did_2017_associations_pct": dict(
            zip(("estimate", "ci_low", "ci_high", "n_treated", "n_control", "status", "planted_effect"), headline[0])
        )
        if headline
        else None,
        "n_bootstrap": n_boot,
        "seed": seed,
    }


def label_planted(con: duckdb.DuckDBPyConnection, truth: dict[int, float] | None) -> None:
    """Say in the merger marts' comments whether the effect is planted (synthetic sample) and by how much."""
    if truth:
        mean = sum(v for y, v in truth.items() if y >= 2018) / len([y for y in truth if y >= 2018])
        text = (
            f" ON THIS PUBLICATION THE SIRENE DATA ARE THE SYNTHETIC SAMPLE: the effect is PLANTED by the generator "
            f"(scripts/generate_sirene_sample.py, manifest planted_effect): on the treated stock of associative EAJE, "
            f"{truth.get(2018, 0):+.2f} % in 2018, {truth.get(max(truth), 0):+.2f} % in {max(truth)}, "
            f"mean {mean:+.2f} % over 2018-{max(truth)} (column planted_effect). It illustrates the method, not France."
        )
    else:
        text = " Figures from the real SIRENE files: no planted effect (planted_effect is NULL)."
    for spec in (C.MERGER_EFFECT, C.MERGER_EFFECT_EPCI):
        con.execute(f"comment on table {qualified(spec.table)} is {sql_literal(spec.description + text)}")
    col = next(c for c in C.MERGER_EFFECT.columns if c.name == "planted_effect")
    con.execute(f'comment on column {qualified(C.MERGER_EFFECT.table)}."planted_effect" is {sql_literal(col.comment() + text)}')
