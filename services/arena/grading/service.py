"""Exact grading of multiple choice and short answers: pure, deterministic, never raises.

`grade_exact(question, answer)` is the match engine's inline grader. It answers None for free
text (graded by the LLM: `grading.llm.grade_free_text`) and a `Verdict` otherwise:

- **mc**: the answer names a choice by its text (normalised), its letter ("B", "b)", "(b)") or
  its 1-based number ("2"; numbers only when no choice is itself a number). Right when the named
  choice is the question's answer. An answer that names no choice is wrong.
- **short**: right when the answer equals the question's answer (grader `exact`) or one of its
  aliases (`alias`) after text normalisation, or states the same number with the same unit
  (`numeric`: "0.5" = "1/2" = "50%"; "9.8 m/s2" = "9.80 m/s2"). When both the accepted answer
  and the given one are numbers they are compared only as numbers, so a sign or a percent the
  text form would lose still counts ("-5" is not "5", "5%" is not "5"). Anything else is wrong.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from services.arena.grading.normalize import normalize_text, parse_quantity

MAX_ANSWER_CHARS = 2000  # round_answers.answer
LETTERS = "ABCDEFGH"

VerdictName = Literal["correct", "partial", "wrong", "pending"]
Grader = Literal["exact", "alias", "numeric", "llm", "none"]


class Gradable(Protocol):
    """What grading reads of a question (a `questions.queries.QuestionRow` is one)."""

    @property
    def type(self) -> str: ...
    @property
    def answer(self) -> str: ...
    @property
    def aliases(self) -> Sequence[str]: ...
    @property
    def choices(self) -> Sequence[str] | None: ...


@dataclass(frozen=True)
class Verdict:
    """A graded answer, as round_answers stores it (verdict, score, grader, rubric_hits, feedback)."""

    verdict: VerdictName
    score: float  # 0, 0.5 or 1
    grader: Grader
    rubric_hits: list[str] = field(default_factory=list)
    feedback: str = ""


def _wrong(grader: Grader = "exact") -> Verdict:
    return Verdict("wrong", 0.0, grader)


def choice_index(choices: Sequence[str], answer: str) -> int | None:
    """Which choice (0-based) an answer names: text, letter or number (module doc); None for none."""
    norm = normalize_text(answer)
    for i, choice in enumerate(choices):
        if norm and normalize_text(choice) == norm:
            return i
    compact = answer.strip().strip("().:").strip().upper()
    if len(compact) == 1 and compact in LETTERS:
        i = LETTERS.index(compact)
        return i if i < len(choices) else None
    if compact.isdigit() and not any(parse_quantity(c) is not None for c in choices):
        i = int(compact) - 1
        return i if 0 <= i < len(choices) else None
    return None


def same_quantity(expected: str, given: str) -> bool:
    want, got = parse_quantity(expected), parse_quantity(given)
    return want is not None and got is not None and want == got


def _grade_short(expected: str, aliases: Sequence[str], given: str) -> Verdict:
    norm = normalize_text(given)
    if not norm:
        return _wrong()
    got = parse_quantity(given)
    accepted: list[tuple[Grader, str]] = [("exact", expected), *(("alias", a) for a in aliases if a.strip())]
    for grader, text in accepted:
        want = parse_quantity(text)
        if want is not None and got is not None:  # numbers: by value only (module doc)
            if want == got:
                return Verdict("correct", 1.0, grader if normalize_text(text) == norm else "numeric")
        elif norm == normalize_text(text):
            return Verdict("correct", 1.0, grader)
    return _wrong()


def grade_exact(question: Gradable, answer: object) -> Verdict | None:
    """The verdict on `answer` (module doc); None for a free-text question."""
    if question.type == "free":
        return None
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER_CHARS:
        return _wrong()
    if question.type == "mc":
        choices = list(question.choices or [])
        picked = choice_index(choices, answer)
        right = choice_index(choices, question.answer)
        return Verdict("correct", 1.0, "exact") if picked is not None and picked == right else _wrong()
    return _grade_short(question.answer, list(question.aliases or []), answer)
