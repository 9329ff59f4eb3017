"""Event study and difference-in-differences with a cluster bootstrap: a pure, tested estimator.

The panel is balanced: units (EPCIs, the clusters) x years, each unit treated or control, outcome
``y[i, t]`` (NaN where undefined, e.g. a share without any facility). Effects are measured relative
to one base year (the year before treatment), so unit fixed effects cancel and, with a balanced
panel, the estimates equal those of the two-way fixed-effects event-study regression.

Two estimands:

* ``mean_difference``: effect_t = mean over treated of (y_t - y_base) - mean over controls of the
  same; in outcome units per unit (a unit whose change is undefined is left out that year).
* ``ratio_of_totals``: effect_t = 100 x [(sum_T y_t / sum_T y_base) / (sum_C y_t / sum_C y_base) - 1],
  the percentage change of the treated total relative to the control total. It suits counts that
  are small per unit (a few facilities per EPCI): a constant relative change, e.g. a higher annual
  closure rate, shows as a stable percentage whatever each unit's size.

Pooled rows: ``did`` = mean of the yearly effects over the post years (base_year + 1 onwards);
``pre_trend`` = mean over the years before base_year (a placebo: it should cover 0 if the groups
moved in parallel before treatment).

Inference: stratified cluster bootstrap. Each replicate draws, with replacement, as many treated
units as there are among the treated and as many controls as among the controls (so every
replicate has both groups); the whole trajectory of a unit moves together, which keeps the serial
correlation within an EPCI. The 95 % interval is the 2.5-97.5 percentile interval of the replicates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

ESTIMANDS = ("mean_difference", "ratio_of_totals")


@dataclass(frozen=True)
class Panel:
    units: tuple[str, ...]
    treated: np.ndarray  # (n,) bool
    years: tuple[int, ...]
    y: np.ndarray  # (n, T) float, NaN = undefined

    def __post_init__(self) -> None:
        n, t = len(self.units), len(self.years)
        if self.y.shape != (n, t) or self.treated.shape != (n,):
            raise ValueError(f"panel shapes disagree: {n} units, {t} years, y {self.y.shape}, treated {self.treated.shape}")
        if len(set(self.units)) != n:
            raise ValueError("panel units are not unique")

    @property
    def n_treated(self) -> int:
        return int(self.treated.sum())

    @property
    def n_control(self) -> int:
        return int((~self.treated).sum())


def panel_from_rows(rows: Sequence[tuple[str, int, float | None]], treated_units: Sequence[str], control_units: Sequence[str]) -> Panel:
    """Build a balanced panel from (unit, year, outcome) rows; a missing (unit, year) is an error."""
    units = tuple(sorted(set(treated_units))) + tuple(sorted(set(control_units) - set(treated_units)))
    years = tuple(sorted({int(r[1]) for r in rows}))
    index = {u: i for i, u in enumerate(units)}
    col = {y: j for j, y in enumerate(years)}
    y = np.full((len(units), len(years)), np.nan)
    seen = np.zeros_like(y, dtype=bool)
    for unit, year, value in rows:
        if unit not in index:
            continue
        i, j = index[unit], col[int(year)]
        y[i, j] = np.nan if value is None else float(value)
        seen[i, j] = True
    if not seen.all():
        i, j = np.argwhere(~seen)[0]
        raise ValueError(f"unbalanced panel: no row for unit {units[i]} in {years[j]}")
    treated = np.array([u in set(treated_units) for u in units])
    return Panel(units, treated, years, y)


@dataclass
class Estimate:
    estimator: str  # event_study | did | pre_trend
    annee: int  # year of the coefficient; for pooled rows, the last year averaged
    period_start: int
    estimate: float
    ci_low: float
    ci_high: float
    std_error: float
    status: str = "estimated"


@dataclass
class Result:
    estimand: str
    base_year: int
    n_treated: int
    n_control: int
    n_bootstrap: int
    seed: int
    rows: list[Estimate] = field(default_factory=list)
    mean_treated: dict[int, float] = field(default_factory=dict)
    mean_control: dict[int, float] = field(default_factory=dict)
    index_treated: dict[int, float] = field(default_factory=dict)
    index_control: dict[int, float] = field(default_factory=dict)

    def row(self, estimator: str, annee: int | None = None) -> Estimate:
        for r in self.rows:
            if r.estimator == estimator and (annee is None or r.annee == annee):
                return r
        raise KeyError((estimator, annee))


def _effects(y: np.ndarray, treated: np.ndarray, base: int, w: np.ndarray, estimand: str) -> np.ndarray:
    """Yearly effects for each row of bootstrap weights ``w`` (B, n) -> (B, T)."""
    wt, wc = w[:, treated], w[:, ~treated]
    yt, yc = y[treated], y[~treated]
    with np.errstate(invalid="ignore", divide="ignore"):
        if estimand == "mean_difference":
            d = y - y[:, [base]]
            m = np.isfinite(d)
            d0 = np.where(m, d, 0.0)
            mt, mc = m[treated].astype(float), m[~treated].astype(float)
            mean_t = (wt @ d0[treated]) / (wt @ mt)
            mean_c = (wc @ d0[~treated]) / (wc @ mc)
            return mean_t - mean_c
        if estimand == "ratio_of_totals":
            yt0, yc0 = np.nan_to_num(yt), np.nan_to_num(yc)
            tot_t, tot_c = wt @ yt0, wc @ yc0
            ratio_t = tot_t / tot_t[:, [base]]
            ratio_c = tot_c / tot_c[:, [base]]
            return 100.0 * (ratio_t / ratio_c - 1.0)
    raise ValueError(f"estimand {estimand!r}: expected one of {ESTIMANDS}")


def _stratified_weights(rng: np.random.Generator, treated: np.ndarray, n_boot: int) -> np.ndarray:
    n = treated.size
    w = np.zeros((n_boot, n))
    for group in (treated, ~treated):
        idx = np.flatnonzero(group)
        w[:, idx] = rng.multinomial(idx.size, np.full(idx.size, 1.0 / idx.size), size=n_boot)
    return w


def estimate(
    panel: Panel,
    base_year: int,
    estimand: str = "mean_difference",
    *,
    n_boot: int = 999,
    seed: int = 0,
    alpha: float = 0.05,
) -> Result:
    """Event-study coefficients for every year, pooled DiD and pre-trend rows, with bootstrap intervals."""
    if estimand not in ESTIMANDS:
        raise ValueError(f"estimand {estimand!r}: expected one of {ESTIMANDS}")
    if base_year not in panel.years:
        raise ValueError(f"base year {base_year} not in the panel years {panel.years[0]}..{panel.years[-1]}")
    if panel.n_treated < 2 or panel.n_control < 2:
        raise ValueError(f"need at least 2 treated and 2 control units, got {panel.n_treated} and {panel.n_control}")
    years = np.array(panel.years)
    base = int(np.flatnonzero(years == base_year)[0])
    post = years > base_year
    pre = years < base_year

    point = _effects(panel.y, panel.treated, base, np.ones((1, len(panel.units))), estimand)[0]
    rng = np.random.default_rng(seed)
    boot = _effects(panel.y, panel.treated, base, _stratified_weights(rng, panel.treated, n_boot), estimand)

    lo_q, hi_q = 100 * alpha / 2, 100 * (1 - alpha / 2)
    result = Result(estimand, base_year, panel.n_treated, panel.n_control, n_boot, seed)

    def summarize(estimator: str, annee: int, start: int, pt: float, draws: np.ndarray, status: str = "estimated") -> None:
        finite = draws[np.isfinite(draws)]
        if status == "estimated" and (not np.isfinite(pt) or finite.size < 0.9 * n_boot):
            status = "not_estimable"
        if status != "estimated":
            result.rows.append(Estimate(estimator, annee, start, pt if status == "reference" else float("nan"),
                                        float("nan"), float("nan"), float("nan"), status))
            return
        result.rows.append(Estimate(estimator, annee, start, float(pt), float(np.percentile(finite, lo_q)),
                                    float(np.percentile(finite, hi_q)), float(finite.std(ddof=1)), status))

    for j, year in enumerate(panel.years):
        if j == base:
            summarize("event_study", year, year, 0.0, boot[:, j], status="reference")
        else:
            summarize("event_study", year, year, point[j], boot[:, j])
    if post.any():
        summarize("did", int(years[post][-1]), int(years[post][0]), float(np.mean(point[post])), boot[:, post].mean(axis=1))
    if pre.any():
        summarize("pre_trend", int(years[pre][-1]), int(years[pre][0]), float(np.mean(point[pre])), boot[:, pre].mean(axis=1))

    with np.errstate(invalid="ignore", divide="ignore"):
        for group, means, index in ((panel.treated, result.mean_treated, result.index_treated),
                                    (~panel.treated, result.mean_control, result.index_control)):
            ys = panel.y[group]
            totals = np.nansum(ys, axis=0)
            for j, year in enumerate(panel.years):
                col = ys[:, j]
                means[year] = float(np.nanmean(col)) if np.isfinite(col).any() else float("nan")
                index[year] = float(100 * totals[j] / totals[base]) if totals[base] else float("nan")
    return result
