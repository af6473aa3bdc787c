"""Cohen's kappa: how far two graders agree beyond chance. bench/arena_grading.py measures the LLM
grader against the labelled set with it (settings `free_text_rated_kappa`)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

# The grades (0, 0.5, 1) and the LLM's "no verdict", a category of its own.
CATEGORIES: tuple[Any, ...] = (0.0, 0.5, 1.0, "pending")


def cohen_kappa(human: Sequence[Any], model: Sequence[Any], weights: str = "none") -> float:
    """Cohen's kappa over CATEGORIES; `weights="linear"`: disagreements weighted by distance on
    the 0/0.5/1 scale (pending counted as a full disagreement)."""
    n = len(human)
    cats = list(CATEGORIES)

    def w(a: Any, b: Any) -> float:
        if a == b:
            return 0.0
        if weights == "linear" and a != "pending" and b != "pending":
            return abs(float(a) - float(b))
        return 1.0

    observed = sum(w(a, b) for a, b in zip(human, model, strict=True)) / n
    ph, pm = Counter(human), Counter(model)
    expected = sum(ph[a] * pm[b] * w(a, b) for a in cats for b in cats) / (n * n)
    return 1.0 - observed / expected if expected else 1.0
