"""Arena nicknames: what every player of the zone sees on leaderboards and in matches.

A nickname is NFC, trimmed with inner whitespace collapsed, 2-20 characters of letters, digits,
spaces, `_`, `-` and `.`; `key` (NFKC + casefold) is what "unique in the zone" compares, so
"Mina" and "ＭＩＮＡ" are one name. A new player gets a generated one ("Swift Otter 4821")."""
from __future__ import annotations

import random
import unicodedata

from megacity.errors import AppError

MIN_CHARS, MAX_CHARS = 2, 20
_EXTRA = frozenset(" _-.")
# Names that would pass for staff or the system in a match.
_RESERVED = frozenset({"admin", "moderator", "system", "arena", "bot", "ghost", "관리자", "운영자"})
_ADJECTIVES = ("Brave", "Calm", "Clever", "Curious", "Eager", "Gentle", "Happy", "Jolly", "Kind", "Lucky",
               "Mighty", "Nimble", "Proud", "Quick", "Quiet", "Swift", "Sunny", "Witty", "Bright", "Bold")
_ANIMALS = ("Otter", "Panda", "Fox", "Owl", "Tiger", "Rabbit", "Dolphin", "Koala", "Penguin", "Turtle",
            "Falcon", "Badger", "Beaver", "Lynx", "Moose", "Seal", "Swan", "Whale", "Zebra", "Llama")


def nickname_key(nickname: str) -> str:
    return unicodedata.normalize("NFC", unicodedata.normalize("NFKC", nickname).casefold())


def clean_nickname(raw: str) -> tuple[str, str]:
    """The nickname as shown and its uniqueness key; 422 `arena.nickname_invalid` otherwise."""
    s = " ".join(unicodedata.normalize("NFC", raw).split())
    if not MIN_CHARS <= len(s) <= MAX_CHARS:
        raise AppError(422, "arena.nickname_invalid", f"a nickname is {MIN_CHARS}-{MAX_CHARS} characters")
    bad = next((ch for ch in s if ch not in _EXTRA and unicodedata.category(ch)[0] not in "LN"), None)
    if bad is not None:
        raise AppError(422, "arena.nickname_invalid",
                       f"a nickname holds letters, digits, spaces, '_', '-' and '.', not {bad!r}")
    key = nickname_key(s)
    if key in _RESERVED:
        raise AppError(422, "arena.nickname_invalid", f"the nickname {s!r} is reserved")
    return s, key


def generated(rng: random.Random) -> str:
    """A friendly name; 8,000 numbers per word pair keep collisions in a zone rare (a caller that
    still collides draws again)."""
    return f"{rng.choice(_ADJECTIVES)} {rng.choice(_ANIMALS)} {rng.randint(1000, 8999)}"
