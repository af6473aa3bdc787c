"""Item response theory: the one implementation of the IRT models that the CAT engine (item
selection, θ estimation) and the exam service (fixed-form scoring, the EAP fallback) both use.

Dichotomous items use the four-parameter logistic model (1PL/2PL/3PL are special cases):

    P(X=1 | θ) = c + (d - c) / (1 + exp(-D·a·(θ - b)))

Polytomous items use Samejima's graded response model (GRM, ordered boundaries b_1 < … < b_m)

    P*(X ≥ k) = 1 / (1 + exp(-D·a·(θ - b_k))),   P(X = k) = P*(X ≥ k) - P*(X ≥ k+1)

or Muraki's generalised partial credit model (GPCM, step parameters b_1 … b_m)

    P(X = k) ∝ exp(Σ_{v ≤ k} D·a·(θ - b_v))      (the empty sum for k = 0)

Scores are 0 … m (m + 1 categories). `D` is the bank's scaling constant (1.0, or 1.702 for the
normal-ogive metric).

Two views of the same models:
- arrays of items (`ItemArrays`) on a scalar θ or a grid of θ, with first and second
  derivatives: the CAT engine's hot paths (information, estimators, selection);
- one item at a time (`ItemParams`, as an item bank snapshot stores it) with log-probabilities
  on a grid (`category_log_probs`) and the expected-a-posteriori estimate `eap` (posterior mean
  over an 81-point grid on −4..4 with a N(0, 1) prior, trapezoid weights as catR's eapEst,
  SE = posterior SD): exam's fixed-form scorer and its fallback when CAT cannot be reached.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import expit, log_softmax

Array = npt.NDArray[Any]

LOGISTIC = 0
GRM = 1
GPCM = 2
MODEL_NAMES = {LOGISTIC: "logistic", GRM: "grm", GPCM: "gpcm"}

_TINY = 1e-300


@dataclass(frozen=True)
class ItemArrays:
    """Parameters of a set of items as parallel arrays (one row per item).

    `thr` holds GRM boundaries / GPCM steps padded with NaN to the widest item; `ncat` is the
    number of score categories (2 for dichotomous items). For dichotomous items `b, c, d` hold
    the 4PL parameters; for polytomous items they are unused (b = NaN, c = 0, d = 1).
    """

    model: Array  # int8 (n,)
    a: Array  # float64 (n,)
    b: Array
    c: Array
    d: Array
    thr: Array  # float64 (n, K-1), NaN padded
    ncat: Array  # int16 (n,)
    D: float = 1.0

    @property
    def n(self) -> int:
        return int(self.a.shape[0])

    @property
    def kmax(self) -> int:
        return int(self.thr.shape[1]) + 1

    def take(self, idx: Array) -> ItemArrays:
        return ItemArrays(self.model[idx], self.a[idx], self.b[idx], self.c[idx], self.d[idx],
                          self.thr[idx], self.ncat[idx], self.D)

    @staticmethod
    def dichotomous(a: npt.ArrayLike, b: npt.ArrayLike, c: npt.ArrayLike | None = None,
                    d: npt.ArrayLike | None = None, D: float = 1.0) -> ItemArrays:
        a = np.asarray(a, dtype=np.float64)
        n = a.shape[0]
        return ItemArrays(np.zeros(n, np.int8), a, np.asarray(b, np.float64),
                          np.zeros(n) if c is None else np.asarray(c, np.float64),
                          np.ones(n) if d is None else np.asarray(d, np.float64),
                          np.full((n, 1), np.nan), np.full(n, 2, np.int16), float(D))


# ----------------------------------------------------------------------------------------------
# Dichotomous (4PL)


def p4(theta: Any, a: Any, b: Any, c: Any = 0.0, d: Any = 1.0, D: float = 1.0) -> Any:
    """Probability of a correct response (4PL); broadcasts θ against the item arrays."""
    return c + (d - c) * expit(D * a * (np.asarray(theta) - b))


def info4(theta: Any, a: Any, b: Any, c: Any = 0.0, d: Any = 1.0, D: float = 1.0) -> Any:
    """Fisher information of 4PL items: P'^2 / (P Q), computed without cancellation."""
    z = D * a * (np.asarray(theta) - b)
    psi = expit(z)
    one_minus_psi = expit(-z)
    dmc = d - c
    p = c + dmc * psi
    q = (1.0 - d) + dmc * one_minus_psi
    dp = dmc * D * a * psi * one_minus_psi
    return dp * dp / np.maximum(p * q, _TINY)


