"""Scores computed from model outputs: pronunciation against a reference text (with a word-level
alignment carrying the recogniser's timings), and the similarity of two pose sequences (a
learner's dance against the reference).

Pronunciation (the one implementation; kzone stores what the voice job returns):
1. Both texts are normalised (`text_norm.normalise`: NFKC, lower case, numbers spelled out —
   "21" = "twenty-one", "3rd" = "third" — punctuation dropped, hyphens split; Hangul, kana, CJK,
   Cyrillic… keep their letters; "don't" stays one word) and split into words; two adjacent
   words on one side that spell one word of the other ("river bank" / "riverbank") are joined
   (`text_norm.join_compounds`), so writing conventions are not reading errors.
2. The heard words are aligned to the reference words by edit distance over words, a
   substitution by a similar spelling costing less than an unrelated one (0.6 … 1.4, always
   cheaper than a miss plus an insertion). Per reference word: `correct`, `substituted` (heard
   something else) or `missed`; extra heard words are `inserted`.
3. Word score (0–100): correct → 100 × the recogniser's confidence in the word; substituted by a
   similar spelling (character similarity ≥ 0.5) → 50 × similarity × confidence; otherwise 0.
   The pronunciation score is the mean over the reference words (extra words show in the WER).
Also, all from that one alignment, over the N reference words:
- accuracy = correct / N (said as written);
- completeness = (correct + similar substitutions) / N (attempted: the word or a near miss was
  heard in its place; an unrelated word in its place counts as not said), so
  0 <= accuracy <= completeness <= 1, and they are equal when every error is a miss or an
  unrelated word;
- wer = (substituted + missed + inserted) / N.
`word_error_rate` is the plain (unit-cost) WER of two texts after the same normalisation
(`normalised=False`: whitespace-split words as written, the naive figure for comparison).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

import numpy as np

from services.inference.backends.pose import LEFT_HIP, LEFT_SHOULDER, RIGHT_HIP, RIGHT_SHOULDER
from services.inference.text_norm import join_compounds, normalise

__all__ = ["align", "heard_words", "normalise", "pronunciation", "pose_similarity", "word_error_rate"]
# Alignment entries returned at most (the counts and the score always cover every word): a
# 10-minute reading is ~1,500 words, and the result row must stay small.
MAX_ALIGNMENT = 2000

Op = tuple[str, int | None, int | None]  # (correct | substituted | missed | inserted, ref index, heard index)


@lru_cache(maxsize=65536)
def similarity(a: str, b: str) -> float:
    """Character similarity of two words, 0 (nothing in common) … 1 (the same)."""
    return SequenceMatcher(None, a, b).ratio()


def _similar_cost(a: str, b: str) -> float:
    """0.6 (near-identical spelling) … 1.4 (unrelated): cheaper than missed + inserted (2.0), but an
    unrelated pair is never preferred over a plain miss next to a correct match."""
    return 1.4 - 0.8 * similarity(a, b)


def _unit_cost(a: str, b: str) -> float:
    return 1.0


def align(ref: Sequence[str], hyp: Sequence[str], *, weighted: bool = True) -> list[Op]:
    """Edit-distance alignment of two word lists: (op, ref index, hyp index) in order, op one of
    correct | substituted | missed | inserted. `weighted`: a substitution costs by spelling
    similarity (see module doc); otherwise every edit costs 1 (plain Levenshtein, for WER)."""
    sub_cost = _similar_cost if weighted else _unit_cost
    n, m = len(ref), len(hyp)

    def sub(i: int, j: int) -> float:
        return 0.0 if ref[i] == hyp[j] else sub_cost(ref[i], hyp[j])

    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for j in range(1, m + 1):
        cost[0][j] = float(j)
    for i in range(1, n + 1):
        row, prev = cost[i], cost[i - 1]
        row[0] = float(i)
        for j in range(1, m + 1):
            row[j] = min(prev[j - 1] + sub(i - 1, j - 1), prev[j] + 1.0, row[j - 1] + 1.0)
    ops: list[Op] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and abs(cost[i][j] - (cost[i - 1][j - 1] + sub(i - 1, j - 1))) < 1e-9:
            ops.append(("correct" if ref[i - 1] == hyp[j - 1] else "substituted", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and abs(cost[i][j] - (cost[i - 1][j] + 1.0)) < 1e-9:
            ops.append(("missed", i - 1, None))
            i -= 1
        else:
            ops.append(("inserted", None, j - 1))
            j -= 1
    ops.reverse()
    return ops


def word_error_rate(reference: str, hypothesis: str, *, normalised: bool = True) -> float:
    """(substitutions + deletions + insertions) / reference words, by plain Levenshtein, on
    normalised words with compounds joined (`normalised=False`: words as written)."""
    if normalised:
        ref, hyp, _ = join_compounds(normalise(reference), normalise(hypothesis))
    else:
        ref, hyp = reference.split(), hypothesis.split()
    if not ref:
        return 0.0 if not hyp else 1.0
    errors = sum(op != "correct" for op, _, _ in align(ref, hyp, weighted=False))
    return errors / len(ref)


@dataclass(frozen=True)
class HeardWord:
    word: str
    start: float | None
    end: float | None
    confidence: float


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def heard_words(words: Sequence[dict[str, Any]] | None, text: str = "") -> list[HeardWord]:
    """The recogniser's words ({word, start, end, probability}) as normalised tokens, each with
    its word's timing and confidence (clamped to 0-1); without any words, the words of `text`
    at confidence 1 and no timings."""
    out: list[HeardWord] = []
    for item in words or ():
        if not isinstance(item, dict):
            continue
        conf = _number(item.get("probability"))
        conf = 1.0 if conf is None else min(1.0, max(0.0, conf))
        start, end = _number(item.get("start")), _number(item.get("end"))
        for token in normalise(str(item.get("word", ""))):
            out.append(HeardWord(token, None if start is None else round(start, 3),
                                 None if end is None else round(end, 3), conf))
    if out or words:
        return out
    return [HeardWord(token, None, None, 1.0) for token in normalise(text)]


def pronunciation(reference_text: str, words: Sequence[dict[str, Any]] | None, text: str = "") -> dict[str, Any]:
    """Score (0-100) how well the spoken words match the reference text, with the word
    alignment (see module doc). `words`: the recogniser's words with timings; `text`: the
    transcript, used only when there are no words.

    Returns {score, accuracy, completeness, wer, reference_words, heard_words,
    counts{correct, substituted, missed, inserted}, alignment[{op, reference, heard, start, end,
    confidence, score (reference words only)}]} — at most MAX_ALIGNMENT entries, with
    `alignment_truncated: true` when there were more."""
    first = heard_words(words, text)
    ref, heard_tokens, groups = join_compounds(normalise(reference_text), [h.word for h in first])
    heard = [HeardWord(token, first[g[0]].start, first[g[-1]].end, min(first[k].confidence for k in g))
             for token, g in zip(heard_tokens, groups)]
    counts = {"correct": 0, "substituted": 0, "missed": 0, "inserted": 0}
    alignment: list[dict[str, Any]] = []
    credit = 0.0
    attempted = 0
    for op, ri, hi in align(ref, heard_tokens):
        counts[op] += 1
        h = heard[hi] if hi is not None else None
        entry: dict[str, Any] = {"op": op, "reference": ref[ri] if ri is not None else None,
                                 "heard": h.word if h else None, "start": h.start if h else None,
                                 "end": h.end if h else None, "confidence": round(h.confidence, 3) if h else None}
        if ri is not None:
            s = 0.0
            if op == "correct" and h:
                s = 100.0 * h.confidence
                attempted += 1
            elif op == "substituted" and h and similarity(ref[ri], h.word) >= 0.5:
                s = 50.0 * similarity(ref[ri], h.word) * h.confidence
                attempted += 1
            entry["score"] = round(s, 1)
            credit += s
        alignment.append(entry)
    n = len(ref)
    doc: dict[str, Any] = {
        "score": round(credit / n, 1) if n else 0.0,
        "accuracy": round(counts["correct"] / n, 3) if n else 0.0,
        "completeness": round(attempted / n, 3) if n else 0.0,
        "wer": round((counts["substituted"] + counts["missed"] + counts["inserted"]) / n, 3) if n
        else (0.0 if not heard else 1.0),
        "reference_words": n,
        "heard_words": len(heard),
        "counts": counts,
        "alignment": alignment[:MAX_ALIGNMENT],
    }
    if len(alignment) > MAX_ALIGNMENT:
        doc["alignment_truncated"] = True
    return doc


def words_to_practise(doc: dict[str, Any], limit: int = 8) -> list[str]:
    """Reference words of a pronunciation document that were substituted or missed."""
    return [a["reference"] for a in doc["alignment"] if a["op"] in ("substituted", "missed")][:limit]


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
