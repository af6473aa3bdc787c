"""Fixed-form scoring with the same IRT models the CAT engine uses (see services/cat README):

    logistic (1–4PL)  P(X=1|θ) = c + (d − c) / (1 + exp(−D·a·(θ − b)))
    GRM               P*(X≥k) = 1 / (1 + exp(−D·a·(θ − b_k))),  P(X=k) = P*(X≥k) − P*(X≥k+1)
    GPCM              P(X=k) ∝ exp(Σ_{v≤k} D·a·(θ − b_v))

EAP: posterior mean over a quadrature grid (default −4..4, 81 points, N(0, 1) prior, weights on
the grid by the trapezoid rule as catR), SE = posterior SD. `D` is the bank's scaling constant.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import expit, log_softmax

_TINY = 1e-300


@dataclass(frozen=True)
class ItemParams:
    model: str  # logistic | grm | gpcm
    a: float
    b: float | None = None
    c: float = 0.0
    d: float = 1.0
    thresholds: tuple[float, ...] = ()

    @property
    def max_score(self) -> int:
        return 1 if self.model == "logistic" else len(self.thresholds)

    @classmethod
    def from_json(cls, doc: dict) -> ItemParams:
        return cls(doc["model"], float(doc["a"]), None if doc.get("b") is None else float(doc["b"]),
                   float(doc.get("c") or 0.0), float(doc.get("d", 1.0) if doc.get("d") is not None else 1.0),
                   tuple(float(t) for t in doc.get("thresholds") or ()))


def category_log_probs(item: ItemParams, grid: np.ndarray, D: float = 1.0) -> np.ndarray:
    """log P(X = k | θ) for k = 0..m, shape (m + 1, len(grid))."""
    if item.model == "logistic":
        p = item.c + (item.d - item.c) * expit(D * item.a * (grid - item.b))
        p = np.clip(p, _TINY, 1 - 1e-16)
        return np.log(np.vstack([1.0 - p, p]))
    thr = np.asarray(item.thresholds, dtype=np.float64)
    if item.model == "grm":
        star = expit(D * item.a * (grid[None, :] - thr[:, None]))  # P*(X >= k), k = 1..m
        upper = np.vstack([np.ones_like(grid), star])
        lower = np.vstack([star, np.zeros_like(grid)])
        return np.log(np.maximum(upper - lower, _TINY))
    if item.model == "gpcm":
        steps = D * item.a * (grid[None, :] - thr[:, None])
        z = np.vstack([np.zeros_like(grid), np.cumsum(steps, axis=0)])
        return log_softmax(z, axis=0)
    raise ValueError(f"unknown IRT model {item.model!r}")


@dataclass(frozen=True)
class Estimate:
    theta: float
    se: float


def eap(items: Sequence[ItemParams], scores: Sequence[int], *, D: float = 1.0, prior_mean: float = 0.0,
        prior_sd: float = 1.0, grid_min: float = -4.0, grid_max: float = 4.0, points: int = 81) -> Estimate:
    """Expected a-posteriori θ and posterior SD for a response pattern (no responses: the prior)."""
    grid = np.linspace(grid_min, grid_max, points)
    w = np.full(points, grid[1] - grid[0])
    w[0] = w[-1] = 0.5 * w[0]  # trapezoid rule, as catR's eapEst (and the CAT engine)
    log_post = np.log(w) - 0.5 * ((grid - prior_mean) / prior_sd) ** 2
    for item, score in zip(items, scores, strict=True):
        if not 0 <= score <= item.max_score:
            raise ValueError(f"score {score} out of range 0..{item.max_score}")
        log_post = log_post + category_log_probs(item, grid, D)[score]
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    mean = float(np.dot(w, grid))
    sd = math.sqrt(max(float(np.dot(w, (grid - mean) ** 2)), 0.0))
    return Estimate(mean, sd)
