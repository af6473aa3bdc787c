"""Both languages on every page: no msgid used by a template or page module is missing or
untranslated in the ko or en catalogue, and the catalogues really differ (ko is Korean)."""
from __future__ import annotations

import re

from services.web.catalogues import problems, wanted
from services.web.i18n import catalogue, translations


def test_no_message_is_missing_or_untranslated_in_either_language() -> None:
    assert wanted(), "extraction found no messages: the extractor is broken"
    missing = problems()
    assert not missing, "\n".join(missing[:50]) + f"\n({len(missing)} in all; `python -m services.web.catalogues update`)"


def test_korean_is_korean_and_english_is_the_source_text() -> None:
    ko, en = catalogue("ko"), catalogue("en")
    hangul = re.compile(r"[\uac00-\ud7a3]")
    # Proper names and codes may stay as they are; prose must be translated.
    def words(text: str) -> list[str]:
        return [w for w in re.sub(r"\{\w+\}", " ", text).split() if w.isalpha()]

    prose = [m for m in ko if m.id and len(words(str(m.id))) >= 3]
    untranslated = [m.id for m in prose if not hangul.search(str(m.string))]
    assert not untranslated, untranslated[:20]
    assert all(m.string == m.id for m in en if m.id), [m.id for m in en if m.id and m.string != m.id][:20]
    assert translations("ko").gettext("Sign in") == "로그인"
