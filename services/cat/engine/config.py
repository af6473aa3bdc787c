"""Session settings for a CAT: estimator, item selection, exposure control, content balancing and
stopping. Plain frozen dataclasses with defaults, validated once (`CatConfig.validate`) and stored
with the session as a dict, so a session keeps the rules it started with.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

ESTIMATORS = ("eap", "map", "mle", "wle")
PRIORS = ("normal", "uniform")
SELECTIONS = ("max_info", "randomesque", "kl", "progressive")
EXPOSURES = ("none", "sympson_hetter", "r_max")
CLASSIFICATIONS = ("none", "ci", "sprt")
CONSTANT_PATTERN_RULES = ("eap", "bound")
THETA_LIMIT = 10.0
MAX_ITEMS_LIMIT = 200  # keeps a session's Redis state well under 10 KB


class ConfigError(ValueError):
    def __init__(self, detail: str, code: str = "cat.invalid_settings") -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class EstimatorConfig:
    method: str = "eap"
    prior: str = "normal"
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    prior_min: float = -4.0  # uniform prior support
    prior_max: float = 4.0
    grid_min: float = -4.0  # EAP quadrature grid (trapezoid rule, as catR)
    grid_max: float = 4.0
    grid_points: int = 81
    theta_min: float = -4.0  # bounds of MLE/MAP/WLE
    theta_max: float = 4.0
    constant_pattern: str = "eap"  # MLE on all-correct/all-wrong: EAP (never the wrong way) or the bound


@dataclass(frozen=True)
class SelectionConfig:
    method: str = "max_info"
    randomesque_k: int = 5
    kl_delta_z: float = 3.0  # KL integrates over θ̂ ± z/√n (Chang & Ying 1996)
    kl_points: int = 11


@dataclass(frozen=True)
class ExposureConfig:
    method: str = "none"
    r_max: float = 0.2
    candidates: int = 256  # how many of the best items the exposure rule may walk through


@dataclass(frozen=True)
class ContentConfig:
    blueprint: dict[str, float] = field(default_factory=dict)  # content area -> proportion


@dataclass(frozen=True)
class StoppingConfig:
    min_items: int = 1
    max_items: int = 20
    se_threshold: float | None = None
    classification: str = "none"
    cut_score: float | None = None
    ci_z: float = 1.96
    sprt_delta: float = 0.2
    sprt_alpha: float = 0.05
    sprt_beta: float = 0.05


@dataclass(frozen=True)
class CatConfig:
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    exposure: ExposureConfig = field(default_factory=ExposureConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    stopping: StoppingConfig = field(default_factory=StoppingConfig)
    initial_theta: float | None = None  # default: the prior mean

    @property
    def start_theta(self) -> float:
        if self.initial_theta is not None:
            return float(self.initial_theta)
        e = self.estimator
        return e.prior_mean if e.prior == "normal" else 0.5 * (e.prior_min + e.prior_max)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> CatConfig:
        def sub(cls, key):
            raw = dict(data.get(key) or {})
            names = {f.name for f in fields(cls)}
            unknown = set(raw) - names
            if unknown:
                raise ConfigError(f"unknown {key} setting(s): {sorted(unknown)}")
            return cls(**raw)

        unknown = set(data) - {f.name for f in fields(CatConfig)}
        if unknown:
            raise ConfigError(f"unknown setting(s): {sorted(unknown)}")
        try:
            cfg = CatConfig(sub(EstimatorConfig, "estimator"), sub(SelectionConfig, "selection"),
                            sub(ExposureConfig, "exposure"), sub(ContentConfig, "content"),
                            sub(StoppingConfig, "stopping"), data.get("initial_theta"))
        except TypeError as exc:
            raise ConfigError(str(exc)) from None
        return cfg.validate()

    def fixed_length(self, n: int) -> CatConfig:
        return replace(self, stopping=replace(self.stopping, min_items=n, max_items=n))

    def validate(self) -> CatConfig:
        e, s, x, c, st = self.estimator, self.selection, self.exposure, self.content, self.stopping

        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ConfigError(msg)

        def finite(*vals: Any) -> bool:
            return all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in vals)

        need(e.method in ESTIMATORS, f"estimator.method must be one of {ESTIMATORS}")
        need(e.prior in PRIORS, f"estimator.prior must be one of {PRIORS}")
        need(finite(e.prior_mean, e.prior_sd, e.prior_min, e.prior_max, e.grid_min, e.grid_max, e.theta_min,
                    e.theta_max), "estimator settings must be finite numbers")
        need(e.prior_sd > 0, "estimator.prior_sd must be > 0")
        need(e.prior_min < e.prior_max, "estimator.prior_min must be < prior_max")
        need(-THETA_LIMIT <= e.grid_min < e.grid_max <= THETA_LIMIT, f"estimator grid must lie in ±{THETA_LIMIT}")
        need(isinstance(e.grid_points, int) and 5 <= e.grid_points <= 2001, "estimator.grid_points must be 5..2001")
        need(-THETA_LIMIT <= e.theta_min < e.theta_max <= THETA_LIMIT, f"estimator theta bounds must lie in ±{THETA_LIMIT}")
        need(e.constant_pattern in CONSTANT_PATTERN_RULES, f"estimator.constant_pattern must be one of {CONSTANT_PATTERN_RULES}")
        need(s.method in SELECTIONS, f"selection.method must be one of {SELECTIONS}")
        need(isinstance(s.randomesque_k, int) and 1 <= s.randomesque_k <= 100, "selection.randomesque_k must be 1..100")
        need(finite(s.kl_delta_z) and s.kl_delta_z > 0, "selection.kl_delta_z must be > 0")
        need(isinstance(s.kl_points, int) and 3 <= s.kl_points <= 101, "selection.kl_points must be 3..101")
        need(x.method in EXPOSURES, f"exposure.method must be one of {EXPOSURES}")
        need(finite(x.r_max) and 0 < x.r_max <= 1, "exposure.r_max must be in (0, 1]")
        need(isinstance(x.candidates, int) and 1 <= x.candidates <= 4096, "exposure.candidates must be 1..4096")
        need(isinstance(c.blueprint, dict), "content.blueprint must be a mapping of area to proportion")
        for area, share in c.blueprint.items():
            need(isinstance(area, str) and len(area) <= 64, "content.blueprint areas must be strings (<= 64 chars)")
            need(finite(share) and share >= 0, "content.blueprint proportions must be >= 0")
        if c.blueprint:
            need(sum(c.blueprint.values()) > 0, "content.blueprint proportions must not all be 0")
        need(isinstance(st.min_items, int) and isinstance(st.max_items, int), "stopping item counts must be integers")
        need(1 <= st.max_items <= MAX_ITEMS_LIMIT, f"stopping.max_items must be 1..{MAX_ITEMS_LIMIT}")
        need(0 <= st.min_items <= st.max_items, "stopping.min_items must be 0..max_items")
        need(st.se_threshold is None or (finite(st.se_threshold) and st.se_threshold > 0), "stopping.se_threshold must be > 0")
        need(st.classification in CLASSIFICATIONS, f"stopping.classification must be one of {CLASSIFICATIONS}")
        if st.classification != "none":
            need(st.cut_score is not None and finite(st.cut_score), "stopping.cut_score is required for classification")
        need(st.cut_score is None or (finite(st.cut_score) and abs(st.cut_score) <= THETA_LIMIT), "stopping.cut_score out of range")
        need(finite(st.ci_z) and st.ci_z > 0, "stopping.ci_z must be > 0")
        need(finite(st.sprt_delta) and st.sprt_delta > 0, "stopping.sprt_delta must be > 0")
        need(finite(st.sprt_alpha, st.sprt_beta) and 0 < st.sprt_alpha < 0.5 and 0 < st.sprt_beta < 0.5,
             "stopping.sprt_alpha and sprt_beta must be in (0, 0.5)")
        need(self.initial_theta is None or (finite(self.initial_theta) and abs(self.initial_theta) <= THETA_LIMIT),
             "initial_theta out of range")
        if c.blueprint:
            total = float(sum(c.blueprint.values()))
            norm = {k: float(v) / total for k, v in sorted(c.blueprint.items()) if v > 0}
            return replace(self, content=ContentConfig(norm))
        return self
