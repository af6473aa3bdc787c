"""Scores computed from model outputs: pronunciation against a reference text, and the
similarity of two pose sequences (a learner's dance against the reference)."""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from services.inference.backends.pose import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER

_WORD = re.compile(r"[a-z0-9\u00c0-\u024f\u0400-\u04ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+(?:'[a-z]+)?")


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation ("Sover," -> "sover", "don't" stays one word)."""
    return _WORD.findall(text.lower())


def align(ref: Sequence[str], hyp: Sequence[str]) -> list[tuple[str, int | None, int | None]]:
    """Levenshtein alignment: ("match" | "sub" | "del" | "ins", ref index, hyp index)."""
    n, m = len(ref), len(hyp)
    cost = np.zeros((n + 1, m + 1), dtype=np.int32)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]), cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    ops: list[tuple[str, int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            ops.append(("match" if ref[i - 1] == hyp[j - 1] else "sub", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            ops.append(("del", i - 1, None))
            i -= 1
        else:
            ops.append(("ins", None, j - 1))
            j -= 1
    ops.reverse()
    return ops


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    errors = sum(op != "match" for op, _, _ in align(ref, hyp))
    return errors / len(ref)


def _heard_words(words: Iterable[dict[str, Any]]) -> tuple[list[str], list[float]]:
    tokens: list[str] = []
    probs: list[float] = []
    for w in words:
        for token in normalise(str(w.get("word", ""))):
            tokens.append(token)
            probs.append(float(w.get("probability", 1.0)))
    return tokens, probs


def pronunciation(reference_text: str, words: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Score (0-100) how well the spoken words match the reference text.

    Each reference word earns the recogniser's confidence in it when it was heard as written,
    partial credit when heard as a similar word (character similarity >= 0.5, halved), and
    nothing when missed. `accuracy` is the share heard exactly, `completeness` the share not
    skipped, `wer` the word error rate of the transcript against the reference.
    """
    ref = normalise(reference_text)
    heard, probs = _heard_words(words)
    if not ref:
        return {"score": 0.0, "accuracy": 0.0, "completeness": 0.0, "wer": 0.0 if not heard else 1.0,
                "reference_words": 0, "words": []}
    credit = [0.0] * len(ref)
    detail: list[dict[str, Any]] = []
    errors = 0
    matched = 0
    deleted = 0
    for op, i, j in align(ref, heard):
        if op == "match":
            matched += 1
            credit[i] = probs[j]
            detail.append({"reference": ref[i], "heard": heard[j], "status": "correct", "probability": round(probs[j], 4)})
        elif op == "sub":
            errors += 1
            similarity = difflib.SequenceMatcher(None, ref[i], heard[j]).ratio()
            credit[i] = 0.5 * similarity * probs[j] if similarity >= 0.5 else 0.0
            detail.append({"reference": ref[i], "heard": heard[j], "status": "mispronounced",
                           "probability": round(probs[j], 4), "similarity": round(similarity, 3)})
        elif op == "del":
            errors += 1
            deleted += 1
            detail.append({"reference": ref[i], "heard": None, "status": "missed"})
        else:
            errors += 1
            detail.append({"reference": None, "heard": heard[j], "status": "extra", "probability": round(probs[j], 4)})
    return {
        "score": round(100.0 * sum(credit) / len(ref), 1),
        "accuracy": round(matched / len(ref), 4),
        "completeness": round(1.0 - deleted / len(ref), 4),
        "wer": round(errors / len(ref), 4),
        "reference_words": len(ref),
        "words": detail[:2000],
    }


def pose_vector(landmarks: Sequence[Sequence[float]]) -> np.ndarray | None:
    """x, y of the 33 landmarks, centred on the mid-hip and scaled by the torso length, as a
    unit vector (so position in the frame and distance to the camera do not matter)."""
    if len(landmarks) < 33:
        return None
    points = np.asarray([(p[0], p[1]) for p in landmarks], dtype=np.float64)
    hip = (points[LEFT_HIP] + points[RIGHT_HIP]) / 2
    shoulder = (points[LEFT_SHOULDER] + points[RIGHT_SHOULDER]) / 2
    torso = float(np.linalg.norm(shoulder - hip))
    if not math.isfinite(torso) or torso < 1e-6:
        return None
    vec = ((points - hip) / torso).ravel()
    return vec / (np.linalg.norm(vec) or 1.0)


def pose_similarity(frames: Sequence[Sequence[Sequence[float]]],
                    reference: Sequence[Sequence[Sequence[float]]]) -> dict[str, Any] | None:
    """Mean cosine similarity (as 0-100) of time-aligned poses: the i-th of n sampled frames is
    compared with the reference frame at the same relative position. None when either side has
    no detected pose."""
    a = [pose_vector(f) for f in frames]
    b = [pose_vector(f) for f in reference]
    if not any(v is not None for v in a) or not any(v is not None for v in b):
        return None
    scores: list[float] = []
    for i, va in enumerate(a):
        if va is None:
            continue
        j = round(i * (len(b) - 1) / max(1, len(a) - 1)) if len(a) > 1 else 0
        vb = b[j]
        if vb is None:
            continue
        scores.append(max(0.0, float(va @ vb)))
    if not scores:
        return None
    return {"score": round(100.0 * sum(scores) / len(scores), 1), "compared_frames": len(scores)}
