"""Text folding for moderation: what a filter compares is not what the user typed.

Children evade word filters in a handful of ways, and each one has its undo here:
fullwidth or styled letters (NFKC), case (casefold), accents and zero-width or control
characters (dropped), Cyrillic/Greek look-alikes (mapped to Latin), leetspeak (`5h1t`),
punctuation and spacing inside a word (`f.u.c.k`, `f u c k`, `시 발`), repeated letters
(`fuuuck`, `씨이이발`) and split Hangul jamo (`ㅅㅣ발`, `씨ㅂㅏㄹ`). Korean is compared in its
decomposed (conjoining jamo) form, so a word typed syllable by syllable and one typed jamo by
jamo meet. Pure functions; the filter (filter.py) precomputes its word lists with the same ones.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Latin leetspeak, applied only to tokens that also hold a Latin letter (a bare "2026" stays a number).
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})

# Cyrillic and Greek letters that pass for Latin ones ("fаck" with a Cyrillic а).
_HOMOGLYPHS = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "і": "i", "ї": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ɡ": "g",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "ѵ": "v",
}
# Blank-looking letters used as invisible separators (Hangul fillers, Braille blank).
INVISIBLE = frozenset({0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800})
_DROP_CATEGORIES = frozenset({"Mn", "Me", "Cf", "Co", "Cs", "Cn"})


class _FoldTable(dict[int, "str | None"]):
    """`str.translate` table computed per code point on first sight, then cached: the loop stays in C."""

    def __missing__(self, cp: int) -> str | None:
        ch = chr(cp)
        value: str | None
        if ch.isspace():
            value = " "
        elif cp in INVISIBLE or unicodedata.category(ch) in _DROP_CATEGORIES or unicodedata.category(ch) == "Cc":
            value = None
        else:
            value = _HOMOGLYPHS.get(ch, ch)
        self[cp] = value
        return value


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """NFKC, casefold, accents/zero-width/control characters dropped, look-alikes mapped; NFC out.

    Whitespace is kept (as plain spaces): tokens matter to the English filter."""
    s = unicodedata.normalize("NFKC", text).casefold()
    if s.isascii():
        return s.translate(_FOLD)
    return unicodedata.normalize("NFC", unicodedata.normalize("NFD", s).translate(_FOLD))


# --- Latin -------------------------------------------------------------------------------------

_NOT_LETTER = re.compile(r"[^a-z]+")
_HAS_LETTER = re.compile(r"[a-z]")
_SEPARATOR = re.compile(r"[^a-z0-9@$!]+")
_LEAD = "'\"([{<-_*~.,:;#%^&+=|/\\`"
_TRAIL = _LEAD + "!?)]}>"
_REPEAT = re.compile(r"(.)\1+")


def latin_spellings(token: str) -> set[str]:
    """The Latin readings of one folded token (letters a-z only): as written, with leetspeak
    undone, and each punctuation-separated part ("ok,shit" -> "ok", "shit")."""
    if token.isalpha() and token.isascii():
        return {token}
    if _HAS_LETTER.search(token) is None:
        return set()
    plain = _NOT_LETTER.sub("", token)
    core = token.lstrip(_LEAD).rstrip(_TRAIL)
    out = {plain, _NOT_LETTER.sub("", core.translate(LEET))}
    if _SEPARATOR.search(core) is not None:
        out.update(_NOT_LETTER.sub("", part.translate(LEET)) for part in _SEPARATOR.split(core))
    out.discard("")
    return out


def collapse(s: str) -> str:
    """Runs of one letter squeezed to one ("fuuuck" -> "fuck")."""
    return _REPEAT.sub(r"\1", s)


def runs(s: str) -> tuple[int, ...]:
    """The length of each run of one letter ("assess" -> 1, 2, 1, 2), aligned with collapse(s)."""
    out: list[int] = []
    prev = ""
    for ch in s:
        if ch == prev:
            out[-1] += 1
        else:
            out.append(1)
            prev = ch
    return tuple(out)


# --- Hangul ------------------------------------------------------------------------------------

_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7a3\ud7b0-\ud7ff]")
_NOT_JAMO = re.compile("[^\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff]+")
CHOSEONG = "\u1100-\u115e\ua960-\ua97c"
JUNGSEONG = "\u1161-\u11a7\ud7b0-\ud7c6"
JONGSEONG = "\u11a8-\u11ff\ud7cb-\ud7fb"
# A vowel with no initial before it ("씨ㅡ발": the ㅡ is a dash, not a syllable).
_ORPHAN_VOWEL = re.compile(f"(?<![{CHOSEONG}])[{JUNGSEONG}]+")
# A syllable stretched by a silent-ㅇ echo of its own vowel: 씨이이발 -> 씨발, 바알 -> 발.
_ECHO = re.compile("([\u1161-\u1175])(?:\u110b\\1)+")
# Final consonant -> the same consonant as an initial (a split-jamo word types finals as initials).
JONG_TO_CHO = {
    "\u11a8": "\u1100", "\u11a9": "\u1101", "\u11ab": "\u1102", "\u11ae": "\u1103", "\u11af": "\u1105",
    "\u11b7": "\u1106", "\u11b8": "\u1107", "\u11ba": "\u1109", "\u11bb": "\u110a", "\u11bc": "\u110b",
    "\u11bd": "\u110c", "\u11be": "\u110e", "\u11bf": "\u110f", "\u11c0": "\u1110", "\u11c1": "\u1111",
    "\u11c2": "\u1112",
}


def has_hangul(s: str) -> bool:
    return _HANGUL.search(s) is not None


def hangul_stream(token: str) -> str:
    """The Hangul of a folded token as conjoining jamo, everything else dropped ("씨1발" -> ᄊ ᅵ ᄇ ᅡ ᆯ).

    Compatibility jamo were already mapped to conjoining ones by NFKC (ㅅ -> ᄉ), and jamo that
    spell a syllable were composed by it, so "ㅅㅣ발" reads 시발; a final typed as a lone initial
    ("씨ㅂㅏㄹ" -> ...ᄅ) is matched by the filter's patterns."""
    if _HANGUL.search(token) is None:
        return ""
    d = _NOT_JAMO.sub("", unicodedata.normalize("NFD", token))
    d = _ORPHAN_VOWEL.sub("", d)
    return _ECHO.sub(r"\1", d)


