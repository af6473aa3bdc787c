"""Answer checking for problem cards: pure, deterministic, never raises.

`check_answer(problem_type, expected, given, choices)` says whether `given` is right and gives
its `normalized` form: the key under which a live tally counts the answer (so "0.5", "1/2" and
"2/4" are one bar of the misconception chart, not three).

Rules (the contract the pages and the import document):

- Any answer longer than 64 characters (or not a string) is wrong, checked no further.
- `expected` may hold several accepted answers separated by "|" ("colour|color"); any one
  matches. For math the alternatives are numbers ("2|-2").
- **math**: exact rational equivalence (`fractions.Fraction`, no floats). Accepted forms:
  integers ("-3", "+3"), thousands separators in groups of three ("1,000", "12,345.5"; "1,5" is
  not a number), decimals ("0.5", ".50", "5."), fractions ("2/4", "-1/2", "1 / 2"; zero
  denominators are not numbers), mixed numbers ("1 1/2" = 3/2, "-1 1/2" = -3/2), Korean
  fractions ("2분의 1" = 1/2) and percents ("50%"). Full-width digits, vulgar fractions ("½"),
  the minus sign U+2212 and the fraction slash U+2044 are read as their ASCII forms; other
  digits (superscripts, other scripts) are not numbers. **Percent rule**: a percent and a
  decimal are interchangeable ("50%" == "0.5" == ".50"), but a percent never matches an
  integer, a fraction or a mixed number: when the expected answer is "1/2" the problem asks for a
  fraction and "50%" is wrong; when it is "50%", "1/2" is wrong and "50" (the sign left off) is
  wrong too. A math answer that is not a number (expected "x = 3") is compared as text.
- **vocabulary / proverb** (and any unknown type): text after NFKC, casefolding, curly quotes
  made straight, surrounding whitespace and punctuation stripped and inner whitespace collapsed;
  Hangul ends in NFC (NFKC maps compatibility jamo to conjoining jamo, which NFC composes, so
  "ㅅㅏㄱㅘ" typed jamo by jamo equals "사과"). A proverb also ignores its inner punctuation
  ("가는 말이 고와야, 오는 말이 곱다" == "가는 말이 고와야 오는 말이 곱다").
- **multiple choice** (`choices` given): the answer names a choice by its text (compared as
  above: numerically for math, normalised text otherwise), by its letter ("B", "b", "B)", "(b)",
  "b.": A is the first choice; so a one-letter answer "a".."f" is a letter unless a choice's
  text is that letter) or by its 1-based number ("2") — numbers only when no choice is itself a
  number, so "2" among choices ["1", "2", "3"] is the choice "2", never the second one.
  `expected` names the right choice the same way. The normalized form is the chosen choice's
  text as written; an answer that names no choice is wrong.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

MAX_ANSWER_CHARS = 64
ALTERNATIVES = "|"
LETTERS = "ABCDEF"

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
                         "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"'})
_MATH_SIGNS = str.maketrans({"\u2212": "-", "\u2044": "/", "\u2215": "/"})

_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_NUM = rf"(?:{_INT}(?:\.\d*)?|\.\d+)"
_DECIMAL = re.compile(rf"([+-]?)({_NUM})", re.ASCII)
_PERCENT = re.compile(rf"([+-]?)({_NUM}) ?%", re.ASCII)
_FRACTION = re.compile(rf"([+-]?)({_INT})/({_INT})", re.ASCII)
_MIXED = re.compile(rf"([+-]?)({_INT}) ({_INT})/({_INT})", re.ASCII)
_KOREAN_FRACTION = re.compile(rf"([+-]?)({_INT}) ?분의 ?({_INT})", re.ASCII)
_CHOICE_LETTER = re.compile(r"\(?([a-f])[).:]?")


@dataclass(frozen=True)
class Checked:
    correct: bool
    normalized: str


# ------------------------------------------------------------------------------------------------
# Text


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P")


def normalize_text(value: str, *, inner_punctuation: bool = True) -> str:
    """The form text answers are compared in (see module doc); `inner_punctuation=False` turns
    every punctuation mark into a space (proverbs)."""
    s = unicodedata.normalize("NFKC", value)
    s = unicodedata.normalize("NFKC", s.casefold()).translate(_QUOTES)
    if not inner_punctuation:
        s = "".join(" " if _is_punct(ch) else ch for ch in s)
    start, end = 0, len(s)
    while start < end and (s[start].isspace() or _is_punct(s[start])):
        start += 1
    while end > start and (s[end - 1].isspace() or _is_punct(s[end - 1])):
        end -= 1
    return unicodedata.normalize("NFC", " ".join(s[start:end].split()))


# ------------------------------------------------------------------------------------------------
# Numbers


@dataclass(frozen=True)
class Number:
    value: Fraction
    form: str  # integer | decimal | fraction | mixed | percent


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def _signed(sign: str, value: Fraction) -> Fraction:
    return -value if sign == "-" else value


def parse_number(value: str) -> Number | None:
    """The exact value and written form of a math answer; None when it is not a number.
    Superscripts and subscripts are no digits here ("3²" is not 32)."""
    if any(unicodedata.decomposition(ch).startswith(("<super>", "<sub>")) for ch in value if not ch.isascii()):
        return None
    s = unicodedata.normalize("NFKC", value).translate(_MATH_SIGNS)
    s = " ".join(s.split())
    s = re.sub(r" ?/ ?", "/", s)
    s = re.sub(r"^([+-]) ", r"\1", s)
    if m := _DECIMAL.fullmatch(s):
        text = m.group(2).replace(",", "")
        form = "decimal" if "." in text else "integer"
        return Number(_signed(m.group(1), Fraction(text if not text.endswith(".") else text[:-1] or "0")), form)
    if m := _PERCENT.fullmatch(s):
        text = m.group(2).replace(",", "")
        return Number(_signed(m.group(1), Fraction(text.rstrip(".") or "0") / 100), "percent")
    if m := _FRACTION.fullmatch(s):
        den = _int(m.group(3))
        return Number(_signed(m.group(1), Fraction(_int(m.group(2)), den)), "fraction") if den else None
    if m := _MIXED.fullmatch(s):
        den = _int(m.group(4))
        if not den:
            return None
        return Number(_signed(m.group(1), _int(m.group(2)) + Fraction(_int(m.group(3)), den)), "mixed")
    if m := _KOREAN_FRACTION.fullmatch(s):
        den = _int(m.group(2))
        return Number(_signed(m.group(1), Fraction(_int(m.group(3)), den)), "fraction") if den else None
    return None


def canonical(value: Fraction) -> str:
    """"3", "-1/2": the tally key of a number."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


