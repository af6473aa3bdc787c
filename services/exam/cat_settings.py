"""An adaptive exam's CAT settings as the API shows them, and their CatService form.

Everything is optional; unset values take the CAT engine's defaults (EAP with a N(0, 1) prior,
maximum-information selection, no exposure control, no blueprint, 20 items).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcproto.cat.v1 import cat_pb2 as pb

Num = Annotated[float, Field(allow_inf_nan=False)]

_ESTIMATORS = {"eap": pb.ESTIMATOR_EAP, "map": pb.ESTIMATOR_MAP, "mle": pb.ESTIMATOR_MLE, "wle": pb.ESTIMATOR_WLE}
_SELECTIONS = {"max_info": pb.SELECTION_MAX_INFO, "randomesque": pb.SELECTION_RANDOMESQUE, "kl": pb.SELECTION_KL,
               "progressive": pb.SELECTION_PROGRESSIVE}
_EXPOSURES = {"none": pb.EXPOSURE_NONE, "sympson_hetter": pb.EXPOSURE_SYMPSON_HETTER, "r_max": pb.EXPOSURE_R_MAX}
_CLASSIFICATIONS = {"none": pb.CLASSIFICATION_NONE, "ci": pb.CLASSIFICATION_CI, "sprt": pb.CLASSIFICATION_SPRT}
EXAMPLE: dict[str, Any] = {"estimator": "eap", "selection": "randomesque", "randomesque_k": 5, "exposure": "sympson_hetter",
           "r_max": 0.2, "blueprint": {"algebra": 0.5, "geometry": 0.3, "statistics": 0.2},
           "min_items": 10, "max_items": 25, "se_threshold": 0.3}


class CatSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE]})

    estimator: Literal["eap", "map", "mle", "wle"] = "eap"
    prior_mean: Num | None = Field(None, ge=-4, le=4)
    prior_sd: Num | None = Field(None, gt=0, le=5)
    selection: Literal["max_info", "randomesque", "kl", "progressive"] = "max_info"
    randomesque_k: int | None = Field(None, ge=1, le=100)
    exposure: Literal["none", "sympson_hetter", "r_max"] = "none"
    r_max: Num | None = Field(None, gt=0, le=1)
    blueprint: dict[Annotated[str, Field(max_length=64)], Annotated[float, Field(ge=0, allow_inf_nan=False)]] = Field(
        default_factory=dict, description="content area -> share of the test (normalised); only these areas are given")
    min_items: int = Field(1, ge=0, le=200)
    max_items: int = Field(20, ge=1, le=200, description="the CAT engine's limit is 200 (its state stays < 10 KB)")
    se_threshold: Num | None = Field(None, gt=0, le=5, description="stop once SE <= this (after min_items)")
    classification: Literal["none", "ci", "sprt"] = "none"
    cut_score: Num | None = Field(None, ge=-10, le=10, description="θ cut score for classification")
    initial_theta: Num | None = Field(None, ge=-10, le=10)

    @model_validator(mode="after")
    def _consistent(self) -> CatSettingsIn:
        if self.min_items > self.max_items:
            raise ValueError("min_items must be <= max_items")
        if self.classification != "none" and self.cut_score is None:
            raise ValueError("classification needs cut_score")
        if self.blueprint and sum(self.blueprint.values()) <= 0:
            raise ValueError("blueprint proportions must not all be 0")
        return self

    def to_proto(self) -> pb.CatSettings:
        est = pb.EstimatorSettings(method=_ESTIMATORS[self.estimator])
        if self.prior_mean is not None:
            est.prior_mean = self.prior_mean
        if self.prior_sd is not None:
            est.prior_sd = self.prior_sd
        sel = pb.SelectionSettings(method=_SELECTIONS[self.selection], randomesque_k=self.randomesque_k or 0)
        exp = pb.ExposureSettings(method=_EXPOSURES[self.exposure])
        if self.r_max is not None:
            exp.r_max = self.r_max
        stop = pb.StoppingSettings(min_items=self.min_items, max_items=self.max_items,
                                   classification=_CLASSIFICATIONS[self.classification])
        if self.se_threshold is not None:
            stop.se_threshold = self.se_threshold
        if self.cut_score is not None:
            stop.cut_score = self.cut_score
        out = pb.CatSettings(estimator=est, selection=sel, exposure=exp,
                             content=pb.ContentSettings(blueprint=self.blueprint), stopping=stop)
        if self.initial_theta is not None:
            out.initial_theta = self.initial_theta
        return out
