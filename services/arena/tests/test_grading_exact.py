"""Exact grading (grading.service.grade_exact): normalisation, aliases, numbers, choices."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import pytest

from services.arena.grading.normalize import normalize_text, numbers_in, parse_quantity
from services.arena.grading.service import grade_exact


@dataclass
class Q:
    type: str
    answer: str
    aliases: list[str] = field(default_factory=list)
    choices: list[str] | None = None


@pytest.mark.parametrize(("given", "verdict", "grader"), [
    ("Mitochondria", "correct", "exact"),
    ("  the mitochondria. ", "correct", "exact"),
    ("powerhouse of the cell", "correct", "alias"),
    ("ribosome", "wrong", "exact"),
    ("", "wrong", "exact"),
])
def test_short_text_and_aliases(given: str, verdict: str, grader: str) -> None:
    q = Q("short", "mitochondria", ["Powerhouse of the cell"])
    v = grade_exact(q, given)
    assert v is not None and (v.verdict, v.grader) == (verdict, grader)
    assert v.score == (1.0 if verdict == "correct" else 0.0)


@pytest.mark.parametrize(("expected", "given", "right"), [
    ("0.5", "1/2", True), ("1/2", "50%", True), ("1,000", "1000", True), ("1 1/2", "1.5", True),
    ("9.8 m/s2", "9.80 m/s2", True), ("9.8 m/s2", "9.8 km", False), ("-3", "\u22123", True),
    ("6.02e23", "602000000000000000000000", True), ("3", "4", False), ("3", "3.0001", False),
    # A sign or a percent is part of a number (text normalisation must not drop it first).
    ("5", "-5", False), ("-5", "5", False), ("5%", "5", False), ("5", "5%", False), ("-5", "-5.0", True),
])
def test_short_numbers(expected: str, given: str, right: bool) -> None:
    v = grade_exact(Q("short", expected), given)
    assert v is not None and (v.verdict == "correct") is right, (expected, given, v)


@pytest.mark.parametrize(("expected", "given"), [("C++", "C"), ("C#", "C"), ("x^2", "x 2"), ("A&M", "A M"),
                                                ("-x", "x")])
def test_symbols_that_make_another_answer_are_kept(expected: str, given: str) -> None:
    assert grade_exact(Q("short", expected), given).verdict == "wrong"  # type: ignore[union-attr]
    assert grade_exact(Q("short", expected), expected.lower() + ".").verdict == "correct"  # type: ignore[union-attr]


def test_multiple_choice_by_text_letter_or_number() -> None:
    q = Q("mc", "Paris", choices=["London", "Paris", "Rome", "Berlin"])
    for given in ("Paris", "paris", "B", "(b)", "b)", "2"):
        assert grade_exact(q, given).verdict == "correct", given  # type: ignore[union-attr]
    for given in ("A", "3", "Lyon", "E", "5", ""):
        assert grade_exact(q, given).verdict == "wrong", given  # type: ignore[union-attr]


def test_numeric_choices_are_never_read_as_positions() -> None:
    q = Q("mc", "4", choices=["2", "3", "4", "5"])
    assert grade_exact(q, "4").verdict == "correct"  # type: ignore[union-attr]
    assert grade_exact(q, "3").verdict == "wrong"  # type: ignore[union-attr]
    assert grade_exact(q, "C").verdict == "correct"  # type: ignore[union-attr]


def test_free_text_is_not_graded_here_and_odd_input_is_wrong() -> None:
    assert grade_exact(Q("free", ""), "anything") is None
    assert grade_exact(Q("short", "x"), None).verdict == "wrong"  # type: ignore[union-attr]
    assert grade_exact(Q("short", "x"), "x" * 5000).verdict == "wrong"  # type: ignore[union-attr]


def test_normalisation_helpers() -> None:
    assert normalize_text("The X-Ray's  “edge”!") == "x-ray's edge"
    assert parse_quantity("not a number") is None and parse_quantity("1/0") is None
    assert numbers_in("Add 3 and 1,200 then 1/2") == [3, 1200, Fraction(1, 2)]
