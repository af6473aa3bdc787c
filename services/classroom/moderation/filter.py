"""The moderation filter: built-in Korean and English word lists, an org's own additions, and
one `check(text) -> Verdict` for chat messages and nicknames alike.

Korean is matched as a substring of a token's decomposed Hangul (Korean glues particles and
endings to words, so whole-word matching would miss 씨발아); English as whole tokens or
listed stems, never as a bare substring, so class, assessment, Scunthorpe, cocktail and title
pass. Words that contain a blocked spelling but are fine (시발점, Scunthorpe) are cut out before
matching. Everything is compiled when the `Moderator` is built; `check` is a few regex and
dict look-ups per token (tens of microseconds for a chat line).
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from services.classroom.moderation.normalize import (
    JONG_TO_CHO,
    JONGSEONG,
    JUNGSEONG,
    collapse,
    fold,
    hangul_stream,
    has_hangul,
    latin_spellings,
    pieces,
    runs,
)

Lang = Literal["ko", "en", "any"]
Kind = Literal["block", "allow"]
Mode = Literal["exact", "prefix", "suffix", "contains"]
MAX_WORD_CHARS = 40
MAX_CHECKED_CHARS = 1000  # chat lines are <= 200, nicknames <= 20: bounds the work on junk input
BUILTIN = "blocked_word"
ORG = "org_word"
_WORDS = Path(__file__).parent / "words"


@dataclass(frozen=True, slots=True)
class Word:
    """One entry of an org's list: `lang` 'ko' (substring of Hangul), 'en' (whole English token)
    or 'any' (anywhere in a token, in the word's own script); `kind` block or allow."""

    word: str
    lang: Lang = "any"
    kind: Kind = "block"


@dataclass(frozen=True, slots=True)
class Verdict:
    """`reason`: 'blocked_word' (built-in list) or 'org_word' (the org's list); `matched`: the
    list entry that matched, for the teacher's moderation view (never shown to other students)."""

    allowed: bool
    reason: str | None = None
    matched: str | None = None


ALLOWED = Verdict(True)


@dataclass(frozen=True, slots=True)
class _Latin:
    word: str
    collapsed: str
    runs: tuple[int, ...]
    mode: Mode
    reason: str


@dataclass(frozen=True, slots=True)
class _Hangul:
    word: str
    stream: str
    exact: bool
    reason: str


def word_key(word: str) -> str:
    """How an org's word is stored and compared for uniqueness: NFC, trimmed, casefolded."""
    return unicodedata.normalize("NFC", word).strip().casefold()


def validate_word(word: str, lang: Lang) -> str:
    """The stored form of an org's word; ValueError when it is not 1-40 letters of one script
    (Latin for 'en', Hangul for 'ko', either for 'any')."""
    key = word_key(word)
    folded = fold(key)
    if not 1 <= len(key) <= MAX_WORD_CHARS or not folded or not all(ch.isalpha() for ch in folded):
        raise ValueError(f"a word is 1-{MAX_WORD_CHARS} letters, with no spaces, digits or punctuation")
    latin = folded.isascii()
    hangul = all(has_hangul(ch) for ch in folded)
    if not (latin or hangul):
        raise ValueError("a word is written in Latin or in Hangul letters, not both nor another script")
    if lang == "en" and not latin:
        raise ValueError("an 'en' word is written in Latin letters")
    if lang == "ko" and not hangul:
        raise ValueError("a 'ko' word is written in Hangul")
    return key


def _latin(word: str, mode: Mode, reason: str) -> _Latin | None:
    letters = re.sub(r"[^a-z]+", "", fold(word))
    return _Latin(word, collapse(letters), runs(letters), mode, reason) if letters else None


def _hangul(word: str, exact: bool, reason: str) -> _Hangul | None:
    stream = hangul_stream(fold(word))
    return _Hangul(word, stream, exact, reason) if stream else None


def _parse_en(line: str, reason: str) -> _Latin | None:
    starts, ends = line.startswith("*"), line.endswith("*")
    mode: Mode = "contains" if starts and ends else "suffix" if starts else "prefix" if ends else "exact"
    return _latin(line.strip("*"), mode, reason)


def _lines(name: str) -> list[str]:
    text = (_WORDS / name).read_text("utf-8")
    return [s for s in (line.strip() for line in text.splitlines()) if s and not s.startswith("#")]


@dataclass(frozen=True)
class _Lists:
    latin: tuple[_Latin, ...]
    hangul: tuple[_Hangul, ...]
    allow: tuple[str, ...]


@cache
def _builtin_lists() -> _Lists:
    latin = [r for r in (_parse_en(s, BUILTIN) for s in _lines("en.txt")) if r is not None]
    hangul = [r for r in (_hangul(s.lstrip("="), s.startswith("="), BUILTIN) for s in _lines("ko.txt")) if r]
    return _Lists(tuple(latin), tuple(hangul), tuple(word_key(s) for s in _lines("allow.txt")))


def _hangul_pattern(stream: str) -> str:
    """A word's jamo as a regex: a final may also be typed as a lone initial (씨ㅂㅏㄹ), and a word
    that ends on a vowel does not match inside a closed syllable (씨바 is not 씨방, ovary)."""
    out = []
    for ch in stream:
        cho = JONG_TO_CHO.get(ch)
        out.append(f"(?:{ch}|{cho}(?![{JUNGSEONG}]))" if cho else re.escape(ch))
    if re.match(f"[{JUNGSEONG}]", stream[-1]):
        out.append(f"(?![{JONGSEONG}])")
    return "".join(out)


def _alternation(words: Iterable[str]) -> re.Pattern[str] | None:
    ordered = sorted(set(words), key=lambda w: (-len(w), w))
    return re.compile("|".join(re.escape(w) for w in ordered)) if ordered else None


class Moderator:
    """A compiled set of word lists. Immutable; share one per org (service.moderator_for)."""

    def __init__(self, latin: Iterable[_Latin], hangul: Iterable[_Hangul], allow: Iterable[str]) -> None:
        self._exact: dict[str, list[_Latin]] = {}
        self._prefix: dict[str, list[_Latin]] = {}
        self._suffix: dict[str, list[_Latin]] = {}
        self._contains: dict[str, list[_Latin]] = {}
        self._any: dict[str, list[_Latin]] = {}
        for r in latin:
            {"exact": self._exact, "prefix": self._prefix, "suffix": self._suffix,
             "contains": self._contains}[r.mode].setdefault(r.collapsed, []).append(r)
            self._any.setdefault(r.collapsed, []).append(r)
        self._prefixes = tuple(self._prefix)
        self._suffixes = tuple(self._suffix)
        self._contains_re = _lookahead(self._contains)
        self._any_re = _lookahead(self._any)
        allow_latin = [w for w in allow if w.isascii()]
        self._allow_latin = _alternation(re.sub(r"[^a-z]+", "", fold(w)) for w in allow_latin)
        allow_hangul = [s for s in (hangul_stream(fold(w)) for w in allow if not w.isascii()) if s]
        self._allow_hangul = (re.compile("|".join(_hangul_pattern(s) for s in sorted(set(allow_hangul), key=len,
                                                                                       reverse=True)))
                              if allow_hangul else None)
        self._hangul_exact: dict[str, _Hangul] = {}
        substrings: list[_Hangul] = []
        for h in hangul:
            if h.exact:
                self._hangul_exact.setdefault(h.stream, h)
            else:
                substrings.append(h)
        substrings.sort(key=lambda h: -len(h.stream))
        # One alternation finds a hit (no groups: named groups made it 25x slower); each word's own
        # pattern then tells which one, on the rare path.
        self._hangul_words = [(h, re.compile(_hangul_pattern(h.stream))) for h in substrings]
        self._hangul_re = (re.compile("|".join(_hangul_pattern(h.stream) for h in substrings))
                           if substrings else None)

    @classmethod
    def builtin(cls) -> Moderator:
        """The built-in lists only (shared: built once per process)."""
        return _builtin()

    @classmethod
    def with_org_words(cls, words: Iterable[Word]) -> Moderator:
        """The built-in lists plus an org's words. An org's allow word also drops a built-in block
        entry of the same spelling; an org's block word drops a built-in allow entry."""
        lists = _builtin_lists()
        words = list(words)
        org_allow = {word_key(w.word) for w in words if w.kind == "allow"}
        org_block = {word_key(w.word) for w in words if w.kind == "block"}
        latin = [r for r in lists.latin if word_key(r.word) not in org_allow]
        hangul = [h for h in lists.hangul if word_key(h.word) not in org_allow]
        allow = [w for w in lists.allow if w not in org_block] + sorted(org_allow - org_block)
        for w in words:
            if w.kind != "block":
                continue
            if has_hangul(w.word):
                h = _hangul(w.word, False, ORG)
                if h is not None:
                    hangul.append(h)
            else:
                r = _latin(w.word, "exact" if w.lang == "en" else "contains", ORG)
                if r is not None:
                    latin.append(r)
        return cls(latin, hangul, allow)

    def check(self, text: str) -> Verdict:
        """Whether `text` may be shown; the first blocked word found otherwise."""
        for piece in pieces(fold(text[:MAX_CHECKED_CHARS])):
            for spelling in latin_spellings(piece.text):
                found = self._latin_hit(spelling, piece.joined)
                if found is not None:
                    return Verdict(False, found.reason, found.word)
            if piece.hangul:
                hit = self._hangul_hit(piece.hangul, piece.before_aux)
                if hit is not None:
                    return Verdict(False, hit.reason, hit.word)
        return ALLOWED

    def _latin_hit(self, spelling: str, joined: bool) -> _Latin | None:
        parts = self._allow_latin.split(spelling) if self._allow_latin is not None else [spelling]
        for part in parts:
            if not part:
                continue
            c = collapse(part)
            if not joined and not self._may_hold(c):
                continue
            for r, pos in self._latin_candidates(c, joined):
                if _runs_cover(runs(part), pos, r.runs):
                    return r
        return None

    def _may_hold(self, c: str) -> bool:
        """The common path: no entry could match this collapsed token at all."""
        return (c in self._exact or (bool(self._prefixes) and c.startswith(self._prefixes))
                or (bool(self._suffixes) and c.endswith(self._suffixes))
                or (self._contains_re is not None and self._contains_re.search(c) is not None))

    def _latin_candidates(self, c: str, joined: bool) -> Iterable[tuple[_Latin, int]]:
        if joined:  # "f u c k i n g": every entry may sit anywhere in a joined run
            yield from _found(self._any_re, self._any, c)
            return
        for r in self._exact.get(c, ()):
            yield r, 0
        if self._prefixes and c.startswith(self._prefixes):
            for p in self._prefixes:
                if c.startswith(p):
                    yield from ((r, 0) for r in self._prefix[p])
        if self._suffixes and c.endswith(self._suffixes):
            for s in self._suffixes:
                if c.endswith(s):
                    yield from ((r, len(c) - len(s)) for r in self._suffix[s])
        yield from _found(self._contains_re, self._contains, c)

    def _hangul_hit(self, stream: str, before_aux: bool = False) -> _Hangul | None:
        exact = self._hangul_exact.get(stream)
        if exact is not None and not before_aux:
            return exact
        if self._hangul_re is None:
            return None
        segments = self._allow_hangul.split(stream) if self._allow_hangul is not None else [stream]
        for seg in segments:
            m = self._hangul_re.search(seg)
            if m is not None:
                return next(h for h, p in self._hangul_words if p.match(seg, m.start()))
        return None


def _lookahead(index: dict[str, list[_Latin]]) -> re.Pattern[str] | None:
    """Every (overlapping) occurrence of any key: `(?=(a|b))` finds each start position."""
    if not index:
        return None
    return re.compile("(?=(" + "|".join(re.escape(k) for k in sorted(index, key=len, reverse=True)) + "))")


def _found(pattern: re.Pattern[str] | None, index: dict[str, list[_Latin]], c: str
           ) -> Iterable[tuple[_Latin, int]]:
    if pattern is None or pattern.search(c) is None:
        return
    for m in pattern.finditer(c):
        pos = m.start()
        for key in index:  # the rare path: a stem occurs; try each key at this position
            if c.startswith(key, pos):
                yield from ((r, pos) for r in index[key])


def _runs_cover(token_runs: tuple[int, ...], pos: int, word_runs: tuple[int, ...]) -> bool:
    """Each letter run of the word is at least as long in the token ("asss" has "ass", "as" does not)."""
    window = token_runs[pos:pos + len(word_runs)]
    return len(window) == len(word_runs) and all(t >= w for t, w in zip(window, word_runs, strict=True))


@cache
def _builtin() -> Moderator:
    lists = _builtin_lists()
    return Moderator(lists.latin, lists.hangul, lists.allow)


__all__ = ["ALLOWED", "Kind", "Lang", "Moderator", "Verdict", "Word", "validate_word", "word_key"]
