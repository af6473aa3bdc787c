"""The answer-checking rules (services/classroom/problems/checking.py), case by case: pure, no I/O."""
from __future__ import annotations

import pytest

from services.classroom.problems.checking import Checked, check_answer, parse_number

MATH_RIGHT = [
    ("1/2", "0.5"), ("1/2", "1/2"), ("1/2", "2/4"), ("1/2", " .50 "), ("0.5", "1/2"), ("0.5", ".5"),
    ("3/2", "1 1/2"), ("1 1/2", "3/2"), ("1 1/2", "1.5"), ("1 1/2", "  1   1/2 "), ("-3/2", "-1 1/2"),
    ("-1/2", "-0.5"), ("-1/2", "−1/2"), ("-1/2", "- 1/2"), ("-1/2", "-2/4"), ("1/2", "1 / 2"), ("1/2", "½"),
    ("1/2", "2분의 1"), ("3/4", "4 분의 3"), ("7", "7"), ("7", "+7"), ("7", "7.0"), ("7", "07"), ("7", "14/2"),
    ("7", "７"), ("1000", "1,000"), ("1,000", "1000"), ("1000000", "1,000,000"), ("12345.5", "12,345.50"),
    ("0", "-0"), ("0", "0/5"), ("5", "5."), ("50%", "50%"), ("50%", "50 %"), ("50%", "0.5"), ("50%", ".50"),
    ("0.5", "50%"), ("0.25", "25%"), ("12.5%", "0.125"), ("-10%", "-0.1"), ("2|-2", "-2"), ("2|-2", "2"),
    ("3.14", "3.140"), ("1/3", "2/6"), ("1/3", "3/9"),
]
MATH_WRONG = [
    ("1/2", "0.51"), ("1/2", "1/3"), ("1/3", "0.333"), ("1/3", "0.3333333333"), ("1/2", "-1/2"), ("3/2", "1 1/3"),
    ("1/2", "50%"), ("3", "300%"), ("1", "100%"), ("50%", "1/2"), ("50%", "50"), ("50%", "0.05"),
    ("1000", "1,00"), ("1000", "1,0000"), ("1.5", "1,5"), ("7", "7 1/0"), ("7", "14/0"), ("0", "0/0"),
    ("7", "seven"), ("7", ""), ("7", "   "), ("7", "7a"), ("7", "1e1"), ("10", "1e1"), ("7", "7/"),
    ("7", "nan"), ("7", "inf"), ("1000", "1_000"), ("2", "2|3"), ("5", "--5"), ("1/2", "1//2"), ("32", "3²"),
    ("9", "3²"), ("3", "٣"), ("12", "1₂"),
]


@pytest.mark.parametrize(("expected", "given"), MATH_RIGHT)
def test_math_equivalent_answers_are_right(expected: str, given: str) -> None:
    assert check_answer("math", expected, given).correct, (expected, given)


@pytest.mark.parametrize(("expected", "given"), MATH_WRONG)
def test_math_other_answers_are_wrong(expected: str, given: str) -> None:
    assert not check_answer("math", expected, given).correct, (expected, given)


@pytest.mark.parametrize(("given", "normalized"), [
    ("0.5", "1/2"), ("2/4", "1/2"), (" .50 ", "1/2"), ("50%", "1/2"), ("1 1/2", "3/2"), ("-1 1/2", "-3/2"),
    ("1,000", "1000"), ("14/2", "7"), ("-0", "0"), ("Seven ", "seven"),
])
def test_math_normalized_form_is_the_tally_key(given: str, normalized: str) -> None:
    """Equivalent answers share one key, so a misconception chart counts them as one."""
    assert check_answer("math", "1", given).normalized == normalized


def test_math_answer_that_is_not_a_number_is_compared_as_text() -> None:
    assert check_answer("math", "x = 3", "X = 3").correct
    assert not check_answer("math", "x = 3", "x = 4").correct


def test_parse_number_keeps_the_written_form() -> None:
    forms = {s: (n.form if (n := parse_number(s)) else None) for s in ("3", "0.5", "1/2", "1 1/2", "50%", "x")}
    assert forms == {"3": "integer", "0.5": "decimal", "1/2": "fraction", "1 1/2": "mixed", "50%": "percent",
                     "x": None}


VOCAB_RIGHT = [
    ("apple", "apple"), ("apple", "Apple"), ("apple", "  APPLE  "), ("apple", "apple."), ("apple", '"apple"'),
    ("apple", "(apple)!"), ("ice cream", "ice   cream"), ("ice cream", "Ice\tCream"), ("straße", "STRASSE"),
    ("café", "cafe\u0301"), ("ﬁsh", "fish"), ("don't", "don’t"), ("colour|color", "color"),
    ("colour|color", "Colour"), ("사과", "사과"), ("사과", " 사과. "), ("사과", "ㅅㅏㄱㅘ"),
    ("사과", "\u1109\u1161\u1100\u116a"), ("사과|능금", "능금"), ("ＡＢＣ", "abc"), ("Hello, world", "hello, world!"),
]
VOCAB_WRONG = [
    ("apple", "apples"), ("apple", "aple"), ("apple", ""), ("apple", "..."), ("ice cream", "icecream"),
    ("사과", "사 과"), ("사과", "배"), ("colour|color", "colr"), ("colour|color", "colour|color|x"),
    ("don't", "dont"), ("Hello, world", "hello world"),
]


@pytest.mark.parametrize(("expected", "given"), VOCAB_RIGHT)
def test_vocabulary_normalised_text_matches(expected: str, given: str) -> None:
    assert check_answer("vocabulary", expected, given).correct, (expected, given)


