"""The merger study's estimator: Callaway & Sant'Anna group-time effects with diagnostics, as one function.

:func:`estimate_panel` is the public API (a contract, documented in docs/methodology.md, "The estimator").
The statistics come from the ``differences`` library (Callaway & Sant'Anna 2021, doubly robust
Sant'Anna & Zhao 2020, unit-clustered multiplier bootstrap, Wald pre-test); this module shapes the panel,
states the design and derives the diagnostics from the library's influence functions.

Design
------
* ``frame`` is long: one row per ``unit`` x ``annee``, ``cohort`` = first treated year (the first year
  whose outcome can be affected; null = never treated), the outcome, and time-invariant covariates
  taken in the base year (``cohort - 1``). The panel must be balanced.
* Control group: ``never_treated`` (default) or ``not_yet_treated``; written on every output row.
* Base period ``universal``: every coefficient is the change since ``cohort - 1``, so the pre-period
  coefficients are long differences (event_time -1 is the reference, 0 by construction).
* Covariates enter a doubly robust estimator (outcome regression + propensity score): a trend that
  depends on them (e.g. larger EPCIs growing faster) is absorbed when the model is right.
* ``weights`` (optional, time-invariant column) weights units: with the base-year facility count and a
  relative outcome, the effect is the one on the national stock (facility-weighted estimand); without,
  the effect for the average unit (unit-weighted).
* Inference: multiplier bootstrap clustered by unit (``n_boot`` draws, ``seed``); intervals are the
  pointwise normal intervals ``estimate +/- z * std_error`` of the bootstrap standard error.
* Pooled effect: mean of the event-time effects for event_time >= 0 only (post years).

Diagnostics (one row each, ``row_kind = 'diagnostic'`` or ``'sensitivity'``)
----------------------------------------------------------------------------
* ``pre_test_joint``: Wald test that all pre-period coefficients are 0 (``statistic``, ``p_value``).
* ``pre_trend_slope``: least-squares slope of the pre-period coefficients (reference included) on
  event_time, its standard error from the influence functions, ``p_value`` of slope = 0.
* ``placebo``: the same estimator on the pre-period only, with treatment moved ``placebo_shift`` years
  earlier; its pooled effect should cover 0 (``not_estimable`` when the pre-period has no variation).
* ``leave_one_out``: the pooled effect without each of the ``n_leave_out`` largest units (by ``size``),
  one row per dropped unit (``dropped_unit``); fails when it moves by more than :data:`LOO_SHIFT`
  standard errors of the pooled effect.
* ``max_weight_share``: the largest unit's share of the total weight among the treated (facility-weighted
  only): a unit above :data:`MAX_WEIGHT_SHARE` dominates the estimate.
* ``trend_adjusted`` (``row_kind = 'sensitivity'``): the pooled effect after subtracting the linear
  pre-trend extrapolated to the post years (``estimate_e - slope x (e + 1)``).

When a diagnostic fails, the event-time and pooled rows get ``status = 'fragile'`` and ``note`` names
the failing diagnostics. Bad input (too few treated or control units, a unit with a missing outcome or
covariate) gives explicit rows or notes, described in :func:`estimate_panel`.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import polars as pl

#: Below this many units per group a cluster bootstrap is unreliable (Cameron, Gelbach & Miller 2008
#: discuss fewer than ~10-30 clusters): such a panel is reported not_estimable, not estimated.
MIN_TREATED = 10
MIN_CONTROL = 10
#: Significance level of the diagnostics (a diagnostic fails at p < ALPHA).
ALPHA = 0.05
#: Leave-one-out: a unit whose removal moves the pooled effect by more than this many of its standard errors
#: drives it (a typical unit moves it by ~1/sqrt(n) standard errors; a lone outlier by about one).
LOO_SHIFT = 0.5
#: Facility-weighted estimand: a single unit with more than this share of the treated weight is flagged.
MAX_WEIGHT_SHARE = 0.25
CONTROL_GROUPS = ("never_treated", "not_yet_treated")
#: Columns of the returned frame, in order (docs/methodology.md describes each).
SCHEMA = {
    "row_kind": pl.String,  # event_time | pooled | diagnostic | sensitivity | not_estimable
    "name": pl.String,  # att | pooled_post | pre_test_joint | pre_trend_slope | placebo | leave_one_out | max_weight_share | trend_adjusted
    "event_time": pl.Int32,
    "annee_start": pl.Int32,
    "annee_end": pl.Int32,
    "estimate": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "std_error": pl.Float64,
    "statistic": pl.Float64,
    "p_value": pl.Float64,
    "dropped_unit": pl.String,
    "n_treated": pl.Int32,
    "n_control": pl.Int32,
    "n_bootstrap": pl.Int32,
    "seed": pl.Int64,
    "control_group": pl.String,
    "method": pl.String,
    "status": pl.String,  # estimated | reference | fragile | not_estimable (estimates); pass | fail | not_estimable (diagnostics)
    "note": pl.String,
}


@dataclass(frozen=True)
class _Fit:
    """One call of the library: event-time effects, pooled effect and the group-time cells."""

    event: dict[int, tuple[float, float]]  # event_time -> (ATT, bootstrap se)
    pooled: tuple[float, float]
    cells: list  # the library's ATT(g, t) namedtuples (ATT, influence_func, cohort, time)
    n_units: int


def _fit(pdf, formula: str, method: str, control_group: str, weights: str | None, n_boot: int, seed: int) -> _Fit:
    from differences import ATTgt  # imported here: the library pulls statsmodels and scipy (~1 s)

    # the library's aggregate() prints bootstrap progress bars on stderr with no switch to turn them off
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        # the reference cell has a zero influence function: the library divides 0 by 0 there
        warnings.simplefilter("ignore", RuntimeWarning)
        att = ATTgt(data=pdf, cohort_column="cohort", base_period="universal")
        att.fit(
            formula=formula,
            est_method=method,
            control_group=control_group,
            weights_column=weights,
            boot_iterations=n_boot,
            random_state=seed,
            progress_bar=False,
        )
        boot = {"boot_iterations": n_boot, "random_state": seed} if n_boot else {}
        ev = att.aggregate("event", **boot)
        ov = att.aggregate("event", overall=True, **boot)
    event = {int(e): (float(row.iloc[0]), float(row.iloc[1])) for e, row in ev.iterrows()}
    return _Fit(
        event,
        (float(ov.iloc[0, 0]), float(ov.iloc[0, 1])),
        att._result_dict["full_sample"]["ATTgt_ntl"],
        pdf.index.get_level_values(0).nunique(),
    )


def _z(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


def _pre_diagnostics(cells: list) -> tuple[dict | None, tuple[float, float, float] | None]:
    """Wald pre-test and the linear pre-trend slope (estimate, se, p) from the pre-period cells."""
    from scipy.stats import chi2, norm

    pre = [c for c in cells if c.time < c.cohort - 1 and c.influence_func is not None and np.isfinite(c.ATT)]
    if not pre:
        return None, None
    inf = np.column_stack(
        [c.influence_func.toarray().ravel() if hasattr(c.influence_func, "toarray") else np.asarray(c.influence_func).ravel() for c in pre]
    )
    n = inf.shape[0]
    vcv = inf.T @ inf / n  # the library's own covariance of the cells (utility_ntl.get_vcv_from_if)
    att = np.array([c.ATT for c in pre])
    w = float(n * att @ np.linalg.pinv(vcv) @ att)
    joint = {"statistic": w, "p_value": float(1 - chi2.cdf(w, len(pre))), "q": len(pre)}
    # slope of the pre-period coefficients on event time, the reference points (0 at event_time -1) included
    e = np.array([c.time - c.cohort for c in pre], dtype=float)
    e_all = np.concatenate([e, -np.ones(len({c.cohort for c in pre}))])
    x = np.column_stack([np.ones_like(e_all), e_all])
    c_vec = (np.linalg.pinv(x.T @ x) @ x.T)[1, : len(pre)]  # the reference points' y is 0: only the cells count
    slope = float(c_vec @ att)
    se = float(math.sqrt(max(c_vec @ vcv @ c_vec / n, 0.0)))
    p = float(2 * (1 - norm.cdf(abs(slope) / se))) if se > 0 else float("nan")
    return joint, (slope, se, p)


def _usable(se: float) -> bool:
    return bool(np.isfinite(se) and se > 0)


def _row(**values) -> dict:
    out = dict.fromkeys(SCHEMA)
    out.update(values)
    return out


def _check_frame(frame: pl.DataFrame, outcome: str, covariates: Sequence[str], weights: str | None, size: str | None) -> None:
    needed = ["unit", "annee", "cohort", outcome, *covariates] + [c for c in (weights, size) if c]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"estimate_panel: frame lacks column(s) {missing}; expected unit, annee, cohort (first treated "
            f"year, null = never treated), the outcome {outcome!r} and covariates {list(covariates)}"
        )
    dup = frame.group_by("unit", "annee").len().filter(pl.col("len") > 1)
    if dup.height:
        raise ValueError(f"estimate_panel: {dup.height} (unit, annee) pairs appear twice, e.g. {dup.row(0)[:2]}")
    years = frame.get_column("annee").n_unique()
    short = frame.group_by("unit").len().filter(pl.col("len") < years)
    if short.height:
        raise ValueError(f"estimate_panel: unbalanced panel, unit {short.row(0)[0]!r} has {short.row(0)[1]} of {years} years")
    for col in ["cohort", *covariates] + [c for c in (weights, size) if c]:
        varying = frame.group_by("unit").agg(pl.col(col).n_unique().alias("k")).filter(pl.col("k") > 1)
        if varying.height:
            raise ValueError(
                f"estimate_panel: column {col!r} varies within unit {varying.row(0)[0]!r}; cohort, covariates, "
                "weights and size must be time-invariant (covariates taken in the base year)"
            )


def estimate_panel(
    frame: pl.DataFrame,
    *,
    outcome: str,
    covariates: Sequence[str] = (),
    seed: int,
    weights: str | None = None,
    size: str | None = None,
    control_group: str = "never_treated",
    method: str = "dr",
    n_boot: int = 999,
    alpha: float = ALPHA,
    placebo_shift: int = 2,
    n_leave_out: int = 10,
    min_treated: int = MIN_TREATED,
    min_control: int = MIN_CONTROL,
) -> pl.DataFrame:
    """Event-time effects, pooled post effect and diagnostics of a staggered DiD (Callaway & Sant'Anna).

    ``frame``: long Polars frame with ``unit``, ``annee``, ``cohort`` (first treated year; null = never
    treated), ``outcome`` and the ``covariates`` (time-invariant, base-year values; strings are
    categorical). ``weights``: optional time-invariant unit weights (facility-weighted estimand).
    ``size``: column ranking units for the leave-one-out diagnostic (default ``weights``, else the
    unit's mean outcome). ``method``: the library's ``dr`` (doubly robust, default), ``reg``
    (regression adjustment) or ``std_ipw`` (inverse probability weighting); without covariates all
    reduce to the unconditional DiD.

    Returns a frame with the columns of :data:`SCHEMA`: ``row_kind`` event_time (one row per event
    time, -1 = reference), pooled (``pooled_post``: event_time >= 0), diagnostic, sensitivity, or
    not_estimable (a single row with the reason, when the panel cannot be estimated).

    Bad input: a missing column, a duplicated or missing (unit, annee), or a covariate varying within a
    unit raise ``ValueError`` naming it. A unit whose outcome or a covariate is null in any year is
    left out, and every row's ``note`` says how many and which column; a covariate constant across units
    is not used (noted); when the doubly robust or IPW fit fails (covariates separating the groups),
    regression adjustment is used and ``method`` says so; fewer than ``min_treated``
    treated or ``min_control`` control units left give one ``not_estimable`` row with the counts.
    """
    if control_group not in CONTROL_GROUPS:
        raise ValueError(f"estimate_panel: control_group {control_group!r}, expected one of {CONTROL_GROUPS}")
    _check_frame(frame, outcome, covariates, weights, size)
    notes = []
    for col in [outcome, *covariates] + ([weights] if weights else []):
        bad = frame.filter(pl.col(col).is_null() | (pl.col(col).is_nan() if frame.schema[col].is_float() else pl.lit(False)))
        units = bad.get_column("unit").unique().sort()
        if units.len():
            notes.append(f"{units.len()} unit(s) left out, {col} missing (e.g. {units[0]})")
            frame = frame.filter(~pl.col("unit").is_in(units.implode()))
    kept = []
    for col in covariates:  # a covariate without variation is collinear with the intercept: dropped, said
        if frame.get_column(col).n_unique() > 1:
            kept.append(col)
        else:
            notes.append(f"covariate {col} constant across units, not used")
    covariates = tuple(kept)
    note = "; ".join(notes) or None
    units = frame.group_by("unit").agg(pl.col("cohort").first())
    n_t = units.filter(pl.col("cohort").is_not_null()).height
    n_c = units.filter(pl.col("cohort").is_null()).height
    common = {"seed": seed, "control_group": control_group, "method": method, "n_treated": n_t, "n_control": n_c}
    if n_t < max(min_treated, 2) or n_c < max(min_control, 2):
        why = (
            f"{n_t} treated and {n_c} control units: fewer than {min_treated} treated / {min_control} control "
            "clusters, too few for a cluster bootstrap"
        )
        return pl.DataFrame(
            [
                _row(
                    row_kind="not_estimable",
                    name="pooled_post",
                    status="not_estimable",
                    n_bootstrap=0,
                    note="; ".join(filter(None, [why, note])),
                    **common,
                )
            ],
            schema=SCHEMA,
            orient="row",
        )

    cohorts = sorted(units.get_column("cohort").drop_nulls().unique().to_list())
    first_year, last_year = int(frame.get_column("annee").min()), int(frame.get_column("annee").max())
    formula = f"{outcome} ~ " + (" + ".join(f"C({c})" if frame.schema[c] == pl.String else c for c in covariates) or "1")

    def to_pandas(f: pl.DataFrame):
        cols = ["unit", "annee", "cohort", outcome, *covariates] + ([weights] if weights else [])
        pdf = f.select(list(dict.fromkeys(cols))).with_columns(pl.col("cohort").cast(pl.Float64)).to_pandas()
        return pdf.set_index(["unit", "annee"]).sort_index()

    try:
        fit = _fit(to_pandas(frame), formula, method, control_group, weights, n_boot, seed)
    except (ZeroDivisionError, ValueError, np.linalg.LinAlgError) as exc:
        # the propensity score fails when the covariates separate treated and controls (no overlap):
        # regression adjustment still extrapolates the controls' trend, said on every row
        if method == "reg" or not covariates:
            why = f"the estimator failed ({type(exc).__name__}: {exc})"
            return pl.DataFrame(
                [
                    _row(
                        row_kind="not_estimable",
                        name="pooled_post",
                        status="not_estimable",
                        n_bootstrap=0,
                        note="; ".join(filter(None, [why, note])),
                        **common,
                    )
                ],
                schema=SCHEMA,
                orient="row",
            )
        notes.append(
            f"{method} failed ({type(exc).__name__}: no overlap of the covariates between treated and controls?): "
            "regression adjustment used instead"
        )
        note = "; ".join(notes)
        method = "reg"
        common["method"] = method
        fit = _fit(to_pandas(frame), formula, method, control_group, weights, n_boot, seed)
    z = _z(alpha)
    rows = []
    no_variation = "no variation across units that year (e.g. no event in either group): no standard error"
    for e, (att, se) in sorted(fit.event.items()):
        if e == -1:
            rows.append(_row(row_kind="event_time", name="att", event_time=e, estimate=0.0, status="reference", **common))
        elif not _usable(se):
            rows.append(_row(row_kind="event_time", name="att", event_time=e, status="not_estimable", note=no_variation, **common))
        else:
            rows.append(
                _row(
                    row_kind="event_time",
                    name="att",
                    event_time=e,
                    estimate=att,
                    ci_low=att - z * se,
                    ci_high=att + z * se,
                    std_error=se,
                    status="estimated",
                    **common,
                )
            )
    pooled, pooled_se = fit.pooled
    lo, hi = pooled - z * pooled_se, pooled + z * pooled_se
    post_span = (min(cohorts), last_year)
    if not _usable(pooled_se):
        rows.append(
            _row(
                row_kind="pooled",
                name="pooled_post",
                annee_start=post_span[0],
                annee_end=post_span[1],
                status="not_estimable",
                note=no_variation,
                **common,
            )
        )
        out = pl.DataFrame(rows, schema=SCHEMA, orient="row")
        return out.with_columns(
            pl.lit(n_boot, pl.Int32).alias("n_bootstrap"),
            pl.concat_str([pl.col("note"), pl.lit(note)], separator="; ", ignore_nulls=True).alias("note"),
        )
    rows.append(
        _row(
            row_kind="pooled",
            name="pooled_post",
            annee_start=post_span[0],
            annee_end=post_span[1],
            estimate=pooled,
            ci_low=lo,
            ci_high=hi,
            std_error=pooled_se,
            status="estimated",
            **common,
        )
    )

    failed: list[str] = []
    diag: list[dict] = []
    joint, slope = _pre_diagnostics(fit.cells)
    if joint is not None:
        ok = joint["p_value"] >= alpha
        diag.append(
            _row(
                row_kind="diagnostic",
                name="pre_test_joint",
                statistic=joint["statistic"],
                p_value=joint["p_value"],
                annee_start=first_year,
                annee_end=max(cohorts) - 2,
                status="pass" if ok else "fail",
                note=f"Wald chi2 with {joint['q']} pre-period coefficients",
                **common,
            )
        )
        failed += [] if ok else [f"pre-period coefficients jointly non-zero (p = {joint['p_value']:.3g})"]
    if slope is not None:
        b, se_b, p_b = slope
        ok = not (p_b < alpha)
        diag.append(
            _row(
                row_kind="diagnostic",
                name="pre_trend_slope",
                estimate=b,
                std_error=se_b,
                ci_low=b - z * se_b,
                ci_high=b + z * se_b,
                statistic=b / se_b if se_b else None,
                p_value=p_b,
                status="pass" if ok else "fail",
                note="slope of the pre-period coefficients per year of event time",
                **common,
            )
        )
        failed += [] if ok else [f"linear pre-trend of {b:.3g} per year (p = {p_b:.3g})"]
        post = {e: v for e, v in fit.event.items() if e >= 0}
        adjusted = float(np.mean([att - b * (e + 1) for e, (att, _) in post.items()]))
        shift = float(np.mean([e + 1 for e in post]))
        # its se combines the pooled and slope se as if independent (a sensitivity row, not a test)
        se_adj = math.sqrt(pooled_se**2 + (shift * se_b) ** 2)
        diag.append(
            _row(
                row_kind="sensitivity",
                name="trend_adjusted",
                annee_start=post_span[0],
                annee_end=post_span[1],
                estimate=adjusted,
                ci_low=adjusted - z * se_adj,
                ci_high=adjusted + z * se_adj,
                std_error=se_adj,
                status="pass" if (adjusted > 0) == (pooled > 0) else "fail",
                note="pooled effect minus the linear pre-trend extrapolated to each post year",
                **common,
            )
        )
        if (adjusted > 0) != (pooled > 0):
            failed.append(f"the pooled effect changes sign once the linear pre-trend is extrapolated ({adjusted:.3g})")

    # placebo: pre-period only, treatment moved placebo_shift years earlier
    fake = frame.filter(pl.col("annee") < pl.col("cohort").min()).with_columns(pl.col("cohort") - placebo_shift)
    if fake.height and int(fake.get_column("cohort").min()) - 1 > first_year:
        pf = _fit(to_pandas(fake), formula, method, control_group, weights, n_boot, seed)
        pe, pse = pf.pooled
        span = {"annee_start": min(cohorts) - placebo_shift, "annee_end": min(cohorts) - 1}
        if not (np.isfinite(pse) and pse > 0):  # an outcome with no variation before the treatment (e.g. no event)
            diag.append(
                _row(
                    row_kind="diagnostic",
                    name="placebo",
                    status="not_estimable",
                    **span,
                    note="placebo without variation in the pre-period: no standard error",
                    **common,
                )
            )
        else:
            ok = pe - z * pse <= 0 <= pe + z * pse
            diag.append(
                _row(
                    row_kind="diagnostic",
                    name="placebo",
                    estimate=pe,
                    ci_low=pe - z * pse,
                    ci_high=pe + z * pse,
                    std_error=pse,
                    statistic=pe / pse,
                    status="pass" if ok else "fail",
                    **span,
                    note=f"treatment placed {placebo_shift} years early, pre-period data only",
                    **common,
                )
            )
            failed += [] if ok else [f"placebo {placebo_shift} years before the treatment finds {pe:.3g}"]

    # leave-one-out of the largest units
    rank = (
        frame.group_by("unit")
        .agg(pl.col(size or weights or outcome).mean().alias("s"))
        .sort(["s", "unit"], descending=[True, False])
        .head(n_leave_out)
        .get_column("unit")
        .to_list()
    )
    worst = None
    for u in rank:
        rest = frame.filter(pl.col("unit") != u)
        if rest.filter(pl.col("cohort").is_not_null()).get_column("unit").n_unique() < 2:
            continue
        est = _fit(to_pandas(rest), formula, method, control_group, weights, 0, seed).pooled[0]
        ok = abs(est - pooled) <= LOO_SHIFT * pooled_se
        diag.append(
            _row(
                row_kind="diagnostic",
                name="leave_one_out",
                dropped_unit=str(u),
                estimate=est,
                statistic=(est - pooled) / pooled_se if pooled_se else None,
                status="pass" if ok else "fail",
                note=f"pooled effect without this unit; statistic = shift in standard errors (fails above {LOO_SHIFT})",
                **common,
            )
        )
        if not ok and (worst is None or abs(est - pooled) > abs(worst[1] - pooled)):
            worst = (u, est)
    if worst:
        failed.append(f"without unit {worst[0]} the pooled effect is {worst[1]:.3g} instead of {pooled:.3g}")
    if weights:
        # sorted: group_by returns the groups in no fixed order, and the float sum and the ties depend on it
        w = frame.filter(pl.col("cohort").is_not_null()).group_by("unit").agg(pl.col(weights).first()).sort("unit")
        total = float(w.get_column(weights).sum())
        top = w.sort([weights, "unit"], descending=[True, False]).row(0)
        share = float(top[1]) / total if total else float("nan")
        ok = not share > MAX_WEIGHT_SHARE
        diag.append(
            _row(
                row_kind="diagnostic",
                name="max_weight_share",
                dropped_unit=str(top[0]),
                estimate=share,
                status="pass" if ok else "fail",
                note=f"largest treated unit's share of the treated weight (limit {MAX_WEIGHT_SHARE:.0%})",
                **common,
            )
        )
        failed += [] if ok else [f"unit {top[0]} carries {share:.0%} of the treated weight"]
    status_note = ("fragile: " + "; ".join(failed)) if failed else None
    for r in rows:
        if r["status"] == "estimated" and failed:
            r["status"] = "fragile"
        r["note"] = "; ".join(filter(None, [r["note"] if r["status"] == "not_estimable" else status_note, note]))
    for r in diag:
        r["note"] = "; ".join(filter(None, [r["note"], note]))
    out = pl.DataFrame(rows + diag, schema=SCHEMA, orient="row").with_columns(pl.lit(n_boot, pl.Int32).alias("n_bootstrap"))
    return out.with_columns(
        pl.when(pl.col("row_kind") == "event_time").then(pl.col("event_time")).otherwise(None).alias("event_time"),
    )
