"""Nickname rules for anonymous participants, and a friendly-nickname generator.

A nickname is what classmates see, so it goes through the same moderation as chat, and it must
be the same string however the device typed it: NFC (a Hangul name typed as jamo and one typed
as syllables are one name), trimmed, inner whitespace collapsed, 1-20 user-perceived
characters (an emoji is one), nothing invisible (zero-width, control, Hangul filler), no links
or e-mail addresses. `key` (NFKC + casefold) is what "unique in the session" compares, so
"Mina", "MINA" and "ｍｉｎａ" are one seat.
"""
from __future__ import annotations

import random
import re
import unicodedata

from megacity.errors import AppError
from services.classroom.moderation.filter import Moderator
from services.classroom.moderation.normalize import INVISIBLE

MAX_CHARS = 20
# 20 characters can be many code points (a family emoji is 5, a kiss 8); this bounds the stored text.
MAX_CODE_POINTS = 160
MAX_MARKS = 3  # combining marks on one character: accents yes, "Zalgo" text no
_ZWJ = 0x200D
_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.|[^\s@]+@[^\s@]+\.[^\s@]{2,}|"
                  r"\b[a-z0-9-]+\.(?:com|net|org|kr|io|co|me|gg|ly|xyz|app|dev|info|biz|tv|site|link|to)\b)",
                  re.IGNORECASE)
# Names that would pass for staff in the chat.
_RESERVED = frozenset({"teacher", "선생님", "admin", "관리자", "moderator", "system", "시스템"})


def _invalid(detail: str) -> AppError:
    return AppError(422, "classroom.nickname_invalid", detail)


def _is_extend(ch: str, prev: str) -> bool:
    """Whether `ch` continues the character before it (an approximation of Unicode grapheme
    clusters, enough to count emoji, skin tones, keycaps and combining marks as one)."""
    cp = ord(ch)
    if unicodedata.category(ch) in ("Mn", "Me", "Mc") or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F:
        return True
    if cp == _ZWJ or (prev != "" and ord(prev) == _ZWJ):
        return True
    return 0x1160 <= cp <= 0x11FF  # a conjoining vowel or final after an initial (old Hangul)


def char_count(s: str) -> int:
    """User-perceived characters: "🦊", "🇰🇷" and "👨‍👩‍👧" are one each, "한글" is two."""
    count, prev, flag_open = 0, "", False
    for ch in s:
        if 0x1F1E6 <= ord(ch) <= 0x1F1FF:  # regional indicators pair up into flags
            count += 0 if flag_open else 1
            flag_open = not flag_open
        else:
            flag_open = False
            if not _is_extend(ch, prev):
                count += 1
        prev = ch
    return count


def _refused_char(s: str) -> str | None:
    """The first invisible or control character in `s` (a joiner between two emoji is fine)."""
    for i, ch in enumerate(s):
        cp = ord(ch)
        cat = unicodedata.category(ch)
        if cp in INVISIBLE or cat in ("Cc", "Co", "Cs", "Cn"):
            return ch
        if cat == "Cf":
            if 0xE0020 <= cp <= 0xE007F:
                continue  # emoji tag sequence (subdivision flags)
            before = next((c for c in reversed(s[:i]) if unicodedata.category(c) not in ("Mn", "Me")), "")
            after = s[i + 1:i + 2]
            if cp == _ZWJ and before and after and unicodedata.category(before) == "So" \
                    and unicodedata.category(after) == "So":
                continue
            return ch
    return None


def _too_many_marks(s: str) -> bool:
    marks = 0
    for ch in s:
        marks = marks + 1 if unicodedata.category(ch) in ("Mn", "Me") and not 0xFE00 <= ord(ch) <= 0xFE0F else 0
        if marks > MAX_MARKS:
            return True
    return False


