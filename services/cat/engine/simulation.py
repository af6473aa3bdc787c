"""Monte-Carlo CAT simulation: examinees with known θ take adaptive tests against one bank, with
the same engine steps the service runs (selection, exposure rule, content balancing, θ update per
response, stopping). Used by the tests (small banks) and the benchmark (the issue's full run)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from megacity.irt import category_probs
from services.cat.engine.bank import ItemBank, ItemSpec
from services.cat.engine.config import CatConfig
from services.cat.engine.exposure import InMemoryExposure
from services.cat.engine.session import CatEngine


@dataclass
class SimulationResult:
    true_theta: np.ndarray
    theta: np.ndarray
    se: np.ndarray
    lengths: np.ndarray
    area_counts: list[dict[str, int]]
    exposure: np.ndarray  # per bank item: times given / examinees
    stop_reasons: list[str]

    @property
    def bias(self) -> float:
        return float(np.mean(self.theta - self.true_theta))

    @property
    def rmse(self) -> float:
        return float(np.sqrt(np.mean((self.theta - self.true_theta) ** 2)))

    @property
    def max_exposure(self) -> float:
        return float(self.exposure.max())


def random_3pl_bank(n: int, seed: int, areas: int = 0, bank_id: str = "sim") -> ItemBank:
    """The issue's bank: a ~ U(0.5, 2.5), b ~ N(0, 1), c ~ U(0, 0.25); optional equal areas."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(0.5, 2.5, n), rng.normal(0.0, 1.0, n), rng.uniform(0.0, 0.25, n)
    names = [f"area{k + 1}" for k in range(areas)] if areas else [""]
    specs = [ItemSpec(f"i{k:06d}", a=float(a[k]), b=float(np.clip(b[k], -10, 10)), c=float(c[k]),
                      content_area=names[k % len(names)]) for k in range(n)]
    return ItemBank.build(bank_id, 1, specs)


def simulate(bank: ItemBank, config: CatConfig, thetas: np.ndarray, seed: int = 0,
             exposure: InMemoryExposure | None = None) -> SimulationResult:
    engine = CatEngine(bank, config)
    exposure = exposure or InMemoryExposure()
    key = f"{bank.bank_id}"
    est, ses, lengths, counts, reasons = [], [], [], [], []
    for e, true in enumerate(np.asarray(thetas, dtype=float)):
        sid = f"sim-{e}"
        exposure.register(key, sid)
        s = engine.new_session(sid, seed * 1_000_003 + e)
        rng = np.random.default_rng([seed, e, 99])
        while True:
            items = engine.next_items(s, 1, exposure, key)
            if not items:
                break
            idx = bank.index[items[0]]
            p = category_probs(true, bank.params.take(np.array([idx])))[0, 0]
            ncat = int(bank.params.ncat[idx])
            score = int(rng.choice(ncat, p=p[:ncat] / p[:ncat].sum()))
            engine.apply_responses(s, [(items[0], score)])
        est.append(s.theta)
        ses.append(s.se)
        lengths.append(len(s.items))
        counts.append(dict(s.area_counts))
        reasons.append(s.stop_reason)
    ctr = exposure.banks[key]
    given = np.zeros(bank.n)
    for item_id, count in ctr.adm.items():
        given[bank.index[item_id]] = count
    return SimulationResult(np.asarray(thetas, float), np.array(est), np.array(ses), np.array(lengths), counts,
                            given / max(ctr.n, 1), reasons)
