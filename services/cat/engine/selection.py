"""Item selection: rank the available items of a pool (the whole bank or one content area) by a
criterion and return the best `m` bank indices, best first. The exposure rule then walks that
list (`services.cat.engine.exposure`).

- max_info: maximum Fisher information at θ̂ (ties: lowest bank index, as numpy's argmax).
- randomesque(k): one of the k most informative items, uniformly at random (Kingsbury & Zara 1989).
- kl: Kullback–Leibler information integrated over θ̂ ± z/√n (Chang & Ying 1996).
- progressive: (1 - s)·U(0, max I) + s·I(θ̂), s = items given / max items (Revuelta & Ponsoda 1998).
"""
from __future__ import annotations

import math

import numpy as np

from megacity.irt import category_probs, fisher_info
from services.cat.engine.bank import ItemBank
from services.cat.engine.config import SelectionConfig

_NEG = -np.inf


def pool_info(bank: ItemBank, theta: float, pool: np.ndarray | None) -> np.ndarray:
    """Fisher information at θ of every item in `pool` (bank indices; None = whole bank)."""
    if bank.dich_info is not None:
        return bank.dich_info(theta, pool)
    params = bank.params if pool is None else bank.params.take(pool)
    return fisher_info(theta, params)


def kl_index(bank: ItemBank, theta: float, n_answered: int, pool: np.ndarray | None, cfg: SelectionConfig) -> np.ndarray:
    params = bank.params if pool is None else bank.params.take(pool)
    delta = cfg.kl_delta_z / math.sqrt(max(n_answered, 1))
    nodes = np.linspace(theta - delta, theta + delta, cfg.kl_points)
    p0 = category_probs(theta, params)[0]  # (n, K)
    pt = category_probs(nodes, params)  # (G, n, K)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p0 > 0, p0 * (np.log(np.maximum(p0, 1e-300)) - np.log(np.maximum(pt, 1e-300))), 0.0)
    kl = terms.sum(axis=-1)  # (G, n)
    w = np.full(cfg.kl_points, nodes[1] - nodes[0])
    w[0] = w[-1] = 0.5 * w[0]
    return w @ kl


def top(values: np.ndarray, m: int) -> np.ndarray:
    """Positions of the m largest finite values, largest first (ties: lower position first)."""
    finite = np.isfinite(values)
    count = int(finite.sum())
    if count == 0:
        return np.empty(0, np.int64)
    m = min(m, count)
    if m == 1:
        return np.array([int(np.argmax(values))])
    if m < values.size:
        part = np.argpartition(-values, m - 1)[:m]
    else:
        part = np.flatnonzero(finite)
    order = np.lexsort((part, -values[part]))
    return part[order][:m]


def rank(bank: ItemBank, cfg: SelectionConfig, theta: float, pool: np.ndarray | None, blocked_local: np.ndarray,
         m: int, n_answered: int, n_given: int, max_items: int, rng: np.random.Generator | None) -> np.ndarray:
    """Bank indices of the best `m` available items of `pool` under the configured criterion.

    `blocked_local` are positions inside the pool (indices into `pool`, or bank indices when the
    pool is the whole bank) that must not be chosen (given, enemies, excluded)."""
    method = cfg.method
    if method == "kl":
        crit = kl_index(bank, theta, n_answered, pool, cfg)
    else:
        crit = pool_info(bank, theta, pool)
    if blocked_local.size:
        crit[blocked_local] = _NEG
    if method == "progressive":
        finite = np.isfinite(crit)
        if finite.any():
            s = min(1.0, n_given / max(max_items, 1))
            gen = rng or np.random.default_rng(0)
            r = gen.uniform(0.0, float(crit[finite].max()), size=crit.size)
            crit = np.where(finite, (1.0 - s) * r + s * crit, _NEG)
    if method == "randomesque":
        k = cfg.randomesque_k
        best = top(crit, max(k, m))
        if best.size:
            gen = rng or np.random.default_rng(0)
            pick = int(gen.integers(0, min(k, best.size)))
            best = np.concatenate([best[pick:pick + 1], np.delete(best, pick)])[:m]
        pos = best
    else:
        pos = top(crit, m)
    return pos if pool is None else pool[pos]
