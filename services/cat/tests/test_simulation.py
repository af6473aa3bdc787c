"""A small-bank version of the issue's simulation (the full 1,000 × 10,000 run is in
`make bench`): recovery per estimator, and exposure control plus a 4-area blueprint costing
little precision while keeping every item at or under r_max and every test on the blueprint."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from services.cat.engine.config import CatConfig, ContentConfig, EstimatorConfig, ExposureConfig
from services.cat.engine.simulation import random_3pl_bank, simulate

N_ITEMS, N_EXAMINEES, LENGTH = 1500, 200, 20
BLUEPRINT = {f"area{k}": 0.25 for k in range(1, 5)}


@pytest.fixture(scope="module")
def setup():
    bank = random_3pl_bank(N_ITEMS, 2024, areas=4)
    thetas = np.random.default_rng(77).normal(0, 1, N_EXAMINEES)
    base = CatConfig().fixed_length(LENGTH)
    return bank, thetas, base, simulate(bank, base, thetas, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["map", "mle", "wle"])
def test_estimators_recover_theta(setup, method: str) -> None:
    bank, thetas, base, _ = setup
    res = simulate(bank, replace(base, estimator=EstimatorConfig(method=method)), thetas[:100], seed=1)
    assert abs(res.bias) < 0.15 and res.rmse < 0.45


@pytest.mark.slow
@pytest.mark.parametrize("exposure", ["r_max", "sympson_hetter"])
def test_exposure_and_blueprint_cost_little(setup, exposure: str) -> None:
    bank, thetas, base, free = setup
    assert abs(free.bias) < 0.1 and free.rmse < 0.35
    assert free.max_exposure > 0.5  # unconstrained MFI overuses its favourite items
    cfg = replace(base, exposure=ExposureConfig(method=exposure, r_max=0.2), content=ContentConfig(BLUEPRINT)).validate()
    res = simulate(bank, cfg, thetas, seed=1)
    assert res.max_exposure <= 0.20
    for counts in res.area_counts:
        assert all(abs(counts.get(a, 0) - p * LENGTH) <= 1 for a, p in BLUEPRINT.items())
    assert res.rmse <= 1.10 * free.rmse
