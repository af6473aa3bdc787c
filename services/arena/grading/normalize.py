"""The forms answers are compared in. Pure and deterministic.

- Text: NFKC, casefolded, curly quotes straightened, punctuation turned into spaces (kept: an
  apostrophe inside a word, "newton's"; a hyphen before a letter or digit, "x-ray", "-x"; and the
  marks that change an answer, `# % & * @ / \\`), whitespace collapsed, and one leading article
  ("a", "an", "the") dropped: "The Mitochondria." == "mitochondria". Symbols (`+ = ^ $ °`, …)
  are kept: "C++" is not "C", nor "C#".
- Numbers: exact rationals (`fractions.Fraction`, never floats): integers, thousands separators in
  groups of three ("1,000"), decimals (".5", "5."), fractions ("3/4", "-1/2"), mixed numbers
  ("1 1/2"), percents ("50%" = 1/2), scientific notation ("6.02e23"), the minus sign U+2212;
  a trailing unit is kept apart and must match as text ("9.8 m/s2" == "9.80 m/s2", != "9.8 km").
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2212": "-"})
_ARTICLES = ("a ", "an ", "the ")
_INT = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
_NUMBER = re.compile(
    rf"(?P<sign>[+-]?)\s*(?:(?P<whole>{_INT})\s+(?P<mnum>\d+)/(?P<mden>\d+)"
    rf"|(?P<num>{_INT})\s*/\s*(?P<den>\d+)"
    rf"|(?P<dec>(?:{_INT}(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?)(?P<pct>\s*%)?)"
    r"\s*(?P<unit>[^\d\s].*)?", re.ASCII | re.IGNORECASE)


_MEANINGFUL = frozenset("#%&*@/\\")  # punctuation that makes another answer: "C#", "A&M", "km/h"


def _keep(text: str, i: int) -> bool:
    """Whether a punctuation mark stays (module doc)."""
    ch = text[i]
    if ch in _MEANINGFUL:
        return True
    if ch not in "-'" or i == len(text) - 1 or not text[i + 1].isalnum():
        return False
    return ch == "-" or (i > 0 and text[i - 1].isalnum())


def normalize_text(value: str) -> str:
    s = unicodedata.normalize("NFKC", value).casefold().translate(_QUOTES)
    s = "".join(" " if unicodedata.category(ch).startswith("P") and not _keep(s, i) else ch
                for i, ch in enumerate(s))
    s = " ".join(s.split())
    for article in _ARTICLES:
        if s.startswith(article) and len(s) > len(article):
            return s[len(article):]
    return s


@dataclass(frozen=True)
class Quantity:
    value: Fraction
    unit: str  # normalised text after the number; "" for none


def parse_quantity(value: str) -> Quantity | None:
    """The number (and unit) an answer states, or None when it is not a number."""
    s = unicodedata.normalize("NFKC", value).translate(_QUOTES).strip()
    m = _NUMBER.fullmatch(s)
    if m is None:
        return None
    sign = -1 if m["sign"] == "-" else 1
    if m["whole"] is not None:
        if int(m["mden"]) == 0:
            return None
        number = int(m["whole"].replace(",", "")) + Fraction(int(m["mnum"]), int(m["mden"]))
    elif m["num"] is not None:
        if int(m["den"]) == 0:
            return None
        number = Fraction(int(m["num"].replace(",", "")), int(m["den"]))
    else:
        text = m["dec"].replace(",", "")
        number = Fraction(text.rstrip(".") if not text.endswith(".") or len(text) > 1 else "0")
        if m["pct"]:
            number /= 100
    return Quantity(sign * number, normalize_text(m["unit"] or ""))


def numbers_in(text: str) -> list[Fraction]:
    """Every number written in a text, in order (duplicate checks compare them)."""
    s = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    out = []
    for token in re.findall(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:/\d+)?", s):
        num, _, den = token.replace(",", "").partition("/")
        if den and int(den) == 0:
            continue
        out.append(Fraction(num) / (int(den) if den else 1))
    return out