def nickname_key(nickname: str) -> str:
    """The uniqueness key of a (clean) nickname: NFKC, casefolded, NFC."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", nickname).casefold())


def clean_nickname(raw: str, moderator: Moderator | None = None) -> tuple[str, str]:
    """The nickname as shown and its uniqueness key; AppError 422 `classroom.nickname_invalid`
    when it breaks a rule, `classroom.nickname_rejected` when moderation blocks it (the org's
    moderator from service.moderator_for; the built-in lists when None)."""
    s = unicodedata.normalize("NFC", raw)
    s = " ".join(s.split())  # trims, and every inner run of (Unicode) whitespace becomes one space
    bad = _refused_char(s)
    if bad is not None:
        raise _invalid(f"a nickname may not contain invisible or control characters (U+{ord(bad):04X})")
    n = char_count(s)
    if n < 1:
        raise _invalid("a nickname is required")
    if n > MAX_CHARS or len(s) > MAX_CODE_POINTS:
        raise _invalid(f"a nickname is at most {MAX_CHARS} characters")
    if _too_many_marks(s):
        raise _invalid(f"a character may carry at most {MAX_MARKS} combining marks")
    if not any(unicodedata.category(ch)[0] in "LNS" for ch in s):
        raise _invalid("a nickname needs at least one letter, digit or emoji")
    if _URL.search(s):
        raise _invalid("a nickname may not be a link or an e-mail address")
    key = nickname_key(s)
    if key in _RESERVED:
        raise _invalid(f"the nickname {s!r} is reserved")
    verdict = (moderator or Moderator.builtin()).check(s)
    if not verdict.allowed:
        raise AppError(422, "classroom.nickname_rejected", "this nickname is not allowed; please choose another")
    return s, key


_ADJECTIVES_EN = (
    "Brave", "Calm", "Clever", "Curious", "Eager", "Gentle", "Happy", "Jolly", "Kind", "Lucky", "Mighty",
    "Nimble", "Polite", "Proud", "Quick", "Quiet", "Swift", "Sunny", "Witty", "Bright", "Bold", "Cheerful",
    "Daring", "Friendly", "Honest", "Lively", "Merry", "Noble", "Patient", "Smart",
)
_ANIMALS_EN = (
    "Otter", "Panda", "Fox", "Owl", "Tiger", "Rabbit", "Dolphin", "Koala", "Penguin", "Turtle", "Falcon",
    "Badger", "Beaver", "Hedgehog", "Lynx", "Moose", "Seal", "Swan", "Whale", "Zebra", "Llama", "Lemur",
    "Gecko", "Heron", "Robin", "Bison", "Deer", "Puffin", "Squirrel", "Sparrow",
)
_ADJECTIVES_KO = (
    "용감한", "씩씩한", "똑똑한", "친절한", "행복한", "즐거운", "귀여운", "빠른", "조용한", "부지런한", "상냥한",
    "명랑한", "든든한", "지혜로운", "다정한", "활발한", "반짝이는", "신나는", "멋진", "착한", "너그러운", "당당한",
    "침착한", "유쾌한", "기운찬", "느긋한", "영리한", "포근한", "날쌘", "밝은",
)
_ANIMALS_KO = (
    "수달", "판다", "여우", "부엉이", "호랑이", "토끼", "돌고래", "코알라", "펭귄", "거북이", "다람쥐", "고슴도치",
    "사슴", "고래", "기린", "사자", "너구리", "햄스터", "참새", "두루미", "오리", "코끼리", "얼룩말", "수리",
    "해달", "물개", "백조", "고양이", "곰", "알파카",
)
LANGS = ("en", "ko")


def friendly_nickname(rng: random.Random, lang: str = "en") -> str:
    """A kind, clean, at most 20-character name: "Brave Otter 27" or "용감한 수달 27". The number
    keeps collisions in a class rare; a caller that still collides draws again."""
    if lang == "ko":
        adjectives, animals = _ADJECTIVES_KO, _ANIMALS_KO
    else:
        adjectives, animals = _ADJECTIVES_EN, _ANIMALS_EN
    return f"{rng.choice(adjectives)} {rng.choice(animals)} {rng.randint(10, 99)}"


def all_friendly_names(lang: str) -> list[str]:
    """Every adjective/animal pair (without the number), for the tests that keep them clean and short."""
    adjectives, animals = (_ADJECTIVES_KO, _ANIMALS_KO) if lang == "ko" else (_ADJECTIVES_EN, _ANIMALS_EN)
    return [f"{a} {b}" for a in adjectives for b in animals]