class DichotomousInfo:
    """Precomputed arrays for fast Fisher information of many 4PL items at one θ (selection's
    hot path): about a dozen in-place numpy passes, no temporaries beyond two work buffers."""

    def __init__(self, a: Array, b: Array, c: Array, d: Array, D: float) -> None:
        self.Da = np.ascontiguousarray(D * a)
        self.b = np.ascontiguousarray(b)
        self.c = np.ascontiguousarray(c)
        self.dmc = np.ascontiguousarray(d - c)
        self.omd = np.ascontiguousarray(1.0 - d)
        self.g = self.Da * self.dmc

    def __call__(self, theta: float, idx: Array | None = None) -> Array:
        if idx is not None:
            Da, b, c, dmc, omd, g = (x[idx] for x in (self.Da, self.b, self.c, self.dmc, self.omd, self.g))
        else:
            Da, b, c, dmc, omd, g = self.Da, self.b, self.c, self.dmc, self.omd, self.g
        e = np.subtract(b, theta)
        e *= Da
        np.exp(e, out=e)  # e = exp(-z)
        psi = np.add(e, 1.0)
        np.reciprocal(psi, out=psi)  # psi = 1 / (1 + e)
        e *= psi  # e = 1 - psi
        q = np.multiply(dmc, e)
        q += omd  # q = 1 - P
        e *= psi  # e = psi (1 - psi)
        e *= g  # e = P'
        e *= e  # e = P'^2
        psi *= dmc
        psi += c  # psi = P
        psi *= q
        np.maximum(psi, _TINY, out=psi)
        e /= psi
        return e


# ----------------------------------------------------------------------------------------------
# Category probabilities and their θ-derivatives, for any model

Terms = tuple[Array, Array, Array]


def _dich_cats(theta: Array, it: ItemArrays) -> Terms:
    """(G, n, 2) probabilities, first and second derivatives for 4PL items."""
    z = it.D * it.a * (theta[:, None] - it.b)
    psi, omp = expit(z), expit(-z)
    dmc = it.d - it.c
    p = it.c + dmc * psi
    q = (1.0 - it.d) + dmc * omp
    w = psi * omp
    da = it.D * it.a
    p1 = dmc * da * w
    p2 = dmc * da * da * w * (omp - psi)
    P = np.stack([q, p], axis=-1)
    P1 = np.stack([-p1, p1], axis=-1)
    P2 = np.stack([-p2, p2], axis=-1)
    return P, P1, P2


def _grm_cats(theta: Array, it: ItemArrays) -> Terms:
    G, n = theta.shape[0], it.n
    da = (it.D * it.a)[None, :, None]
    thr = np.where(np.isnan(it.thr), np.inf, it.thr)  # a missing boundary: P*(X >= k) = 0
    z = da * (theta[:, None, None] - thr[None, :, :])  # (G, n, K-1)
    s = expit(z)
    t = expit(-z)  # 1 - s, accurate where s is near 1
    ones, zeros = np.ones((G, n, 1)), np.zeros((G, n, 1))
    star = np.concatenate([ones, s, zeros], axis=-1)  # P*(X >= k), k = 0..K
    cstar = np.concatenate([zeros, t, ones], axis=-1)  # 1 - P*(X >= k)
    w = np.concatenate([zeros, s * t, zeros], axis=-1)
    d1 = da * w
    d2 = da * da * w * (np.concatenate([zeros, t - s, zeros], axis=-1))
    upper = star[..., :-1] - star[..., 1:]
    lower = cstar[..., 1:] - cstar[..., :-1]
    P = np.where(star[..., 1:] > 0.5, lower, upper)  # pick the cancellation-free difference
    P = np.maximum(P, 0.0)
    P1 = d1[..., :-1] - d1[..., 1:]
    P2 = d2[..., :-1] - d2[..., 1:]
    return P, P1, P2


