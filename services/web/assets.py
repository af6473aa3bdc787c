"""The pages' own files (CSS, JS, vendored htmx/uPlot) under /static/<version>/...: the version
is a hash of the whole tree, so a deploy changes every URL and browsers may keep each file for a
year. Relative imports between modules stay inside one version."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).with_name("static").resolve()
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
               ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json"}


@lru_cache(maxsize=1)
def version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def asset_url(path: str) -> str:
    return f"/static/{version()}/{path}"


def asset_file(path: str) -> Path | None:
    """The file for `path`, never outside static/ (no `..`, no symlink escape), served types only."""
    candidate = (STATIC / path).resolve()
    if not candidate.is_relative_to(STATIC) or not candidate.is_file() or candidate.suffix not in MEDIA_TYPES:
        return None
    return candidate
