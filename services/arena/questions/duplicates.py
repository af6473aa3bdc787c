"""Is a new question a duplicate of an existing one? Cosine similarity only shortlists.

MiniLM puts different questions close together ("Which particle is charged?" and "Which particle
is not charged?" score above 0.9), so a candidate at or above the threshold
(`settings.duplicate_similarity`) is a duplicate only when every check agrees (`confirm`):

- **negation**: the same count of negating words ("not", "no", "never", "n't", "except", …);
- **numbers**: the same numbers in the text (as a multiset: "12 × 7" is not "12 × 8");
- **opposites**: no word of one text faces its opposite in the other ("largest" / "smallest",
  "charged" / "uncharged", …);
- **answer**: both have the same accepted answer (after normalisation, numerically, or one's
  answer among the other's aliases); a free-text question is compared by the other checks
  alone (its model answer is prose: two wordings of one explanation are not two questions).

Pure; the shortlist comes from `similar.search`.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from services.arena.grading.normalize import normalize_text, numbers_in
from services.arena.grading.service import same_quantity

NEGATIONS = frozenset({"not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "without", "cannot",
                       "except", "false", "incorrect", "untrue", "nowhere"})
# Word pairs that turn a question into another one; both directions are checked.
OPPOSITES = (("largest", "smallest"), ("biggest", "smallest"), ("maximum", "minimum"), ("max", "min"),
             ("highest", "lowest"), ("closest", "farthest"), ("nearest", "farthest"),
             ("closest", "furthest"), ("most", "least"), ("more", "less"), ("more", "fewer"), ("greater", "less"),
             ("greater", "smaller"), ("larger", "smaller"), ("increase", "decrease"), ("increases", "decreases"),
             ("before", "after"), ("first", "last"), ("positive", "negative"), ("true", "false"),
             ("above", "below"), ("north", "south"), ("east", "west"), ("hot", "cold"), ("acid", "base"),
             ("acidic", "basic"), ("inside", "outside"), ("import", "export"), ("imports", "exports"),
             ("oldest", "youngest"), ("longest", "shortest"), ("fastest", "slowest"), ("heaviest", "lightest"),
             ("gain", "lose"), ("gains", "loses"), ("absorb", "release"), ("absorbs", "releases"),
             ("endothermic", "exothermic"), ("odd", "even"), ("prime", "composite"), ("left", "right"),
             ("upper", "lower"), ("earliest", "latest"), ("start", "end"), ("begin", "end"), ("cause", "effect"),
             ("float", "sink"), ("floats", "sinks"))
_OPPOSITE = frozenset(frozenset(pair) for pair in OPPOSITES)
_PREFIXES = ("un", "non", "in", "im", "dis", "ir", "il")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


@dataclass(frozen=True)
class Draft:
    """What the checks read of a question (new or stored)."""

    type: str
    content: str
    answer: str
    aliases: Sequence[str] = ()


def words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'"))


def negation_count(text: str) -> int:
    return sum(1 for w in words(text) if w in NEGATIONS or w.endswith("n't"))


def opposed(a: str, b: str) -> bool:
    """Whether a word of one text faces its opposite (or its prefixed negation) in the other,
    where the other text lacks that word itself."""
    wa, wb = set(words(a)), set(words(b))
    only_a, only_b = wa - wb, wb - wa
    if any(frozenset((x, y)) in _OPPOSITE for x in only_a for y in only_b):
        return True
    for w in only_a:
        for p in _PREFIXES:
            if p + w in only_b or (w.startswith(p) and w[len(p):] in only_b):
                return True
    return False


def _accepted(q: Draft) -> list[str]:
    return [a for a in (q.answer, *q.aliases) if a.strip()]


def same_answer(a: Draft, b: Draft) -> bool | None:
    """True/False when both state a short or multiple-choice answer; None otherwise (module doc)."""
    left, right = _accepted(a), _accepted(b)
    if not left or not right or "free" in (a.type, b.type):
        return None
    norm_right = {normalize_text(x) for x in right}
    return any(normalize_text(x) in norm_right or any(same_quantity(x, y) for y in right) for x in left)


def reasons_apart(a: Draft, b: Draft) -> list[str]:
    """The checks that tell the two questions apart (empty: the same question)."""
    out = []
    if negation_count(a.content) != negation_count(b.content):
        out.append("negation")
    if Counter(numbers_in(a.content)) != Counter(numbers_in(b.content)):
        out.append("numbers")
    if opposed(a.content, b.content):
        out.append("opposites")
    if same_answer(a, b) is False:
        out.append("answer")
    return out


def confirm(new: Draft, old: Draft, similarity: float, threshold: float) -> bool:
    """A duplicate: shortlisted by similarity and not told apart by any check."""
    return similarity >= threshold and not reasons_apart(new, old)
