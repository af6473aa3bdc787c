"""IRT models: published probabilities, and derivatives/information checked against their
definitions numerically (the estimators rely on them)."""
from __future__ import annotations

import numpy as np
import pytest

from megacity.irt import (
    GPCM,
    GRM,
    LOGISTIC,
    ItemArrays,
    category_terms,
    fisher_info,
    general_pattern_terms,
    info4,
    p4,
    pattern_terms,
)
from services.cat.engine.bank import ItemBank, ItemSpec


def _poly(model: int, a: float, thr: list[float], D: float = 1.0) -> ItemArrays:
    return ItemBank.build("b", 1, [ItemSpec("x", model, a=a, thresholds=tuple(thr))], D=D).params


def test_grm_category_probabilities_match_published_table() -> None:
    # Samejima GRM, a = 1, boundaries (-1, +1): the table printed in R. Almond's "DiBello models"
    # talk notes (pluto.coe.fsu.edu/svn/common/PeanutManual/Talks/DiBelloModels.html):
    #   θ = -1.8: P2 .057 P1 .253 P0 .690;  θ = -0.4: .198 .448 .354;  θ = 1.0: .500 .381 .119
    it = _poly(GRM, 1.0, [-1.0, 1.0])
    P = category_terms(np.array([-1.8, -0.4, 1.0]), it)[0][:, 0, :]
    expected = np.array([[0.690, 0.253, 0.057], [0.354, 0.448, 0.198], [0.119, 0.381, 0.500]])
    np.testing.assert_allclose(np.round(P, 3), expected, atol=1e-9)


def test_4pl_closed_forms() -> None:
    # At θ = b the 3PL probability is (1 + c) / 2 and information a²(1 - c) / (4(1 + c)) (D = 1).
    a, b, c = 1.7, 0.3, 0.2
    assert p4(b, a, b, c) == pytest.approx((1 + c) / 2)
    assert info4(b, a, b, c) == pytest.approx(a * a * (1 - c) / (4 * (1 + c)))
    # 2PL information a² P Q, at θ = b: a²/4.
    assert info4(b, 1.2, b) == pytest.approx(1.44 / 4)


@pytest.mark.parametrize("model,thr", [(GRM, [-1.5, -0.2, 0.9]), (GPCM, [-0.5, 1.2, 0.1]), (GPCM, [0.3])])
def test_polytomous_derivatives_and_information(model: int, thr: list[float]) -> None:
    it = _poly(model, 1.3, thr, D=1.702)
    theta = np.linspace(-3, 3, 13)
    h = 1e-5
    P, P1, P2 = category_terms(theta, it)
    Pp, Pm = category_terms(theta + h, it)[0], category_terms(theta - h, it)[0]
    np.testing.assert_allclose(P.sum(-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(P1, (Pp - Pm) / (2 * h), atol=1e-6)
    np.testing.assert_allclose(P2, (Pp - 2 * P + Pm) / h ** 2, atol=1e-4)
    info = fisher_info(theta, it)[:, 0]
    # Fisher information = Var(score function) = Σ P_k (d log P_k/dθ)².
    np.testing.assert_allclose(info, (P1 ** 2 / P).sum(-1)[:, 0], rtol=1e-10)
    if model == GPCM:  # GPCM: I = (D a)² Var(X | θ)
        k = np.arange(P.shape[-1])
        var = (P * k ** 2).sum(-1) - (P * k).sum(-1) ** 2
        np.testing.assert_allclose(info, (1.702 * 1.3) ** 2 * var[:, 0], rtol=1e-10)


def test_two_category_polytomous_items_are_the_2pl() -> None:
    theta = np.linspace(-4, 4, 17)
    two_pl = ItemArrays.dichotomous([1.4], [0.6])
    for model in (GRM, GPCM):
        it = _poly(model, 1.4, [0.6])
        np.testing.assert_allclose(category_terms(theta, it)[0], category_terms(theta, two_pl)[0], atol=1e-14)
        np.testing.assert_allclose(fisher_info(theta, it), fisher_info(theta, two_pl), rtol=1e-12)


def test_fast_bank_information_matches_the_reference_formula() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    a, b, c, d = rng.uniform(0.5, 2.5, n), rng.normal(0, 1.5, n), rng.uniform(0, .25, n), rng.uniform(.85, 1, n)
    bank = ItemBank.build("b", 1, [ItemSpec(f"i{k}", LOGISTIC, a[k], b[k], c[k], d[k]) for k in range(n)], D=1.702)
    for theta in (-3.0, 0.0, 0.7, 4.0):
        ref = info4(theta, a, b, c, d, 1.702)
        np.testing.assert_allclose(bank.dich_info(theta), ref, rtol=1e-10)
        np.testing.assert_allclose(fisher_info(theta, bank.params), ref, rtol=1e-10)
    # extreme θ: no overflow, no NaN, information vanishes
    far = bank.dich_info(10.0)
    assert np.all(np.isfinite(far)) and far.min() >= 0


def test_dichotomous_fast_path_equals_the_general_one() -> None:
    rng = np.random.default_rng(8)
    n = 25
    it = ItemArrays.dichotomous(rng.uniform(.5, 2.5, n), rng.normal(0, 1, n), rng.uniform(0, .25, n),
                                rng.uniform(.9, 1, n), D=1.702)
    x = rng.integers(0, 2, n)
    grid = np.linspace(-5, 5, 41)
    fast, ref = pattern_terms(grid, it, x), general_pattern_terms(grid, it, x)
    for name in ("loglik", "score", "obs_info", "info", "j"):
        np.testing.assert_allclose(getattr(fast, name), getattr(ref, name), rtol=1e-10, atol=1e-12)