def _gpcm_cats(theta: Array, it: ItemArrays) -> Terms:
    n, K = it.n, it.kmax
    da = (it.D * it.a)[None, :, None]
    steps = np.where(np.isnan(it.thr), 0.0, it.thr)
    k = np.arange(K, dtype=np.float64)
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(steps, axis=1)], axis=1)  # Σ_{v≤k} b_v
    z = da * (k[None, None, :] * theta[:, None, None] - csum[None, :, :])  # (G, n, K)
    valid = (k[None, :] < it.ncat[:, None])[None, :, :]
    z = np.where(valid, z, -np.inf)
    z -= z.max(axis=-1, keepdims=True)
    P = np.exp(z)
    P /= P.sum(axis=-1, keepdims=True)
    mean = (P * k).sum(axis=-1, keepdims=True)
    dev = k - mean
    var = (P * dev * dev).sum(axis=-1, keepdims=True)
    P1 = da * P * dev
    P2 = da * da * P * (dev * dev - var)
    return P, P1, P2


def category_terms(theta: Any, it: ItemArrays) -> Terms:
    """Category probabilities P, dP/dθ and d²P/dθ² with shape (G, n, K) for θ of shape (G,).

    Categories an item does not have get P = 0 (and zero derivatives)."""
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    G, n, K = theta.shape[0], it.n, it.kmax
    if n and np.all(it.model == LOGISTIC):
        P, P1, P2 = _dich_cats(theta, it)
        if K > 2:
            pad = np.zeros((G, n, K - 2))
            P, P1, P2 = (np.concatenate([x, pad], axis=-1) for x in (P, P1, P2))
        return P, P1, P2
    P = np.zeros((G, n, K))
    P1 = np.zeros((G, n, K))
    P2 = np.zeros((G, n, K))
    for model, fn in ((LOGISTIC, _dich_cats), (GRM, _grm_cats), (GPCM, _gpcm_cats)):
        sel = np.flatnonzero(it.model == model)
        if sel.size == 0:
            continue
        sub = it.take(sel)
        p, p1, p2 = fn(theta, sub)
        kk = p.shape[-1]
        P[:, sel, :kk], P1[:, sel, :kk], P2[:, sel, :kk] = p, p1, p2
    return P, P1, P2


def category_probs(theta: Any, it: ItemArrays) -> Array:
    return category_terms(theta, it)[0]


def fisher_info(theta: Any, it: ItemArrays) -> Array:
    """Item information I_i(θ) = Σ_k P'_k² / P_k, shape (G, n) (or (n,) for a scalar θ)."""
    scalar = np.ndim(theta) == 0
    P, P1, _ = category_terms(theta, it)
    info: Array = np.where(P > _TINY, P1 * P1 / np.maximum(P, _TINY), 0.0).sum(axis=-1)
    out: Array = info[0] if scalar else info
    return out


@dataclass(frozen=True)
class PatternTerms:
    """Sums over answered items, one value per θ in the grid."""

    loglik: Array  # log L(θ)
    score: Array  # d log L / dθ
    obs_info: Array  # -d² log L / dθ²
    info: Array  # test (Fisher) information I(θ)
    j: Array  # Σ_i Σ_k P'_ik P''_ik / P_ik  (Warm's J)


def _dich_pattern_terms(theta: Array, it: ItemArrays, x: Array) -> PatternTerms:
    """pattern_terms for 4PL items only, without materialising the category axis."""
    da = it.D * it.a
    z = da * (theta[:, None] - it.b)
    psi, omp = expit(z), expit(-z)
    dmc = it.d - it.c
    p = it.c + dmc * psi
    q = (1.0 - it.d) + dmc * omp
    w = psi * omp
    p1 = dmc * da * w
    p2 = p1 * da * (omp - psi)
    pq = np.maximum(p * q, _TINY)
    correct = x.astype(bool)
    sign = np.where(correct, 1.0, -1.0)
    px = np.maximum(np.where(correct, p, q), _TINY)
    r1 = sign * p1 / px
    return PatternTerms(loglik=np.log(px).sum(axis=-1), score=r1.sum(axis=-1),
                        obs_info=(r1 * r1 - sign * p2 / px).sum(axis=-1), info=(p1 * p1 / pq).sum(axis=-1),
                        j=(p1 * p2 / pq).sum(axis=-1))


