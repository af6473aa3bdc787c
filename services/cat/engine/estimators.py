"""Ability estimators with standard errors: EAP (default), MAP, MLE and WLE.

- EAP: posterior mean over a quadrature grid (trapezoid rule, like catR's `eapEst`), normal or
  uniform prior; SE = posterior standard deviation.
- MAP (Bayes modal): mode of log L + log prior; SE = 1/√(I(θ̂) + 1/σ²) with a normal prior
  (catR's `semTheta(method="BM")`), 1/√I(θ̂) with a uniform one.
- MLE: mode of log L within [theta_min, theta_max]; SE = 1/√I(θ̂). An all-correct or all-wrong
  pattern has no finite maximum: by default it is scored by EAP and never moved past the starting
  θ in the wrong direction (or, with constant_pattern="bound", it is the bound). Never ±inf.
- WLE (Warm 1989): root of  d log L/dθ + J(θ) / (2 I(θ)) = 0  within the bounds; SE = 1/√I(θ̂).

Modes are found robustly: the estimating function is evaluated on a coarse grid to bracket every
maximum (3PL likelihoods can be multimodal), then the best bracket is refined by safeguarded
Newton (MLE/MAP) or Brent's method (WLE) to 1e-10.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from megacity.irt import ItemArrays, pattern_terms
from services.cat.engine.config import EstimatorConfig

SE_MAX = 99.0
_COARSE_STEP = 0.25


@dataclass(frozen=True)
class Estimate:
    theta: float
    se: float
    method: str


def _se(info: float, extra: float = 0.0) -> float:
    total = info + extra
    return SE_MAX if not (total > 0) else min(SE_MAX, 1.0 / math.sqrt(total))


def _log_prior(theta: np.ndarray, cfg: EstimatorConfig) -> np.ndarray:
    if cfg.prior == "normal":
        return -0.5 * ((theta - cfg.prior_mean) / cfg.prior_sd) ** 2
    return np.where((theta >= cfg.prior_min) & (theta <= cfg.prior_max), 0.0, -np.inf)


class Estimator:
    """Estimates θ from answered items (`items`, arrays for exactly those items) and scores `x`."""

    def __init__(self, cfg: EstimatorConfig, start_theta: float = 0.0) -> None:
        self.cfg = cfg
        self.start_theta = float(start_theta)
        self.grid = np.linspace(cfg.grid_min, cfg.grid_max, cfg.grid_points)
        w = np.full(cfg.grid_points, self.grid[1] - self.grid[0])
        w[0] = w[-1] = 0.5 * w[0]
        self._log_w = np.log(w) + _log_prior(self.grid, cfg)  # trapezoid weights × prior
        npts = max(9, int(round((cfg.theta_max - cfg.theta_min) / _COARSE_STEP)) + 1)
        self.coarse = np.linspace(cfg.theta_min, cfg.theta_max, npts)

    # -- public ------------------------------------------------------------------------------
    def estimate(self, items: ItemArrays, x: np.ndarray, method: str | None = None) -> Estimate:
        method = method or self.cfg.method
        x = np.asarray(x, dtype=np.int64)
        if x.size == 0:
            return self._empty(method)
        if method == "eap":
            return self.eap(items, x)
        if method == "map":
            return self.map(items, x)
        if method == "mle":
            return self.mle(items, x)
        if method == "wle":
            return self.wle(items, x)
        raise ValueError(f"unknown estimator {method!r}")

    def _empty(self, method: str) -> Estimate:
        if method in ("eap", "map") or self.cfg.constant_pattern == "eap":
            prior_sd = self.cfg.prior_sd if self.cfg.prior == "normal" else (self.cfg.prior_max - self.cfg.prior_min) / math.sqrt(12)
            return Estimate(self.start_theta, min(SE_MAX, prior_sd), method)
        return Estimate(self.start_theta, SE_MAX, method)

    def eap(self, items: ItemArrays, x: np.ndarray) -> Estimate:
        t = pattern_terms(self.grid, items, x)
        lp = t.loglik + self._log_w
        w = np.exp(lp - lp.max())
        w /= w.sum()
        mean = float(np.dot(w, self.grid))
        sd = math.sqrt(max(float(np.dot(w, (self.grid - mean) ** 2)), 0.0))
        return Estimate(mean, min(sd, SE_MAX), "eap")

    def map(self, items: ItemArrays, x: np.ndarray) -> Estimate:
        theta = self._mode(items, x, "map")
        t = pattern_terms(theta, items, x)
        extra = 1.0 / self.cfg.prior_sd ** 2 if self.cfg.prior == "normal" else 0.0
        return Estimate(theta, _se(float(t.info[0]), extra), "map")

    def mle(self, items: ItemArrays, x: np.ndarray) -> Estimate:
        constant = _constant_pattern(items, x)
        if constant:
            if self.cfg.constant_pattern == "eap":
                e = self.eap(items, x)
                theta = max(e.theta, self.start_theta) if constant > 0 else min(e.theta, self.start_theta)
                return Estimate(theta, e.se, "mle")
            theta = self.cfg.theta_max if constant > 0 else self.cfg.theta_min
        else:
            theta = self._mode(items, x, "mle")
        t = pattern_terms(theta, items, x)
        return Estimate(theta, _se(float(t.info[0])), "mle")

    def wle(self, items: ItemArrays, x: np.ndarray) -> Estimate:
        theta = self._mode(items, x, "wle")
        t = pattern_terms(theta, items, x)
        return Estimate(theta, _se(float(t.info[0])), "wle")

    # -- mode finding --------------------------------------------------------------------------
    def _g(self, t, kind: str, theta) -> np.ndarray:
        g = t.score.copy()
        if kind == "map" and self.cfg.prior == "normal":
            g -= (np.asarray(theta) - self.cfg.prior_mean) / self.cfg.prior_sd ** 2
        elif kind == "wle":
            g += t.j / (2.0 * np.maximum(t.info, 1e-300))
        return g

    def _f(self, t, kind: str, theta) -> np.ndarray:
        f = t.loglik.copy()
        if kind == "map":
            f += _log_prior(np.asarray(theta, dtype=float), self.cfg)
        elif kind == "wle":
            f += 0.5 * np.log(np.maximum(t.info, 1e-300))  # exact for 1PL/2PL; ranks roots otherwise
        return f

    def _mode(self, items: ItemArrays, x: np.ndarray, kind: str) -> float:
        lo, hi = self.cfg.theta_min, self.cfg.theta_max
        if kind == "map" and self.cfg.prior == "uniform":
            lo, hi = max(lo, self.cfg.prior_min), min(hi, self.cfg.prior_max)
            kind_g = "mle"
        else:
            kind_g = kind
        grid = self.coarse[(self.coarse >= lo) & (self.coarse <= hi)]
        if grid.size < 2 or grid[0] > lo or grid[-1] < hi:
            grid = np.unique(np.concatenate([[lo], grid, [hi]]))
        t = pattern_terms(grid, items, x)
        g = self._g(t, kind_g, grid)
        f = self._f(t, kind, grid)
        cands: list[tuple[float, float, float]] = []  # (approx objective, left, right)
        if g[0] <= 0:
            cands.append((f[0], lo, lo))
        if g[-1] >= 0:
            cands.append((f[-1], hi, hi))
        down = np.flatnonzero((g[:-1] > 0) & (g[1:] <= 0))
        for i in down:
            cands.append((max(f[i], f[i + 1]), grid[i], grid[i + 1]))
        if not cands:  # g is NaN somewhere: fall back to the best grid point
            return float(grid[int(np.nanargmax(f))])
        cands.sort(key=lambda c: -c[0])
        best_theta, best_f = None, -np.inf
        for _, left, right in cands[:3]:
            theta = left if left == right else self._refine(items, x, kind_g, left, right)
            ft = float(self._f(pattern_terms(theta, items, x), kind, np.array([theta]))[0])
            if ft > best_f:
                best_theta, best_f = theta, ft
        assert best_theta is not None  # as float(None) would: every refined candidate's f was NaN
        return float(best_theta)

    def _refine(self, items: ItemArrays, x: np.ndarray, kind: str, left: float, right: float) -> float:
        def g(theta: float) -> float:
            return float(self._g(pattern_terms(theta, items, x), kind, theta)[0])

        if kind == "wle":
            return float(brentq(g, left, right, xtol=1e-12, rtol=1e-12, maxiter=200))
        # Safeguarded Newton on the score (rtsafe): g(left) > 0 >= g(right), g' = -(observed info [+ 1/σ²]).
        prec = 1.0 / self.cfg.prior_sd ** 2 if (kind == "map" and self.cfg.prior == "normal") else 0.0
        theta = 0.5 * (left + right)
        for _ in range(100):
            t = pattern_terms(theta, items, x)
            gv = float(self._g(t, kind, theta)[0])
            if gv > 0:
                left = theta
            else:
                right = theta
            dg = -(float(t.obs_info[0]) + prec)
            step_ok = dg < 0
            new = theta - gv / dg if step_ok else 0.5 * (left + right)
            if not (left < new < right):
                new = 0.5 * (left + right)
            if abs(new - theta) < 1e-12 or right - left < 1e-12:
                return new
            theta = new
        return theta


def _constant_pattern(items: ItemArrays, x: np.ndarray) -> int:
    """+1 when every answer is in the top category, -1 when every answer is 0, else 0."""
    if np.all(x == 0):
        return -1
    if np.all(x == items.ncat - 1):
        return 1
    return 0


def log_likelihood(theta: float, items: ItemArrays, x: np.ndarray) -> float:
    return float(pattern_terms(theta, items, np.asarray(x, dtype=np.int64)).loglik[0])
