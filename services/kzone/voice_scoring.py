"""Pronunciation scoring of a spoken attempt against its reference text — computed in K-Zone
from the transcript and word timings the inference service's speech model returns.

1. Both texts are normalised (Unicode NFKC, lower case, punctuation dropped; Hangul and other
   scripts keep their letters) and split into words.
2. The heard words are aligned to the reference words by edit distance (Levenshtein over words,
   a substitution of a similar-sounding spelling costing less than an unrelated one), giving per
   reference word: `correct`, `substituted` (heard something else), or `missed`; extra heard
   words are `inserted`.
3. Word score (0–100): correct → 100 × the recogniser's confidence in that word; substituted by
   a similar spelling (character similarity ≥ 0.5) → 50 × similarity × confidence; otherwise 0.
   The pronunciation score is the mean over the reference words (extra words show in the WER).
   This is the same credit rule the inference service documents for its own score, so the score
   its LLM feedback mentions matches the one stored here.
Also reported: accuracy (share of reference words heard exactly), completeness (share heard at
all), and word error rate. A wrong reference text therefore scores far lower than the right one.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def normalize_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text or "").lower().replace("’", "'")
    return _WORD.findall(text)


@dataclass(frozen=True)
class Heard:
    word: str
    start: float | None
    end: float | None
    confidence: float


def heard_words(result: dict[str, Any]) -> list[Heard]:
    """The recogniser's words with timings: `words` [{word, start, end, probability}] (also
    inside `segments`), or, without timings, the words of `text` at confidence 1."""
    raw = result.get("words")
    if raw is None and isinstance(result.get("segments"), list):
        raw = [w for seg in result["segments"] if isinstance(seg, dict) for w in seg.get("words") or []]
    out: list[Heard] = []
    if isinstance(raw, list) and raw:
        for item in raw:
            if not isinstance(item, dict):
                continue
            conf = item.get("probability", item.get("confidence", 1.0))
            conf = min(1.0, max(0.0, float(conf))) if isinstance(conf, int | float) else 1.0
            start = item.get("start")
            end = item.get("end")
            for token in normalize_words(str(item.get("word", ""))):
                out.append(Heard(token, float(start) if isinstance(start, int | float) else None,
                                 float(end) if isinstance(end, int | float) else None, conf))
        return out
    return [Heard(token, None, None, 1.0) for token in normalize_words(str(result.get("text", "")))]


@lru_cache(maxsize=65536)
def _similarity(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def _sub_cost(a: str, b: str) -> float:
    """0.6 (near-identical spelling) … 1.4 (unrelated): cheaper than missed + inserted (2.0), but an
    unrelated pair is never preferred over a plain miss next to a correct match."""
    return 1.4 - 0.8 * _similarity(a, b)


def align(reference: list[str], heard: list[Heard]) -> list[tuple[str, int | None, int | None]]:
    """Edit-distance alignment: a list of (op, ref index, heard index), op in
    correct | substituted | missed | inserted."""
    n, m = len(reference), len(heard)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = float(i)
    for j in range(1, m + 1):
        cost[0][j] = float(j)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            same = reference[i - 1] == heard[j - 1].word
            sub = 0.0 if same else _sub_cost(reference[i - 1], heard[j - 1].word)
            cost[i][j] = min(cost[i - 1][j - 1] + sub, cost[i - 1][j] + 1.0, cost[i][j - 1] + 1.0)
    ops: list[tuple[str, int | None, int | None]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0:
            same = reference[i - 1] == heard[j - 1].word
            sub = 0.0 if same else _sub_cost(reference[i - 1], heard[j - 1].word)
            if abs(cost[i][j] - (cost[i - 1][j - 1] + sub)) < 1e-9:
                ops.append(("correct" if same else "substituted", i - 1, j - 1))
                i, j = i - 1, j - 1
                continue
        if i > 0 and abs(cost[i][j] - (cost[i - 1][j] + 1.0)) < 1e-9:
            ops.append(("missed", i - 1, None))
            i -= 1
        else:
            ops.append(("inserted", None, j - 1))
            j -= 1
    ops.reverse()
    return ops


def score(reference_text: str, recognition: dict[str, Any]) -> dict[str, Any]:
    """The scoring document stored in the job's result (see module doc)."""
    reference = normalize_words(reference_text)
    heard = heard_words(recognition)
    ops = align(reference, heard)
    alignment: list[dict[str, Any]] = []
    word_scores: list[float] = []
    counts = {"correct": 0, "substituted": 0, "missed": 0, "inserted": 0}
    for op, ri, hi in ops:
        counts[op] += 1
        h = heard[hi] if hi is not None else None
        entry: dict[str, Any] = {"op": op, "reference": reference[ri] if ri is not None else None,
                                 "heard": h.word if h else None, "start": h.start if h else None,
                                 "end": h.end if h else None,
                                 "confidence": round(h.confidence, 3) if h else None}
        if ri is not None:
            if op == "correct" and h:
                s = 100.0 * h.confidence
            elif op == "substituted" and h and _similarity(reference[ri], h.word) >= 0.5:
                s = 50.0 * _similarity(reference[ri], h.word) * h.confidence
            else:
                s = 0.0
            entry["score"] = round(s, 1)
            word_scores.append(s)
        alignment.append(entry)
    n = len(reference)
    pronunciation = sum(word_scores) / n if n else 0.0
    return {
        "reference_words": n,
        "heard_words": len(heard),
        "pronunciation_score": round(pronunciation, 1),
        "accuracy": round(counts["correct"] / n, 3) if n else 0.0,
        "completeness": round((counts["correct"] + counts["substituted"]) / n, 3) if n else 0.0,
        "wer": round((counts["substituted"] + counts["missed"] + counts["inserted"]) / n, 3) if n else None,
        "counts": counts,
        "alignment": alignment,
    }