@pytest.mark.parametrize(("expected", "given"), VOCAB_WRONG)
def test_vocabulary_other_text_is_wrong(expected: str, given: str) -> None:
    assert not check_answer("vocabulary", expected, given).correct, (expected, given)


@pytest.mark.parametrize(("expected", "given", "correct"), [
    ("가는 말이 고와야 오는 말이 곱다", "가는 말이 고와야, 오는 말이 곱다.", True),
    ("가는 말이 고와야, 오는 말이 곱다", "가는 말이 고와야 오는 말이 곱다", True),
    ("가는 말이 고와야 오는 말이 곱다", "  가는  말이 고와야   오는 말이 곱다 ", True),
    ("Actions speak louder than words", "actions speak louder than words!", True),
    ("Actions speak louder than words", "actions speak louder than word", False),
    ("가는 말이 고와야 오는 말이 곱다", "가는 말이 고와야 오는 말도 곱다", False),
])
def test_proverb_ignores_punctuation_inside_too(expected: str, given: str, correct: bool) -> None:
    assert check_answer("proverb", expected, given).correct is correct


def test_text_normalized_form() -> None:
    assert check_answer("vocabulary", "apple", "  Big   APPLE!! ") == Checked(False, "big apple")
    assert check_answer("proverb", "x", "Hello, world.").normalized == "hello world"


CHOICES = ["red", "green", "blue", "yellow"]


@pytest.mark.parametrize(("expected", "given", "correct"), [
    ("green", "green", True), ("green", " Green. ", True), ("green", "B", True), ("green", "b", True),
    ("green", "(b)", True), ("green", "b)", True), ("green", "B.", True), ("green", "2", True),
    ("B", "green", True), ("2", "green", True), ("b", "B", True), ("green", "A", False), ("green", "red", False),
    ("green", "1", False), ("green", "E", False), ("green", "5", False), ("green", "0", False),
    ("green", "purple", False), ("green|blue", "C", True), ("green|blue", "blue", True), ("green|blue", "D", False),
])
def test_multiple_choice_by_text_letter_or_number(expected: str, given: str, correct: bool) -> None:
    assert check_answer("vocabulary", expected, given, CHOICES).correct is correct


def test_multiple_choice_normalized_is_the_choice_text() -> None:
    assert check_answer("vocabulary", "green", "c", CHOICES) == Checked(False, "blue")
    assert check_answer("vocabulary", "green", "GREEN", CHOICES) == Checked(True, "green")
    assert check_answer("vocabulary", "green", "Purple", CHOICES) == Checked(False, "purple")


def test_numeric_choices_are_never_read_as_positions() -> None:
    choices = ["10", "20", "30", "40"]
    assert not check_answer("math", "20", "2", choices).correct
    assert check_answer("math", "20", "B", choices).correct
    assert check_answer("math", "20", "20.0", choices) == Checked(True, "20")
    assert check_answer("math", "2", "2", ["1", "2", "3"]) == Checked(True, "2")  # the text "2", not position 2
    assert check_answer("math", "3", "3", ["1", "2", "3"]).correct


def test_math_choices_compare_numerically() -> None:
    choices = ["1/4", "1/2", "3/4"]
    assert check_answer("math", "1/2", "0.5", choices) == Checked(True, "1/2")
    assert check_answer("math", "B", "2/4", choices).correct
    assert check_answer("math", "1/2", "0.75", choices) == Checked(False, "3/4")


def test_korean_choices() -> None:
    choices = ["사과", "배", "포도"]
    assert check_answer("vocabulary", "배", "배", choices).correct
    assert check_answer("vocabulary", "배", "b", choices).correct
    assert check_answer("vocabulary", "배", "2", choices).correct
    assert not check_answer("vocabulary", "배", "포도", choices).correct


@pytest.mark.parametrize("given", ["1" * 65, "a" * 65, "1/" + "2" * 63, " " * 65, "가" * 100, "1" * 10_000])
def test_absurdly_long_answers_are_wrong(given: str) -> None:
    assert not check_answer("math", "1", given).correct
    assert not check_answer("vocabulary", "a" * 65, given).correct
    assert len(check_answer("vocabulary", "a", given).normalized) <= 64


def test_sixty_four_characters_are_still_checked() -> None:
    assert check_answer("math", "1", "1." + "0" * 62).correct
    assert check_answer("vocabulary", "a" * 64, "A" * 64).correct


@pytest.mark.parametrize("given", [None, 5, 0.5, b"1/2", ["1/2"], {"a": 1}])
def test_non_string_answers_are_wrong_not_errors(given: object) -> None:
    assert check_answer("math", "1/2", given) == Checked(False, "")


@pytest.mark.parametrize(("ptype", "expected", "given", "choices"), [
    ("math", "", "1", None), ("math", "|", "1", None), ("vocabulary", "", "", None), ("unknown", "a", "A", None),
    ("math", "1", "\x00", None), ("math", "1", "\u200b1", None), ("vocabulary", "a", "\ud800", None),
    ("math", "1", "1", []), ("math", "1", "Z", ["1", "2"]), ("vocabulary", "a", "a", ["", "a"]),
    ("math", "1/0", "1/0", None), ("math", "9" * 64, "9" * 64, None), ("proverb", "!!!", "!!!", None),
])
def test_odd_inputs_never_raise(ptype: str, expected: str, given: str, choices: list[str] | None) -> None:
    result = check_answer(ptype, expected, given, choices)
    assert isinstance(result.correct, bool) and isinstance(result.normalized, str)


def test_empty_expected_is_never_matched() -> None:
    assert not check_answer("vocabulary", "", "").correct
    assert not check_answer("vocabulary", "!!!", "!!!").correct
    assert not check_answer("math", "|", "").correct


def test_unknown_type_is_compared_as_text() -> None:
    assert check_answer("spelling", "Apple", "apple.").correct
