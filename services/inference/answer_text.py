"""Make a small model's answer worth reading: cut what it invents after its answer, drop what it
echoes from the prompt, and a deterministic checker of the result (tests and `bench/tutor_quality.py`).

A 270M model on CPU, even with its chat template, stop tokens and a repetition penalty, still
sometimes (a) repeats sentences of its instructions ("Give one or two sentences of feedback."),
(b) starts a new turn of its own ("<start_of_turn>user", "Question: …", "Example 2: …") or asks itself
a follow-up question and answers it, (c) loops on one sentence. `clean` removes all three:

1. cut at the first turn marker or role label ("User:", "Q:", "Question 2:", "Example:" at a line
   start or after a sentence…), and drop a leading "Answer:"/"Feedback:"/"A:" label;
2. split into sentences; drop a sentence whose words are mostly (≥ 60 %) covered by 5-word runs
   of the prompt (an echoed instruction or the question read back);
3. stop at the first sentence seen before (a loop), and at the first question that is followed by
   more text (an invented question it goes on to answer);
4. with `finished=True` and the answer cut by the token budget, drop a trailing unfinished
   sentence when a complete one precedes it.

`StreamCleaner` applies the same rules to a stream: it releases complete sentences only (a
sentence can be judged an echo or a repeat only once it is complete) and says when to stop
generating. `check` is the deterministic verdict: no turn marker, no run of ≥ 8 prompt words,
no word 4-gram three times or more, no sentence twice, not empty.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Special tokens and role labels a chat model writes when it starts a turn of its own.
_MARKER = re.compile(
    r"<\s*/?\s*(?:start_of_turn|end_of_turn|eos|bos|s|\|im_start\||\|im_end\||\|endoftext\|)\s*>"
    r"|(?:^|\n|(?<=[.!?])[ \t]+)\s*(?:#+\s*)?(?:user|student|learner|human|question|q|tutor|teacher|assistant|model|ai|"
    r"feedback|answer|a|model answer|learner's answer|instructions?|example|note)\s*\d*\s*[:.)]",
    re.IGNORECASE)
_LEADING_LABEL = re.compile(r"^\s*(?:\*\*)?(?:answer|feedback|tutor|response|reply|model|a)(?:\*\*)?\s*:\s*",
                            re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+[\"')\]]*|\n|$)")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")

ECHO_RUN = 5          # prompt word runs of this length count as echoed
ECHO_SHARE = 0.6      # a sentence this much covered by echoed runs is dropped
CHECK_ECHO_RUN = 8    # check: a run of this many prompt words in the answer is an echo
CHECK_NGRAM = 4       # check: a word n-gram of this size ...
CHECK_NGRAM_TIMES = 3  # ... seen this many times is a repetition


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'"))


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def _cut_at_marker(text: str) -> tuple[str, bool]:
    text = _LEADING_LABEL.sub("", text, count=1)
    match = _MARKER.search(text)
    return (text[:match.start()], True) if match else (text, False)


def _echo_share(sentence: list[str], prompt_runs: set[tuple[str, ...]]) -> float:
    if len(sentence) < ECHO_RUN:
        return 0.0
    covered = [False] * len(sentence)
    for i in range(len(sentence) - ECHO_RUN + 1):
        if tuple(sentence[i:i + ECHO_RUN]) in prompt_runs:
            for k in range(i, i + ECHO_RUN):
                covered[k] = True
    return sum(covered) / len(sentence)


@dataclass
class _Pass:
    sentences: list[str]
    stop: bool  # the model went off its answer: nothing after this is wanted


def _sentences(text: str) -> list[str]:
    return [m.group(0) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def _select(text: str, prompt: str, *, complete_only: bool) -> _Pass:
    """The sentences of `text` worth keeping, in order; `complete_only`: the last sentence is
    held back unless it ends with punctuation or a line break (it may still grow)."""
    body, marked = _cut_at_marker(text)
    runs = _ngrams(words(prompt), ECHO_RUN)
    parts = _sentences(body)
    if complete_only and parts and not marked and not re.search(r"[.!?\n][\"')\]]*\s*$", parts[-1]):
        parts = parts[:-1]
    kept: list[str] = []
    seen: set[tuple[str, ...]] = set()
    for index, sentence in enumerate(parts):
        tokens = words(sentence)
        if not tokens:
            continue
        key = tuple(tokens)
        if key in seen:
            return _Pass(kept, True)
        seen.add(key)
        if _echo_share(tokens, runs) >= ECHO_SHARE:
            continue
        if sentence.rstrip().rstrip("\"')]").endswith("?") and kept:
            more = any(words(s) for s in parts[index + 1:])
            if more or marked:  # it asks itself something and goes on: an invented turn
                return _Pass(kept, True)
        kept.append(sentence)
    return _Pass(kept, marked)


def _join(sentences: list[str]) -> str:
    text = " ".join(s.strip() for s in sentences if s.strip())
    return re.sub(r"[ \t]+", " ", text).strip()


def clean(text: str, prompt: str = "", *, cut_by_length: bool = False) -> str:
    """The readable answer in `text` (see module doc). `cut_by_length`: generation stopped at the
    token budget, so a trailing sentence without an ending is dropped (when another precedes it)."""
    result = _select(text, prompt, complete_only=False)
    kept = result.sentences
    if cut_by_length and not result.stop and len(kept) > 1 and not re.search(r"[.!?][\"')\]]*\s*$", kept[-1]):
        kept = kept[:-1]
    return _join(kept)


@dataclass
class StreamCleaner:
    """`clean` for a stream: `feed(piece)` returns the text that may be shown now (whole
    sentences) and whether generation should stop; `finish()` returns the rest."""

    prompt: str
    raw: str = ""
    shown: str = ""
    stopped: bool = False

    def _release(self, text: str) -> str:
        if not text.startswith(self.shown):  # never happens with these rules; show nothing wrong
            return ""
        new, self.shown = text[len(self.shown):], text
        return new

    def feed(self, piece: str) -> tuple[str, bool]:
        if self.stopped:
            return "", True
        self.raw += piece
        result = _select(self.raw, self.prompt, complete_only=True)
        kept = result.sentences
        if not result.stop and kept and kept[-1].rstrip().rstrip("\"')]").endswith("?"):
            kept = kept[:-1]  # a question is kept only if nothing follows it: wait and see
        out = self._release(_join(kept))
        self.stopped = result.stop
        return out, self.stopped

    def finish(self, *, cut_by_length: bool = False) -> str:
        if self.stopped:
            return ""
        return self._release(clean(self.raw, self.prompt, cut_by_length=cut_by_length))


@dataclass(frozen=True)
class Verdict:
    clean: bool
    echoed: bool
    repeated: bool
    marker: bool
    empty: bool
    reasons: tuple[str, ...]


def check(answer: str, prompt: str) -> Verdict:
    """Deterministic: is `answer` free of echoed prompt text and of repetition?"""
    reasons: list[str] = []
    tokens = words(answer)
    empty = not tokens
    if empty:
        reasons.append("empty answer")
    marker = bool(_MARKER.search(answer))
    if marker:
        reasons.append("turn marker or role label")
    echo = _ngrams(words(prompt), CHECK_ECHO_RUN) & _ngrams(tokens, CHECK_ECHO_RUN)
    if echo:
        reasons.append(f"echoes the prompt: {' '.join(sorted(echo)[0])!r}")
    counts: dict[tuple[str, ...], int] = {}
    for i in range(len(tokens) - CHECK_NGRAM + 1):
        gram = tuple(tokens[i:i + CHECK_NGRAM])
        counts[gram] = counts.get(gram, 0) + 1
    looped = [g for g, c in counts.items() if c >= CHECK_NGRAM_TIMES]
    sentences = [tuple(words(s)) for s in _sentences(answer)]
    sentences = [s for s in sentences if len(s) >= 3]
    twice = len(sentences) != len(set(sentences))
    if looped:
        reasons.append(f"repeats {' '.join(looped[0])!r} {counts[looped[0]]} times")
    if twice:
        reasons.append("a sentence appears twice")
    repeated = bool(looped) or twice
    return Verdict(not (empty or marker or echo or repeated), bool(echo), repeated, marker, empty, tuple(reasons))
