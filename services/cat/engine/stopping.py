"""Stopping rules: fixed length (min = max), SE threshold, min/max items, and classification
against a cut score by confidence interval (θ̂ ± z·SE excludes the cut) or by SPRT (Eggen 1999:
log L(cut + δ) − log L(cut − δ) against Wald's bounds log((1−β)/α) and log(β/(1−α)))."""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from services.cat.engine.config import StoppingConfig

MAX_ITEMS = "max_items"
SE_REACHED = "se_reached"
CLASSIFIED = "classified"
BANK_EXHAUSTED = "bank_exhausted"
FINISH_CALLED = "finish_called"


@dataclass(frozen=True)
class StopDecision:
    stop: bool
    reason: str = ""
    classification: str = ""  # "above" / "below" when a cut score is set


def classify(theta: float, cut: float | None) -> str:
    if cut is None:
        return ""
    return "above" if theta >= cut else "below"


def decide(cfg: StoppingConfig, n_answered: int, theta: float, se: float,
           loglik: Callable[[float], float] | None = None) -> StopDecision:
    final_class = classify(theta, cfg.cut_score)
    if n_answered >= cfg.max_items:
        return StopDecision(True, MAX_ITEMS, final_class)
    if n_answered < max(cfg.min_items, 1):
        return StopDecision(False)
    if cfg.classification == "ci" and cfg.cut_score is not None:
        if theta - cfg.ci_z * se > cfg.cut_score:
            return StopDecision(True, CLASSIFIED, "above")
        if theta + cfg.ci_z * se < cfg.cut_score:
            return StopDecision(True, CLASSIFIED, "below")
    if cfg.classification == "sprt" and cfg.cut_score is not None and loglik is not None:
        lr = loglik(cfg.cut_score + cfg.sprt_delta) - loglik(cfg.cut_score - cfg.sprt_delta)
        upper = math.log((1 - cfg.sprt_beta) / cfg.sprt_alpha)
        lower = math.log(cfg.sprt_beta / (1 - cfg.sprt_alpha))
        if lr >= upper:
            return StopDecision(True, CLASSIFIED, "above")
        if lr <= lower:
            return StopDecision(True, CLASSIFIED, "below")
    if cfg.se_threshold is not None and se <= cfg.se_threshold:
        return StopDecision(True, SE_REACHED, final_class)
    return StopDecision(False)
