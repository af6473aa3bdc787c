"""What K-Zone asks the tutor (an `ai.job.tutor` job) when a voice job came back without LLM
feedback (the inference replica that transcribed it serves no LLM): the reading task, phrased as
the tutor's question, with the learner's transcript as the answer and the reference text as the
model answer. The inference service wraps these in its own prompt."""
from __future__ import annotations

from typing import Any


def voice_feedback_question(reference_text: str, scoring: dict[str, Any]) -> str:
    """`scoring`: the stored voice result's score and alignment (computed by inference)."""
    trouble = [a["reference"] for a in scoring.get("alignment") or ()
               if isinstance(a, dict) and a.get("op") in ("substituted", "missed") and a.get("reference")][:8]
    score = scoring.get("pronunciation_score")
    rated = f"Pronunciation score {score:.0f}/100; " if isinstance(score, int | float) else ""
    return (f"Read this sentence aloud: \"{reference_text}\". The answer below is what speech recognition "
            f"heard. {rated}words to practise: "
            f"{', '.join(trouble) or 'none'}. Give pronunciation feedback and one practice tip.")
