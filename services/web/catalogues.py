"""The pages' message catalogues: what the templates and the Python code ask to translate, and
which msgids a .po file lacks. Each page package has its own `translations/<lang>/<package>.po`
(templates/<package>/ and services/web/<package>/); base.html and error.html are `common`.

    python -m services.web.catalogues check    # missing or untranslated msgids, per file
    python -m services.web.catalogues update [package ...]   # append missing msgids (en: msgstr = msgid; ko: empty)
"""
from __future__ import annotations

import io
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.pofile import read_po, write_po
from jinja2.ext import babel_extract

from services.web.i18n import LANGUAGES, TRANSLATIONS

WEB = Path(__file__).parent
TEMPLATES = WEB / "templates"
KEYWORDS = {"_": None, "gettext": None, "N_": None}


def package_of(path: Path) -> str:
    rel = path.relative_to(WEB)
    if rel.parts[0] == "templates":
        return rel.parts[1] if len(rel.parts) > 2 else "common"
    return rel.parts[0] if len(rel.parts) > 1 else "common"


def wanted() -> dict[str, set[str]]:
    """msgids per package, from every template and every page package's Python."""
    found: dict[str, set[str]] = defaultdict(set)
    sources: list[tuple[Path, Any]] = [(p, babel_extract) for p in TEMPLATES.rglob("*.html")]
    sources += [(p, "python") for p in WEB.rglob("*.py") if "tests" not in p.parts]
    for path, method in sources:
        with path.open("rb") as fh:
            for _line, message, _comments, _context in extract(method, fh, KEYWORDS,  # type: ignore[arg-type]
                                                               options={"extensions": "jinja2.ext.i18n"}):
                if isinstance(message, str) and message:
                    found[package_of(path)].add(message)
    return found


def read(lang: str, package: str) -> Catalog:
    path = TRANSLATIONS / lang / f"{package}.po"
    if not path.exists():
        return Catalog(locale=lang)
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


def problems() -> list[str]:
    """Every msgid used but missing, or untranslated, in either language (all files together)."""
    out = []
    for package, ids in sorted(wanted().items()):
        for lang in LANGUAGES:
            known = {m.id: m.string for cat in (read(lang, p) for p in {package, "common"}) for m in cat if m.id}
            for msgid in sorted(ids):
                if not known.get(msgid):
                    out.append(f"{lang}/{package}.po: {msgid!r} {'missing' if msgid not in known else 'untranslated'}")
    return out


def update(packages: list[str] | None = None) -> None:
    """Appends the missing msgids to the end of each file and leaves everything already there as it
    is (header comment, order, wording), so a diff shows only what was added."""
    found = wanted()
    for package, ids in found.items():
        if packages and package not in packages:
            continue
        for lang in LANGUAGES:
            cat = read(lang, package)
            common = {m.id for m in read(lang, "common") if m.id} if package != "common" else set()
            added = Catalog(locale=lang)
            for msgid in sorted(ids - common):
                if msgid not in cat:
                    added.add(msgid, msgid if lang == "en" else "")
            if not len(added):
                continue
            path = TRANSLATIONS / lang / f"{package}.po"
            path.parent.mkdir(parents=True, exist_ok=True)
            buf = io.BytesIO()
            write_po(buf, added, omit_header=True, width=120)
            before = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" if path.exists() else ""
            path.write_text(before + buf.getvalue().decode("utf-8"), encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] == ["update"]:
        update(sys.argv[2:])
    found = problems()
    print("\n".join(found) or "catalogues complete")
    sys.exit(1 if found else 0)
