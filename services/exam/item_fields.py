"""What an item is: content (stem, options, key or option scores), content area, enemy tags and
IRT parameters — one validated model shared by the item API and the bulk import, and the rule
that turns a student's answer into a score.

IRT (the same models as the CAT engine):
- `logistic`: 1PL–4PL, needs `b`; `c` (guessing) and `d` (slip) default to 0 and 1, 0 ≤ c < d ≤ 1;
  scored 0/1 against `answer_key`.
- `grm` (graded response) / `gpcm` (generalised partial credit): `thresholds` b_1..b_m (1 to 9;
  strictly increasing for GRM), scored 0..m through `option_scores` (answer -> category).
Enemy tags: items sharing a tag are enemies (at most one of them in one adaptive session).
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from megacity.errors import AppError

Param = Annotated[float, Field(allow_inf_nan=False)]
Threshold = Annotated[float, Field(ge=-10, le=10, allow_inf_nan=False)]
Tag = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
ITEM_EXAMPLE: dict[str, Any] = {
    "code": "ALG-0001", "stem": "Solve for x: 2x + 3 = 11", "content_area": "algebra",
    "options": [{"key": "A", "text": "3"}, {"key": "B", "text": "4"}, {"key": "C", "text": "5"},
                {"key": "D", "text": "7"}],
    "answer_key": "B", "model": "logistic", "a": 1.2, "b": -0.4, "c": 0.2, "d": 1.0, "enemy_tags": ["linear-eq-1"]}
POLY_EXAMPLE: dict[str, Any] = {
    "code": "ESS-0007", "stem": "Explain why the sky is blue (rubric 0-2).", "content_area": "science",
    "options": [{"key": "0", "text": "no credit"}, {"key": "1", "text": "partial"}, {"key": "2", "text": "full"}],
    "option_scores": {"0": 0, "1": 1, "2": 2}, "model": "grm", "a": 1.1, "thresholds": [-0.8, 0.6]}


class ItemOption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[A-Za-z0-9]{1,16}$", description="what the student answers, e.g. `A`")
    text: str = Field(min_length=1, max_length=2000)


class ItemFields(BaseModel):
    """Everything about an item except the bank it lives in."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [ITEM_EXAMPLE, POLY_EXAMPLE]})

    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="your key for the item, unique in its bank")
    stem: str = Field(min_length=1, max_length=20000)
    options: list[ItemOption] = Field(default_factory=list, max_length=26,
                                      description="choices shown to the student; empty = free response")
    answer_key: str | None = Field(None, max_length=1000, description="logistic items: the correct answer")
    option_scores: dict[str, int] | None = Field(None, description="grm/gpcm items: answer -> score category 0..m")
    content_area: str = Field("", max_length=64, pattern=r"^[^\x00-\x1f]*$")
    model: Literal["logistic", "grm", "gpcm"] = "logistic"
    a: Param = Field(gt=0, le=10, description="discrimination")
    b: Param | None = Field(None, ge=-10, le=10, description="difficulty (logistic only)")
    c: Param = Field(0.0, ge=0, lt=1, description="lower asymptote (guessing), logistic only")
    d: Param = Field(1.0, gt=0, le=1, description="upper asymptote, logistic only")
    thresholds: list[Threshold] = Field(default_factory=list, max_length=9,
                                        description="grm boundaries / gpcm steps b_1..b_m")
    enemy_tags: list[Tag] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _consistent(self) -> ItemFields:
        keys = [o.key for o in self.options]
        if len(set(keys)) != len(keys):
            raise ValueError("option keys must be unique")
        if self.model == "logistic":
            if self.b is None:
                raise ValueError("logistic items need b")
            if self.thresholds:
                raise ValueError("thresholds are for grm/gpcm items")
            if not self.c < self.d:
                raise ValueError("need c < d")
            if self.option_scores is not None:
                raise ValueError("option_scores are for grm/gpcm items; logistic items use answer_key")
            if not self.answer_key:
                raise ValueError("logistic items need answer_key")
            if keys and self.answer_key not in keys:
                raise ValueError("answer_key must be one of the option keys")
        else:
            if self.b is not None:
                raise ValueError(f"{self.model} items use thresholds, not b")
            if (self.c, self.d) != (0.0, 1.0):
                raise ValueError(f"{self.model} items have no c/d")
            m = len(self.thresholds)
            if m < 1:
                raise ValueError(f"{self.model} items need 1 to 9 thresholds")
            if self.model == "grm" and any(x >= y for x, y in zip(self.thresholds, self.thresholds[1:])):
                raise ValueError("grm thresholds must be strictly increasing")
            if self.answer_key is not None:
                raise ValueError(f"{self.model} items are scored through option_scores, not answer_key")
            if not self.option_scores:
                raise ValueError(f"{self.model} items need option_scores")
            if any(not 0 <= v <= m for v in self.option_scores.values()):
                raise ValueError(f"option_scores must be 0..{m} (one per threshold)")
            if any(len(k) > 1000 or not k for k in self.option_scores):
                raise ValueError("option_scores keys must be 1..1000 characters")
            if keys and set(self.option_scores) != set(keys):
                raise ValueError("option_scores must score every option key, and only those")
        return self

    @property
    def max_score(self) -> int:
        return 1 if self.model == "logistic" else len(self.thresholds)

    def db_params(self) -> dict[str, Any]:
        """Bind parameters for the items table (JSON columns as text)."""
        import json

        return {"code": self.code, "stem": self.stem, "options": json.dumps([o.model_dump() for o in self.options]),
                "answer_key": self.answer_key,
                "option_scores": json.dumps(self.option_scores) if self.option_scores is not None else None,
                "content_area": self.content_area, "model": self.model, "a": self.a, "b": self.b, "c": self.c,
                "d": self.d, "thresholds": list(self.thresholds) or None, "max_score": self.max_score,
                "enemy_tags": list(self.enemy_tags)}


def validation_errors(err: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as [{field, code, message}] (field "" for whole-item rules)."""
    out = []
    for e in err.errors():
        loc = [str(p) for p in e.get("loc", ())]
        msg = str(e.get("msg", "invalid"))
        out.append({"field": loc[0] if loc else "", "code": f"item.{e.get('type', 'invalid')}",
                    "message": msg.removeprefix("Value error, ")})
    return out


def normalise(answer: str) -> str:
    return " ".join(answer.split()).casefold()


def score_answer(item: Any, answer: str) -> int:
    """The score of `answer` for an items-table row (model, options, answer_key, option_scores).

    An answer that is not one of the item's option keys is refused (422), so a typo is never
    silently scored as wrong.
    """
    keys = [o["key"] for o in (item.options or [])]
    if keys and answer.strip() not in keys:
        raise AppError(422, "response.invalid_answer", f"answer must be one of the options {keys}")
    if item.model == "logistic":
        return int(normalise(answer) == normalise(item.answer_key or ""))
    scores = item.option_scores or {}
    if answer.strip() in scores:
        return int(scores[answer.strip()])
    wanted = {normalise(k): v for k, v in scores.items()}
    if normalise(answer) not in wanted:
        raise AppError(422, "response.invalid_answer", "answer is not one of the item's scored answers")
    return int(wanted[normalise(answer)])
