"""The DiD / event-study estimator on constructed panels: a known effect is recovered, no effect
gives intervals covering 0, exact values on a tiny panel, reproducibility from the seed."""

import numpy as np
import pytest

from assets.marts.did import Panel, estimate, panel_from_rows

YEARS = tuple(range(2012, 2025))


def _panel(rng, n_t, n_c, effect_fn, noise=1.0):
    """Additive panel: y = unit effect + common trend + effect_fn(year) for treated + noise."""
    n = n_t + n_c
    treated = np.array([True] * n_t + [False] * n_c)
    years = np.array(YEARS)
    y = rng.normal(10, 3, size=(n, 1)) + np.linspace(0, 2, len(YEARS))[None, :] + rng.normal(0, noise, size=(n, len(YEARS)))
    y = y + treated[:, None] * np.array([effect_fn(t) for t in years])[None, :]
    return Panel(tuple(f"u{i:03d}" for i in range(n)), treated, YEARS, y)


def test_tiny_panel_exact_event_study_values():
    # two treated, two controls, base 2016; treated lose 1 then 3 facilities, controls lose 0 then 1
    rows = [
        ("t1", 2015, 5), ("t1", 2016, 5), ("t1", 2017, 4), ("t1", 2018, 2),
        ("t2", 2015, 3), ("t2", 2016, 3), ("t2", 2017, 2), ("t2", 2018, 0),
        ("c1", 2015, 4), ("c1", 2016, 4), ("c1", 2017, 4), ("c1", 2018, 3),
        ("c2", 2015, 2), ("c2", 2016, 2), ("c2", 2017, 2), ("c2", 2018, 1),
    ]
    p = panel_from_rows(rows, ["t1", "t2"], ["c1", "c2"])
    md = estimate(p, 2016, "mean_difference", n_boot=200, seed=1)
    assert md.row("event_study", 2016).status == "reference" and md.row("event_study", 2016).estimate == 0
    assert md.row("event_study", 2017).estimate == pytest.approx(-1.0)  # (-1) - 0
    assert md.row("event_study", 2018).estimate == pytest.approx(-2.0)  # (-3) - (-1)
    assert md.row("did").estimate == pytest.approx(-1.5) and md.row("did").period_start == 2017
    assert md.row("pre_trend").estimate == pytest.approx(0.0)
    rt = estimate(p, 2016, "ratio_of_totals", n_boot=200, seed=1)
    # treated total 8 -> 6 -> 2, controls 6 -> 6 -> 4: 100 x ((6/8)/(6/6) - 1) = -25; 100 x ((2/8)/(4/6) - 1) = -62.5
    assert rt.row("event_study", 2017).estimate == pytest.approx(-25.0)
    assert rt.row("event_study", 2018).estimate == pytest.approx(-62.5)
    assert rt.index_treated[2018] == pytest.approx(25.0) and rt.index_control[2018] == pytest.approx(400 / 6)
    assert md.mean_treated[2015] == pytest.approx(4.0) and md.mean_control[2018] == pytest.approx(2.0)


def test_known_constant_effect_is_recovered_within_its_interval():
    p = _panel(np.random.default_rng(11), 120, 400, lambda t: -1.5 if t >= 2017 else 0.0)
    r = estimate(p, 2016, "mean_difference", n_boot=999, seed=5)
    did = r.row("did")
    assert did.ci_low < -1.5 < did.ci_high
    assert did.estimate == pytest.approx(-1.5, abs=0.3)
    assert did.ci_high < 0  # the effect is detected
    pre = r.row("pre_trend")
    assert pre.ci_low < 0 < pre.ci_high
    covered = sum(r.row("event_study", t).ci_low < -1.5 < r.row("event_study", t).ci_high for t in range(2017, 2025))
    assert covered >= 7  # 95 % intervals: at most one miss expected among 8 years


@pytest.mark.parametrize("estimand", ["mean_difference", "ratio_of_totals"])
def test_no_effect_intervals_cover_zero_at_their_nominal_rate(estimand):
    # 200 independent panels without effect: a 95 % interval should cover 0 about 95 % of the time
    # (a single panel would miss 1 time in 20, so a single-draw assertion would prove little).
    rng = np.random.default_rng(12)
    covered = 0
    for k in range(200):
        p = _panel(rng, 40, 120, lambda t: 0.0)
        did = estimate(p, 2016, estimand, n_boot=199, seed=k).row("did")
        covered += did.ci_low < 0 < did.ci_high
    assert 0.88 <= covered / 200 <= 0.995, covered


