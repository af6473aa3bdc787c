"""Estimators against published values (to 3 decimals) and closed forms.

Reference case: Baker (2001), *The Basics of Item Response Theory*, ch. 5 — three 2PL items
a = (1.0, 1.2, 0.8), b = (-1, 0, 1), responses (1, 0, 1), D = 1. Values published for it:
  - MLE θ̂ = 0.3249 (Baker's worked Newton–Raphson example; 0.3248462 in a public R test suite
    of catR/mstR estimators);
  - catR 3.x `thetaEst(it, x)` (Bayes modal, N(0,1) prior) = 0.1307695 and
    `semTheta(thEst, it, x)` = 0.7705124;
  - catR `eapEst(it, x)` (N(0,1) prior, 33 points on [-4, 4], trapezoid rule) = 0.1446946.
Closed forms: Rasch items all at b = 0, raw score r of n — MLE = ln(r / (n - r)) with
SE = 1/√(n P Q); Warm's WLE = ln((r + ½) / (n - r + ½)). One GPCM item with steps δ1, δ2 and
score 1: MLE = (δ1 + δ2) / 2 (E[X | θ] = 1 ⇔ P2 = P0).
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from megacity.irt import GPCM, GRM, ItemArrays
from services.cat.engine.bank import ItemBank, ItemSpec
from services.cat.engine.config import EstimatorConfig
from services.cat.engine.estimators import Estimator

BAKER = ItemArrays.dichotomous([1.0, 1.2, 0.8], [-1.0, 0.0, 1.0])
BAKER_X = np.array([1, 0, 1])


def r3(x: float) -> float:
    return round(x, 3)


def test_baker_mle() -> None:
    est = Estimator(EstimatorConfig()).estimate(BAKER, BAKER_X, "mle")
    assert r3(est.theta) == r3(0.3248462)
    assert r3(est.se) == 1.230  # Baker: SE(θ̂) = 1/√I(θ̂) = 1.23


def test_catr_bayes_modal_and_its_standard_error() -> None:
    est = Estimator(EstimatorConfig()).estimate(BAKER, BAKER_X, "map")
    assert r3(est.theta) == r3(0.1307695)
    assert r3(est.se) == r3(0.7705124)


def test_catr_eap_on_catr_grid() -> None:
    est = Estimator(EstimatorConfig(grid_min=-4, grid_max=4, grid_points=33)).estimate(BAKER, BAKER_X, "eap")
    assert r3(est.theta) == r3(0.1446946)
    assert abs(est.theta - 0.1446946) < 1e-6


def test_eap_default_grid_and_configurable_prior() -> None:
    default = Estimator(EstimatorConfig()).estimate(BAKER, BAKER_X)
    assert default.method == "eap" and r3(default.theta) == r3(0.1446946)
    # A shifted prior pulls the posterior mean; a uniform prior on a wide grid approaches the MLE.
    shifted = Estimator(EstimatorConfig(prior_mean=1.0)).estimate(BAKER, BAKER_X)
    assert shifted.theta > default.theta + 0.3
    flat = Estimator(EstimatorConfig(prior="uniform", prior_min=-4, prior_max=4)).estimate(
        ItemArrays.dichotomous(np.full(40, 1.5), np.linspace(-2, 2, 40)), np.array([1, 0] * 20))
    assert abs(flat.theta) < 0.2 and 0.2 < flat.se < 0.4


@pytest.mark.parametrize("r", [1, 3, 5, 7, 9])
def test_rasch_closed_forms(r: int) -> None:
    n = 10
    items = ItemArrays.dichotomous(np.ones(n), np.zeros(n))
    x = np.array([1] * r + [0] * (n - r))
    est = Estimator(EstimatorConfig())
    mle = est.estimate(items, x, "mle")
    p = r / n
    assert mle.theta == pytest.approx(math.log(r / (n - r)), abs=1e-9)
    assert mle.se == pytest.approx(1 / math.sqrt(n * p * (1 - p)), abs=1e-9)
    assert est.estimate(items, x, "wle").theta == pytest.approx(math.log((r + 0.5) / (n - r + 0.5)), abs=1e-9)


@pytest.mark.parametrize("r", [0, 10])
def test_wle_is_finite_for_perfect_scores(r: int) -> None:
    n = 10
    items = ItemArrays.dichotomous(np.ones(n), np.zeros(n))
    x = np.array([1] * r + [0] * (n - r))
    assert Estimator(EstimatorConfig()).estimate(items, x, "wle").theta == pytest.approx(
        math.log((r + 0.5) / (n - r + 0.5)), abs=1e-9)


def test_gpcm_closed_form_and_two_category_items() -> None:
    bank = ItemBank.build("b", 1, [ItemSpec("g", GPCM, a=1.3, thresholds=(-0.4, 1.0)),
                                   ItemSpec("r", GRM, a=1.2, thresholds=(0.0,))])
    est = Estimator(EstimatorConfig())
    one = bank.params.take(np.array([0]))
    assert est.estimate(one, np.array([1]), "mle").theta == pytest.approx(0.3, abs=1e-9)
    # The Baker items written as two-category GRM and GPCM items give catR's values again.
    for model in (GRM, GPCM):
        b2 = ItemBank.build("b", 1, [ItemSpec(f"i{k}", model, a=a, thresholds=(b,))
                                     for k, (a, b) in enumerate([(1.0, -1.0), (1.2, 0.0), (0.8, 1.0)])])
        assert r3(est.estimate(b2.params, BAKER_X, "map").theta) == r3(0.1307695)
        assert r3(est.estimate(b2.params, BAKER_X, "eap").theta) == r3(0.1446946)
        assert r3(est.estimate(b2.params, BAKER_X, "mle").theta) == r3(0.3248462)


def test_polytomous_modes_agree_with_brute_force_search() -> None:
    bank = ItemBank.build("b", 1, [ItemSpec("g1", GPCM, a=0.9, thresholds=(-1.0, 0.2, 1.1)),
                                   ItemSpec("g2", GRM, a=1.6, thresholds=(-0.8, 0.4)),
                                   ItemSpec("d", a=1.1, b=0.3, c=0.2)], D=1.702)
    x = np.array([2, 1, 0])
    est = Estimator(EstimatorConfig())
    grid = np.linspace(-4, 4, 80001)
    from megacity.irt import pattern_terms
    t = pattern_terms(grid, bank.params, x)
    assert est.estimate(bank.params, x, "mle").theta == pytest.approx(grid[np.argmax(t.loglik)], abs=2e-4)
    assert est.estimate(bank.params, x, "map").theta == pytest.approx(
        grid[np.argmax(t.loglik - grid ** 2 / 2)], abs=2e-4)


def test_mle_never_infinite_and_never_the_wrong_way() -> None:
    rng = np.random.default_rng(7)
    items = ItemArrays.dichotomous(rng.uniform(0.5, 2.5, 12), rng.normal(0, 1, 12), rng.uniform(0, .25, 12))
    for rule in ("eap", "bound"):
        est = Estimator(EstimatorConfig(constant_pattern=rule), start_theta=0.0)
        up, down = [0.0], [0.0]
        for n in range(1, 13):
            sub = items.take(np.arange(n))
            hi = est.estimate(sub, np.ones(n, int), "mle")
            lo = est.estimate(sub, np.zeros(n, int), "mle")
            assert math.isfinite(hi.theta) and math.isfinite(lo.theta) and math.isfinite(hi.se)
            assert -4 <= lo.theta <= 4 and -4 <= hi.theta <= 4
            assert hi.theta >= up[-1] and lo.theta <= down[-1]  # all correct never lowers θ, all wrong never raises it
            up.append(hi.theta)
            down.append(lo.theta)
        if rule == "bound":
            assert up[-1] == 4.0 and down[-1] == -4.0
    # Starting above the prior mean: an all-correct pattern still never goes below the start.
    est = Estimator(EstimatorConfig(), start_theta=1.5)
    assert est.estimate(items.take(np.arange(1)), np.array([1]), "mle").theta >= 1.5


def test_mle_interior_maximum_stays_within_bounds() -> None:
    items = ItemArrays.dichotomous([1.0, 1.0], [3.9, 5.0])
    est = Estimator(EstimatorConfig(theta_min=-4, theta_max=4)).estimate(items, np.array([1, 0]), "mle")
    assert est.theta == 4.0 and math.isfinite(est.se)
