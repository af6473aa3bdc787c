"""What people type (chat lines, answers), cleaned once the same way: NFC, no control or invisible
format characters, no lone surrogates (PostgreSQL refuses them, and one such answer would fail a
whole batch of a class's answers, stored together), newlines only where a line may have them."""
from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2064\ufeff"
                        r"\ud800-\udfff]")
_NEWLINES = re.compile(r"\n{3,}")


def clean_typed(raw: str, *, multiline: bool = False) -> str:
    text = unicodedata.normalize("NFC", _INVISIBLE.sub("", raw.replace("\r\n", "\n")))
    text = _NEWLINES.sub("\n\n", text) if multiline else text.replace("\n", " ").replace("\t", " ")
    return text.strip()