# --- Tokens ------------------------------------------------------------------------------------

_LEET_SYMBOLS = frozenset("@$!")
_NOT_JAMO_OR_SPACE = re.compile("[^\u1100-\u11ff\ua960-\ua97f\ud7b0-\ud7ff ]+")


def _is_noise(token: str) -> bool:
    """A token of punctuation only (".", "-", "//"): it separates nothing for the filter."""
    return not any(ch.isalnum() or ch in _LEET_SYMBOLS for ch in token)


@dataclass(frozen=True, slots=True)
class Piece:
    """One unit the filter reads: a token, or a run of single-character tokens joined ("f u c k"),
    with its Hangul stream (see hangul_stream; "" when it has no Hangul)."""

    text: str
    hangul: str
    joined: bool
    # The next token is the auxiliary 있다 ("불이 꺼져 있어요", the light is off): a verb before it
    # describes a state, so it is no imperative ("꺼져!" is one).
    before_aux: bool = False


def _jamo_tokens(folded: str, count: int) -> list[str]:
    """hangul_stream of every space-separated token of `folded`, computed over the whole text at once."""
    if _HANGUL.search(folded) is None:
        return [""] * count
    d = _NOT_JAMO_OR_SPACE.sub("", unicodedata.normalize("NFD", folded))
    streams = _ECHO.sub(r"\1", _ORPHAN_VOWEL.sub("", d)).split(" ")
    if len(streams) != count:  # never expected (NFD keeps spaces as they are); token by token then
        return [hangul_stream(t) for t in folded.split(" ")]
    return streams


def pieces(folded: str) -> list[Piece]:
    """Tokens of folded text (split on its spaces), plus each run of two or more one-character
    tokens joined ("f u c k", "시 발", "ㅅ ㅂ")."""
    raw = folded.split(" ")
    streams = _jamo_tokens(folded, len(raw))
    tokens = [(t, h) for t, h in zip(raw, streams, strict=True) if t and not _is_noise(t)]
    out = [Piece(t, h, False, i + 1 < len(tokens) and tokens[i + 1][0].startswith("있"))
           for i, (t, h) in enumerate(tokens)]
    run: list[tuple[str, str]] = []
    for t, h in [*tokens, ("", "")]:
        if len(t) == 1:
            run.append((t, h))
            continue
        if len(run) >= 2:
            joined = "".join(h for _, h in run)
            out.append(Piece("".join(t for t, _ in run), _ECHO.sub(r"\1", joined) if joined else "", True))
        run = []
    return out
