"""Korean and English: gettext catalogues (Babel) read from translations/<lang>/*.po at start,
one .po per page package, merged per language. msgids are the English text; the en catalogue
repeats them so a missing translation is visible (tests/test_catalogues.py fails on it)."""
from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("ko", "en")
TRANSLATIONS = Path(__file__).with_name("translations")
LANG_COOKIE = "mc_lang"


def N_(message: str) -> str:
    """Marks a Python string for extraction; it is translated where it is rendered."""
    return message


def catalogue(lang: str) -> Catalog:
    """Every `translations/<lang>/*.po` merged into one catalogue."""
    merged = Catalog(locale=lang, domain="messages")
    for po in sorted((TRANSLATIONS / lang).glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=lang):
                if message.id:
                    merged.add(message.id, message.string, context=message.context)
    return merged


@cache
def translations(lang: str) -> Translations:
    buf = io.BytesIO()
    write_mo(buf, catalogue(lang))
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


def accepted(header: str) -> list[str]:
    """Accept-Language's tags, most wanted first (q-values; q=0 means not at all)."""
    ranked = []
    for n, part in enumerate(header.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if tag and tag != "*" and q > 0:
            ranked.append((-q, n, tag.strip().replace("-", "_")))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(query: str | None, cookie: str | None, accept_language: str | None, default: str) -> str:
    """?lang= first (a switch), then the mc_lang cookie, then Accept-Language, then `default`."""
    for choice in (query, cookie):
        if choice in LANGUAGES:
            return choice
    if accept_language:
        best = Locale.negotiate(accepted(accept_language), list(LANGUAGES), sep="_")
        if best is not None:
            return best.language
    return default