def numbers_match(expected: Number, given: Number) -> bool:
    """Equal values, and a percent only against a percent or a decimal (module doc)."""
    if expected.value != given.value:
        return False
    forms = {expected.form, given.form}
    return "percent" not in forms or forms <= {"percent", "decimal"}


# ------------------------------------------------------------------------------------------------
# One answer against one accepted answer


def _normalized(problem_type: str, given: str) -> str:
    if problem_type == "math":
        number = parse_number(given)
        if number is not None:
            return canonical(number.value)
    return normalize_text(given, inner_punctuation=problem_type != "proverb")


def _same(problem_type: str, expected: str, given: str) -> bool:
    if problem_type == "math":
        want, got = parse_number(expected), parse_number(given)
        if want is not None:
            return got is not None and numbers_match(want, got)
    norm = _normalized(problem_type, given)
    return norm != "" and norm == normalize_text(expected, inner_punctuation=problem_type != "proverb")


def choice_index(problem_type: str, choices: Sequence[str], answer: str) -> int | None:
    """Which choice (0-based) the answer names: by text, by letter, or by number (module doc);
    None when it names none. No length limit: authors' answers use it too."""
    for i, choice in enumerate(choices):
        if _same(problem_type, choice, answer):
            return i
    compact = normalize_text(answer).replace(" ", "")
    if m := _CHOICE_LETTER.fullmatch(answer.strip().casefold()):
        i = LETTERS.index(m.group(1).upper())
        return i if i < len(choices) else None
    if compact.isascii() and compact.isdigit() and not any(parse_number(c) is not None for c in choices):
        i = int(compact) - 1
        return i if 0 <= i < len(choices) else None
    return None


def check_answer(problem_type: str, expected: str, given: object,
                 choices: Sequence[str] | None = None) -> Checked:
    """Whether `given` answers a problem whose answer is `expected` (module doc for the rules)."""
    if not isinstance(given, str):
        return Checked(False, "")
    if len(given) > MAX_ANSWER_CHARS:
        return Checked(False, normalize_text(given[:MAX_ANSWER_CHARS]))
    accepted = [a for a in (expected or "").split(ALTERNATIVES) if a.strip()]
    if choices:
        options = [c for c in choices if isinstance(c, str)]
        picked = choice_index(problem_type, options, given)
        if picked is None:
            return Checked(False, _normalized(problem_type, given))
        right = {choice_index(problem_type, options, a) for a in accepted}
        return Checked(picked in right, options[picked].strip())
    return Checked(any(_same(problem_type, a, given) for a in accepted), _normalized(problem_type, given))
