"""megacity.irt, the one IRT implementation of CAT and exam: the exam-side EAP gives exactly
the numbers it gave before the two modules were merged, and the per-item and the vectorised
views of each model agree."""
from __future__ import annotations

import numpy as np
import pytest

from megacity.irt import (
    GPCM,
    GRM,
    LOGISTIC,
    ItemArrays,
    ItemParams,
    category_log_probs,
    category_probs,
    eap,
    fisher_info,
    info4,
    p4,
)

ITEMS = [ItemParams("logistic", 1.2, -0.4, 0.2, 1.0), ItemParams("logistic", 0.8, 1.1, 0.0, 0.95),
         ItemParams("grm", 1.1, thresholds=(-0.8, 0.6)), ItemParams("gpcm", 0.9, thresholds=(-0.5, 0.3, 1.2)),
         ItemParams("logistic", 2.0, 0.0)]

# (D, pattern) -> (θ, SE) as services/exam/irt.py computed them before the merge (bit for bit).
GOLDEN = {
    (1.0, (1, 0, 2, 3, 1)): (1.2204839037170445, 0.652437946517796),
    (1.0, (0, 0, 0, 0, 0)): (-1.4200444513732207, 0.6813677445926818),
    (1.0, (1, 1, 2, 3, 1)): (1.5519508031966134, 0.682218593411259),
    (1.0, (0, 1, 1, 2, 0)): (-0.16498258375925187, 0.546889225393017),
    (1.702, (1, 0, 2, 3, 1)): (1.2375623165889242, 0.5479472988048328),
    (1.702, (0, 0, 0, 0, 0)): (-1.436313158266678, 0.605027976122599),
    (1.702, (1, 1, 2, 3, 1)): (1.6438008661840344, 0.6056067960277818),
    (1.702, (0, 1, 1, 2, 0)): (-0.12429366927932665, 0.38465830398128004),
}
GOLDEN_LOG_PROB_SUMS = [-33.212669636395816, -29.96686435172627, -81.57665369370659, -177.4765536916714,
                        -69.60166146466804]


@pytest.mark.parametrize(("D", "pattern"), list(GOLDEN))
def test_eap_is_unchanged_by_the_merge(D: float, pattern: tuple[int, ...]) -> None:
    est = eap(ITEMS, list(pattern), D=D)
    # Equal to the last few ulps: numpy's SIMD paths differ between CPUs in the final bit.
    assert (est.theta, est.se) == pytest.approx(GOLDEN[(D, pattern)], rel=1e-12, abs=1e-15)


def test_eap_without_responses_is_the_prior() -> None:
    est = eap([], [])
    assert (est.theta, est.se) == pytest.approx((0.0, 0.9994587067762571), rel=1e-12, abs=1e-15)
    with pytest.raises(ValueError):
        eap(ITEMS[:1], [2])


def test_category_log_probs_are_unchanged() -> None:
    grid = np.linspace(-4, 4, 9)
    sums = [float(category_log_probs(it, grid, 1.702).sum()) for it in ITEMS]
    assert sums == pytest.approx(GOLDEN_LOG_PROB_SUMS, rel=1e-12)


def _arrays(items: list[ItemParams], D: float) -> ItemArrays:
    k = max(max(it.max_score for it in items), 1)
    thr = np.full((len(items), k), np.nan)
    for n, it in enumerate(items):
        thr[n, :len(it.thresholds)] = it.thresholds
    codes = {"logistic": LOGISTIC, "grm": GRM, "gpcm": GPCM}
    return ItemArrays(np.array([codes[it.model] for it in items], np.int8), np.array([it.a for it in items]),
                      np.array([np.nan if it.b is None else it.b for it in items]), np.array([it.c for it in items]),
                      np.array([it.d for it in items]), thr, np.array([it.max_score + 1 for it in items], np.int16),
                      D)


@pytest.mark.parametrize("D", [1.0, 1.702])
def test_per_item_and_vectorised_views_agree(D: float) -> None:
    grid = np.linspace(-4, 4, 81)
    probs = category_probs(grid, _arrays(ITEMS, D))  # (G, n, K)
    for n, it in enumerate(ITEMS):
        per_item = np.exp(category_log_probs(it, grid, D))  # (m + 1, G)
        np.testing.assert_allclose(per_item.T, probs[:, n, :it.max_score + 1], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(probs[:, n, :].sum(axis=-1), 1.0, atol=1e-12)


def test_4pl_helpers_match_the_general_model() -> None:
    it = ItemArrays.dichotomous([1.2, 0.7], [-0.4, 1.5], [0.2, 0.0], [1.0, 0.9], D=1.702)
    for theta in (-2.0, 0.0, 1.3):
        np.testing.assert_allclose(category_probs(theta, it)[0, :, 1], p4(theta, it.a, it.b, it.c, it.d, it.D))
        np.testing.assert_allclose(fisher_info(theta, it), info4(theta, it.a, it.b, it.c, it.d, it.D), rtol=1e-12)
