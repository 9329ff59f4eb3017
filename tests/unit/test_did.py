"""assets.marts.did.estimate_panel on small simulated panels: exact values on a tiny case, recovery of a
planted size-varying effect under a size-related differential pre-trend (where the unconditional DiD is
biased), nothing found on a null panel, diagnostics that flag what conditioning cannot absorb, both
estimands, and the documented outcomes of bad input. Bootstrap replicates are kept modest (seeded)."""

import numpy as np
import polars as pl
import pytest

from assets.marts.did import SCHEMA, estimate_panel

SCHEMA_PL = {
    "unit": pl.String,
    "annee": pl.Int32,
    "cohort": pl.Int32,
    "y": pl.Float64,
    "log_size": pl.Float64,
    "region": pl.String,
    "w": pl.Float64,
}
YEARS = range(2012, 2025)
FIRST_TREATED = 2018  # the merger of 1 January 2017 can first show in the count of 1 January 2018


def _sim(
    seed: int, *, effect: float = -0.5, pre_trend: float = 0.3, unabsorbed: float = 0.0, n_t: int = 150, n_c: int = 300, noise: float = 0.1
):
    """y = 2 size + pre_trend x log(size) x (t - 2012) [+ unabsorbed x (t - 2012) for the treated]
    + effect x size/4 x (e + 1) after treatment + noise; treated are larger (size lognormal 1.5 vs 1.0).
    Returns the panel and the true ATT per event time (the mean over treated of their planted effect)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    treated_size = []
    for i in range(n_t + n_c):
        tr = i < n_t
        size = float(rng.lognormal(1.5 if tr else 1.0, 0.5))
        treated_size += [size] if tr else []
        region = "84" if rng.random() < 0.5 else "11"
        for t in YEARS:
            e = t - FIRST_TREATED
            y = (
                2 * size
                + pre_trend * np.log(size) * (t - 2012)
                + unabsorbed * tr * (t - 2012)
                + (effect * size / 4 * (e + 1) if tr and e >= 0 else 0.0)
                + rng.normal(0, noise)
            )
            rows.append((f"u{i:03d}", t, FIRST_TREATED if tr else None, y, float(np.log(size)), region, size))
    for e in range(0, YEARS[-1] - FIRST_TREATED + 1):
        truth[e] = effect * float(np.mean(treated_size)) / 4 * (e + 1)
    return pl.DataFrame(rows, schema=SCHEMA_PL, orient="row"), truth


def _rows(out: pl.DataFrame, name: str) -> list[dict]:
    return out.filter(pl.col("name") == name).to_dicts()


def _event(out: pl.DataFrame) -> dict[int, dict]:
    return {r["event_time"]: r for r in _rows(out, "att")}


def test_tiny_panel_exact_event_time_values_without_covariates():
    # 2 treated (first treated 2017), 2 controls: with no covariate the estimator is the plain DiD of mean changes
    data = {"t1": [5, 5, 4, 2], "t2": [4, 3, 1, 0], "c1": [4, 4, 4, 3], "c2": [2, 2, 3, 0]}  # 2015..2018
    rows = [
        (u, 2015 + k, 2017 if u.startswith("t") else None, float(v), None, None, None) for u, vs in data.items() for k, v in enumerate(vs)
    ]
    frame = pl.DataFrame(rows, schema=SCHEMA_PL, orient="row").select("unit", "annee", "cohort", "y")
    out = estimate_panel(frame, outcome="y", seed=1, n_boot=50, min_treated=2, min_control=2, n_leave_out=0)
    ev = _event(out)
    assert ev[-1]["status"] == "reference" and ev[-1]["estimate"] == 0.0
    assert ev[-2]["estimate"] == pytest.approx(0.5)  # 2015 vs 2016: treated +0 and +1, controls flat
    assert ev[0]["estimate"] == pytest.approx(-2.0)  # 2017: treated -1 and -2, controls 0 and +1
    assert ev[1]["estimate"] == pytest.approx(-1.5)  # 2018: treated -3 and -3, controls -1 and -2
    pooled = _rows(out, "pooled_post")[0]
    assert pooled["estimate"] == pytest.approx(-1.75)  # mean of event times 0 and 1 only: the pre-period is not averaged
    assert (pooled["annee_start"], pooled["annee_end"]) == (2017, 2018)
    assert pooled["n_treated"] == 2 and pooled["n_control"] == 2 and pooled["control_group"] == "never_treated"
    assert list(out.columns) == list(SCHEMA)


def test_conditioning_recovers_a_size_varying_effect_under_a_size_related_pre_trend():
    frame, truth = _sim(1)
    out = estimate_panel(frame, outcome="y", covariates=("log_size",), seed=3, n_boot=199)
    ev = _event(out)
    for e, true in truth.items():
        r = ev[e]
        assert abs(r["estimate"] - true) < 0.05 * abs(true), (e, r["estimate"], true)
        assert r["ci_low"] < true < r["ci_high"], (e, r, true)
    pooled = _rows(out, "pooled_post")[0]
    assert pooled["estimate"] == pytest.approx(np.mean(list(truth.values())), rel=0.05)
    assert pooled["status"] == "estimated"  # diagnostics pass once size is conditioned on
    assert {r["name"]: r["status"] for r in out.filter(pl.col("row_kind") == "diagnostic").to_dicts() if r["name"] != "leave_one_out"} == {
        "pre_test_joint": "pass",
        "pre_trend_slope": "pass",
        "placebo": "pass",
    }
    # the unconditional DiD (the former estimator's design) is biased by the differential trend and flagged
    naive = estimate_panel(frame, outcome="y", seed=3, n_boot=199)
    bias = {e: abs(_event(naive)[e]["estimate"] - t) / abs(t) for e, t in truth.items()}
    assert max(bias.values()) > 0.05
    assert _rows(naive, "pooled_post")[0]["status"] == "fragile"
    assert {r["name"] for r in naive.filter(pl.col("status") == "fail").to_dicts()} >= {"pre_test_joint", "pre_trend_slope", "placebo"}


def test_a_null_panel_finds_nothing():
    frame, _ = _sim(2, effect=0.0)
    out = estimate_panel(frame, outcome="y", covariates=("log_size",), seed=4, n_boot=199)
    pooled = _rows(out, "pooled_post")[0]
    assert pooled["ci_low"] < 0 < pooled["ci_high"]
    post = [r for e, r in _event(out).items() if e >= 0]
    assert sum(r["ci_low"] < 0 < r["ci_high"] for r in post) >= len(post) - 1  # 95 % intervals: one miss at most


def test_diagnostics_flag_a_pre_trend_conditioning_cannot_absorb():
    # treated units drift up by 0.2 a year whatever their size: no covariate explains it
    frame, _ = _sim(5, unabsorbed=0.2)
    out = estimate_panel(frame, outcome="y", covariates=("log_size", "region"), seed=6, n_boot=199)
    diag = {r["name"]: r for r in out.filter(pl.col("row_kind") == "diagnostic").to_dicts() if r["name"] != "leave_one_out"}
    assert diag["pre_test_joint"]["status"] == "fail" and diag["pre_test_joint"]["p_value"] < 0.05
    assert diag["pre_trend_slope"]["estimate"] == pytest.approx(0.2, abs=0.03) and diag["pre_trend_slope"]["status"] == "fail"
    assert diag["placebo"]["status"] == "fail"
    pooled = _rows(out, "pooled_post")[0]
    assert pooled["status"] == "fragile" and "linear pre-trend" in pooled["note"]
    assert all(r["status"] == "fragile" for e, r in _event(out).items() if e >= 0)
    # the sensitivity row removes the extrapolated trend: the drift of 0.2 a year no longer inflates the effect
    adjusted = _rows(out, "trend_adjusted")[0]
    assert abs(adjusted["estimate"] - pooled["estimate"]) == pytest.approx(0.2 * np.mean(range(1, 8)), rel=0.2)


def test_facility_weighted_estimand_and_a_dominant_unit():
    # effect proportional to size, weights = size: the weighted ATT is the size-weighted mean of the effects
    frame, _ = _sim(7, pre_trend=0.0)
    frame = frame.with_columns(pl.col("w").alias("w"))
    unit = estimate_panel(frame, outcome="y", seed=8, n_boot=99, n_leave_out=0)
    fac = estimate_panel(frame, outcome="y", seed=8, n_boot=99, n_leave_out=0, weights="w")
    sizes = frame.filter(pl.col("cohort").is_not_null() & (pl.col("annee") == 2012)).get_column("w").to_numpy()
    true_unit, true_fac = -0.5 * sizes.mean() / 4, -0.5 * (sizes**2).sum() / sizes.sum() / 4
    assert _event(unit)[0]["estimate"] == pytest.approx(true_unit, rel=0.05)
    assert _event(fac)[0]["estimate"] == pytest.approx(true_fac, rel=0.05)
    share = _rows(fac, "max_weight_share")[0]
    assert share["estimate"] == pytest.approx(sizes.max() / sizes.sum()) and share["status"] == "pass"
    # one treated unit with 60 % of the weight (as the MGP in the 2016 cohort): published fragile, with the reason
    big = frame.with_columns(pl.when(pl.col("unit") == "u000").then(1.5 * sizes.sum()).otherwise(pl.col("w")).alias("w"))
    out = estimate_panel(big, outcome="y", seed=8, n_boot=99, n_leave_out=0, weights="w")
    share = _rows(out, "max_weight_share")[0]
    assert share["status"] == "fail" and share["dropped_unit"] == "u000" and share["estimate"] == pytest.approx(0.6, abs=0.01)
    assert _rows(out, "pooled_post")[0]["status"] == "fragile" and "u000 carries 60%" in _rows(out, "pooled_post")[0]["note"]


def test_leave_one_out_flags_a_unit_that_drives_the_estimate():
    frame, _ = _sim(9, effect=0.0, pre_trend=0.0)
    # one large treated unit loses 40 after treatment; nobody else changes
    frame = frame.with_columns(
        pl.when((pl.col("unit") == "u001") & (pl.col("annee") >= FIRST_TREATED)).then(pl.col("y") - 40).otherwise(pl.col("y")).alias("y"),
        pl.when(pl.col("unit") == "u001").then(1000.0).otherwise(pl.col("w")).alias("w"),
    )
    out = estimate_panel(frame, outcome="y", seed=10, n_boot=99, size="w", n_leave_out=3)
    loo = _rows(out, "leave_one_out")
    assert len(loo) == 3 and loo[0]["dropped_unit"] == "u001" and loo[0]["status"] == "fail"
    assert loo[0]["estimate"] == pytest.approx(0.0, abs=0.1)  # without it, nothing
    assert "without unit u001" in _rows(out, "pooled_post")[0]["note"]


def test_same_seed_same_intervals():
    frame, _ = _sim(11, n_t=30, n_c=60)
    a = estimate_panel(frame, outcome="y", covariates=("log_size",), seed=42, n_boot=99, n_leave_out=0)
    b = estimate_panel(frame, outcome="y", covariates=("log_size",), seed=42, n_boot=99, n_leave_out=0)
    c = estimate_panel(frame, outcome="y", covariates=("log_size",), seed=43, n_boot=99, n_leave_out=0)
    assert a.equals(b)
    pa, pc = _rows(a, "pooled_post")[0], _rows(c, "pooled_post")[0]
    assert pa["estimate"] == pc["estimate"] and pa["std_error"] != pc["std_error"]


def test_bad_input_has_documented_outcomes():
    frame, _ = _sim(12, n_t=12, n_c=40)
    # too few treated: one not_estimable row with the counts, no crash
    few = frame.filter(~pl.col("unit").is_in([f"u{i:03d}" for i in range(4)]))
    out = estimate_panel(few, outcome="y", seed=0, n_boot=49)
    assert out.height == 1 and out.row(0, named=True)["row_kind"] == "not_estimable"
    assert "8 treated and 40 control units" in out.row(0, named=True)["note"]
    # a covariate missing for some units: those units are left out and every row says so
    holes = frame.with_columns(pl.when(pl.col("unit").is_in(["u020", "u021"])).then(None).otherwise(pl.col("log_size")).alias("log_size"))
    out = estimate_panel(holes, outcome="y", covariates=("log_size",), seed=0, n_boot=49, n_leave_out=0)
    assert out.row(0, named=True)["n_control"] == 38
    assert all("2 unit(s) left out, log_size missing (e.g. u020)" in n for n in out.get_column("note"))
    # an outcome undefined in a year (e.g. a relative change without base-year facility): same rule
    out = estimate_panel(
        frame.with_columns(pl.when((pl.col("unit") == "u000") & (pl.col("annee") == 2013)).then(None).otherwise(pl.col("y")).alias("y")),
        outcome="y",
        seed=0,
        n_boot=49,
        n_leave_out=0,
    )
    assert out.row(0, named=True)["n_treated"] == 11 and "y missing (e.g. u000)" in out.row(0, named=True)["note"]
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['pop'\]"):
        estimate_panel(frame, outcome="y", covariates=("pop",), seed=0)
    with pytest.raises(ValueError, match="unbalanced panel, unit 'u000' has 12 of 13 years"):
        estimate_panel(frame.filter(~((pl.col("unit") == "u000") & (pl.col("annee") == 2012))), outcome="y", seed=0)
    with pytest.raises(ValueError, match="column 'y' varies within unit|column 'annee'"):
        estimate_panel(frame, outcome="y", covariates=("y",), seed=0)
    with pytest.raises(ValueError, match="control_group 'all'"):
        estimate_panel(frame, outcome="y", seed=0, control_group="all")


def test_a_year_without_variation_is_not_estimable_not_a_fake_zero():
    # a rare-event outcome (e.g. takeovers): nobody has one before the treatment, treated units have some after
    rng = np.random.default_rng(13)
    rows = [
        (f"u{i:02d}", t, FIRST_TREATED if i < 20 else None, float(rng.poisson(2.0)) if (i < 20 and t >= FIRST_TREATED) else 0.0)
        for i in range(60)
        for t in range(2014, 2020)
    ]
    frame = pl.DataFrame(rows, schema={"unit": pl.String, "annee": pl.Int32, "cohort": pl.Int32, "y": pl.Float64}, orient="row")
    out = estimate_panel(frame, outcome="y", seed=1, n_boot=49, n_leave_out=0)
    ev = _event(out)
    assert {ev[e]["status"] for e in (-4, -3, -2)} == {"not_estimable"} and ev[-2]["estimate"] is None
    assert "no variation" in ev[-2]["note"]
    assert ev[0]["status"] == "estimated" and ev[0]["estimate"] == pytest.approx(2.0, abs=0.6)
    placebo = _rows(out, "placebo")[0]
    assert placebo["status"] == "not_estimable"  # no pre-period variation: not a passed test either
