"""Arena free-text grading quality (issue #15): Cohen's kappa of the LLM grader against the
labelled set services/arena/grading/labelled_set.jsonl (scores 0 / 0.5 / 1).

Every item goes through the service's own path: `grading.llm.grade_free_text` → the inference
service's gRPC `Generate` (run in this process with only the LLM loaded: the CPU model here, vLLM
on a GPU node) at temperature 0. Two conditions:
- zero-shot: question, rubric and model answer only;
- with examples: the other labelled answers to the same question as graded examples (leave one
  out: never the item's own label), as `grading.llm.examples_for` retrieves decided answers.

Reported: unweighted Cohen's kappa (a `pending` reply counts as its own category: a
disagreement), linearly weighted kappa, exact agreement, pending replies, seconds per grade.
The decision rule (settings): free text counts in rated matches only when the measured kappa
reaches `free_text_min_kappa` (0.7).

BENCH_ARENA_GRADING_SMOKE=1 (or SMOKE=1): the first 6 items, zero-shot only.
"""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, cast

import grpc

from megacity.runtime import Resources
from megacity.testing import NATS_URL, REDIS_URL
from services.arena.grading.kappa import cohen_kappa
from services.arena.grading.llm import GradedExample, grade_free_text
from services.arena.settings import ArenaSettings

SMOKE = bool(os.environ.get("BENCH_ARENA_GRADING_SMOKE") or os.environ.get("SMOKE"))
LABELLED = Path(__file__).resolve().parents[1] / "services" / "arena" / "grading" / "labelled_set.jsonl"
EXAMPLES = 2


class _Question:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.type, self.content, self.rubric = "free", doc["content"], doc["rubric"]
        self.answer: str = doc.get("answer", "")
        self.aliases: list[str] = []
        self.choices: list[str] | None = None


class _Channel:
    """The one thing `grade_free_text` uses of Resources: `channel("inference")`."""

    def __init__(self, target: str) -> None:
        self._channel = grpc.aio.insecure_channel(target)

    def channel(self, peer: str) -> grpc.aio.Channel:
        assert peer == "inference"
        return self._channel


async def _grade_all(res: Resources, items: list[dict[str, Any]], with_examples: bool) -> tuple[list[Any], float]:
    out: list[Any] = []
    started = time.perf_counter()
    for item in items:
        examples = [GradedExample(o["answer"], float(o["score"])) for o in items
                    if with_examples and o["question"] == item["question"] and o["id"] != item["id"]][:EXAMPLES]
        verdict = await grade_free_text(res, cast(Any, _Question(item["question"])), item["answer"], examples)
        out.append("pending" if verdict.verdict == "pending" else verdict.score)
    return out, (time.perf_counter() - started) / max(len(items), 1)


def _row(name: str, human: list[Any], model: list[Any], seconds: float) -> str:
    agree = sum(a == b for a, b in zip(human, model, strict=True)) / len(human)
    return (f"| {name} | {len(human)} | {cohen_kappa(human, model):.3f} | {cohen_kappa(human, model, 'linear'):.3f} | "
            f"{agree:.0%} | {model.count('pending')} | {seconds:.1f} |")


async def _run() -> str:
    from services.inference.main import build
    from services.inference.models import ModelSet
    from services.inference.settings import Settings

    items = [json.loads(line) for line in LABELLED.read_text().splitlines() if line.strip()]
    items = items[:6] if SMOKE else items
    settings = Settings(environment="test", http_port=0, grpc_port=0, redis_url=REDIS_URL, nats_url=NATS_URL,
                        events_namespace="bench-arena-grading", redis_key_prefix="bench-arena-grading", models="llm")
    models = ModelSet(settings)
    models.load(settings.model_set)
    runtime = build(settings, models=models)
    await runtime.start()
    try:
        res = cast(Resources, _Channel(f"127.0.0.1:{runtime.grpc_port}"))
        human = [float(i["score"]) for i in items]
        rows = ["## Arena free-text grading: Cohen's kappa vs the labelled set (issue #15)\n",
                f"{len(items)} answers of services/arena/grading/labelled_set.jsonl; grader: "
                f"`{models.get('llm').description}` through inference `Generate`, temperature 0. "
                "Labels were written by the arena author against each rubric (to be reviewed by a teacher).\n",
                "| condition | items | kappa | linear-weighted kappa | exact agreement | pending | s/grade |",
                "|---|---|---|---|---|---|---|"]
        for name, with_examples in (("zero-shot", False), ("2 graded examples", True))[: 1 if SMOKE else 2]:
            model, seconds = await _grade_all(res, items, with_examples)
            rows.append(_row(name, human, model, seconds))
        threshold = ArenaSettings.model_fields["free_text_min_kappa"].default
        rows.append(f"\nFree text counts in rated matches only at kappa ≥ {threshold} (settings "
                    "`free_text_rated_kappa` holds the measured value).\n")
        return "\n".join(rows)
    finally:
        await runtime.stop(grace=2)


def run() -> str:
    return asyncio.run(_run())


if __name__ == "__main__":
    print(run())
