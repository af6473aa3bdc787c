"""What K-Zone asks the tutor (an `ai.job.tutor` job) when a voice job came back without LLM
feedback (the inference replica that transcribed it serves no LLM): the reading task, phrased as
the tutor's question, with the learner's transcript as the answer and the reference text as the
model answer. The inference service wraps these in its own prompt."""
from __future__ import annotations

from typing import Any


def voice_feedback_question(reference_text: str, scoring: dict[str, Any]) -> str:
    trouble = [a["reference"] for a in scoring["alignment"] if a["op"] in ("substituted", "missed")][:8]
    return (f"Read this sentence aloud: \"{reference_text}\". The answer below is what speech recognition "
            f"heard. Pronunciation score {scoring['pronunciation_score']:.0f}/100; words to practise: "
            f"{', '.join(trouble) or 'none'}. Give pronunciation feedback and one practice tip.")