def test_multiplicative_closure_effect_on_counts_is_recovered_in_percent():
    # counts: treated units lose an extra 10 % a year from 2017 -> true effect in year t = 100 x (0.9^(t-2016) - 1)
    rng = np.random.default_rng(13)
    n_t, n_c = 150, 450
    treated = np.array([True] * n_t + [False] * n_c)
    years = np.array(YEARS)
    effect = np.where(years >= 2017, 0.9 ** (years - 2016), 1.0)
    mu = rng.uniform(2, 8, size=(n_t + n_c, 1)) * np.exp(np.linspace(0, 0.2, len(YEARS)))[None, :]
    mu = np.where(treated[:, None], mu * effect[None, :], mu)
    p = Panel(tuple(map(str, range(n_t + n_c))), treated, YEARS, rng.poisson(mu).astype(float))
    r = estimate(p, 2016, "ratio_of_totals", n_boot=999, seed=7)
    for t in (2018, 2020, 2024):
        row = r.row("event_study", t)
        truth = 100 * (0.9 ** (t - 2016) - 1)
        assert row.ci_low < truth < row.ci_high, (t, row, truth)
    truth_did = float(np.mean([100 * (0.9 ** (t - 2016) - 1) for t in range(2017, 2025)]))
    assert r.row("did").ci_low < truth_did < r.row("did").ci_high


def test_undefined_outcomes_are_left_out_not_counted_as_zero():
    rows = [("t1", 2016, 50.0), ("t1", 2017, 40.0), ("t2", 2016, None), ("t2", 2017, 10.0), ("t3", 2016, 20.0), ("t3", 2017, 10.0),
            ("c1", 2016, 20.0), ("c1", 2017, 20.0), ("c2", 2016, 30.0), ("c2", 2017, 30.0)]
    r = estimate(panel_from_rows(rows, ["t1", "t2", "t3"], ["c1", "c2"]), 2016, "mean_difference", n_boot=100, seed=0)
    # t2's change is undefined (a share without facility in 2016): the mean is over t1 and t3, not (-10 - 10 + 10) / 3
    assert r.row("event_study", 2017).estimate == pytest.approx(-10.0)


def test_a_coefficient_undefined_in_most_replicates_is_not_estimable():
    rows = [("t1", 2016, None), ("t1", 2017, 1.0), ("t2", 2016, 2.0), ("t2", 2017, 1.0),
            ("c1", 2016, 2.0), ("c1", 2017, 2.0), ("c2", 2016, 3.0), ("c2", 2017, 3.0)]
    row = estimate(panel_from_rows(rows, ["t1", "t2"], ["c1", "c2"]), 2016, "mean_difference", n_boot=400, seed=0).row("event_study", 2017)
    # a quarter of the replicates draw t1 twice and have no defined treated change
    assert row.status == "not_estimable" and np.isnan(row.estimate)


def test_same_seed_same_intervals_other_seed_other_draws():
    p = _panel(np.random.default_rng(14), 30, 60, lambda t: 0.5 if t >= 2017 else 0.0)
    a = estimate(p, 2016, "mean_difference", n_boot=300, seed=42).row("did")
    b = estimate(p, 2016, "mean_difference", n_boot=300, seed=42).row("did")
    c = estimate(p, 2016, "mean_difference", n_boot=300, seed=43).row("did")
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert (a.ci_low, a.ci_high) != (c.ci_low, c.ci_high)
    assert a.estimate == c.estimate  # the point estimate does not depend on the draws


def test_bad_panels_are_refused():
    with pytest.raises(ValueError, match="unbalanced panel: no row for unit c1 in 2017"):
        panel_from_rows([("t1", 2016, 1), ("t1", 2017, 1), ("c1", 2016, 1)], ["t1"], ["c1"])
    p = panel_from_rows([(u, y, 1.0) for u in ("t1", "c1", "c2") for y in (2016, 2017)], ["t1"], ["c1", "c2"])
    with pytest.raises(ValueError, match="at least 2 treated"):
        estimate(p, 2016)
    with pytest.raises(ValueError, match="base year 2010"):
        estimate(p, 2010)