def pattern_terms(theta: Any, it: ItemArrays, x: npt.ArrayLike) -> PatternTerms:
    """Log-likelihood, its derivatives and information of response pattern `x` at each θ."""
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    if it.n and np.all(it.model == LOGISTIC):
        return _dich_pattern_terms(theta, it, np.asarray(x))
    return general_pattern_terms(theta, it, x)


def general_pattern_terms(theta: Any, it: ItemArrays, x: npt.ArrayLike) -> PatternTerms:
    """pattern_terms through the category axis (any model)."""
    theta = np.atleast_1d(np.asarray(theta, dtype=np.float64))
    P, P1, P2 = category_terms(theta, it)
    safe = np.maximum(P, _TINY)
    pos = P > _TINY
    info = np.where(pos, P1 * P1 / safe, 0.0).sum(axis=-1)
    j = np.where(pos, P1 * P2 / safe, 0.0).sum(axis=-1)
    idx = np.asarray(x, dtype=np.intp)[None, :, None]
    px = np.take_along_axis(safe, np.broadcast_to(idx, (theta.shape[0], it.n, 1)), axis=-1)[..., 0]
    p1x = np.take_along_axis(P1, np.broadcast_to(idx, (theta.shape[0], it.n, 1)), axis=-1)[..., 0]
    p2x = np.take_along_axis(P2, np.broadcast_to(idx, (theta.shape[0], it.n, 1)), axis=-1)[..., 0]
    r1 = p1x / px
    return PatternTerms(loglik=np.log(px).sum(axis=-1), score=r1.sum(axis=-1),
                        obs_info=(r1 * r1 - p2x / px).sum(axis=-1), info=info.sum(axis=-1), j=j.sum(axis=-1))


# ----------------------------------------------------------------------------------------------
# One item at a time, as a bank snapshot stores it; EAP scoring


@dataclass(frozen=True)
class ItemParams:
    """One item's model and parameters (`model`: logistic | grm | gpcm)."""

    model: str
    a: float
    b: float | None = None
    c: float = 0.0
    d: float = 1.0
    thresholds: tuple[float, ...] = ()

    @property
    def max_score(self) -> int:
        return 1 if self.model == "logistic" else len(self.thresholds)

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> ItemParams:
        """From a snapshot's item document ({model, a, b, c, d, thresholds})."""
        return cls(doc["model"], float(doc["a"]), None if doc.get("b") is None else float(doc["b"]),
                   float(doc.get("c") or 0.0), float(doc.get("d", 1.0) if doc.get("d") is not None else 1.0),
                   tuple(float(t) for t in doc.get("thresholds") or ()))


def category_log_probs(item: ItemParams, grid: Array, D: float = 1.0) -> Array:
    """log P(X = k | θ) for k = 0..m, shape (m + 1, len(grid)), computed in log space (GPCM) or
    floored at 1e-300 so that a long response pattern never underflows to log(0)."""
    if item.model == "logistic":
        p = p4(grid, item.a, item.b, item.c, item.d, D)
        p = np.clip(p, _TINY, 1 - 1e-16)
        out: Array = np.log(np.vstack([1.0 - p, p]))
        return out
    thr = np.asarray(item.thresholds, dtype=np.float64)
    if item.model == "grm":
        star = expit(D * item.a * (grid[None, :] - thr[:, None]))  # P*(X >= k), k = 1..m
        upper = np.vstack([np.ones_like(grid), star])
        lower = np.vstack([star, np.zeros_like(grid)])
        out = np.log(np.maximum(upper - lower, _TINY))
        return out
    if item.model == "gpcm":
        steps = D * item.a * (grid[None, :] - thr[:, None])
        z = np.vstack([np.zeros_like(grid), np.cumsum(steps, axis=0)])
        out = log_softmax(z, axis=0)
        return out
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
