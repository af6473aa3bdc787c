"""File names: reading them from a multipart upload, and writing them into a download header.

In: browsers send the name as raw UTF-8 inside the quoted `filename` parameter (WHATWG, RFC 7578
§4.2); some clients send RFC 5987/2231 `filename*=UTF-8''%EB%85%B8.wav` instead or as well. The
plain parameter is parsed by python-multipart's `parse_options_header` (the parser Starlette
uses; its bytes are decoded the way Starlette's form parser does: UTF-8, else latin-1), the
extended one by the standard library's RFC 2231 decoder (python-multipart ignores it); when both
are given `filename*` wins. Only the base name is kept (no `a/`, `..\\`, `C:\\`), capped at
`MAX_FILENAME_CHARS` with its extension kept. Whether the name is storable (no NUL, no lone
surrogate) is the caller's check (`megacity.request_text.is_storable`), so it can name the field.

Out: `content_disposition` builds an RFC 6266 header value that is pure ASCII (an ASCII
`filename` fallback plus `filename*=UTF-8''…`), as S3 response headers and any HTTP header need.
"""
from __future__ import annotations

import email.message
import unicodedata
from urllib.parse import quote

MAX_FILENAME_CHARS = 255
_MAX_EXTENSION_CHARS = 16
# RFC 5987 attr-char, besides ALPHA / DIGIT and the "-._~" that `quote` always keeps.
_ATTR_CHAR_EXTRA = "!#$&+^`|"


def decode_form_text(raw: bytes) -> str:
    """Header parameter bytes as text: UTF-8 (what browsers send), else latin-1 (Starlette's
    fallback). UTF-8-encoded surrogates come back as lone surrogates, for `is_storable` to refuse."""
    try:
        return raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _extended_filename(disposition: bytes) -> str | None:
    """The RFC 5987/2231 `filename*` (continuations included) decoded, or None when absent or
    unusable (unknown charset, undecodable bytes, inconsistent continuations)."""
    if b"*" not in disposition:
        return None
    msg = email.message.Message()
    msg["content-disposition"] = disposition.decode("latin-1")
    try:
        params = msg.get_params(header="content-disposition", failobj=[])
    except (TypeError, ValueError):  # e.g. `filename*=` mixed with `filename*0=`
        return None
    for key, value in params[1:]:
        if key.lower() != "filename" or not isinstance(value, tuple):
            continue  # a plain `filename`: python-multipart's
        charset, _language, text = value
        try:
            raw = text.encode("latin-1")  # percent-decoded octets, one character each
            if (charset or "utf-8").lower().replace("_", "-") in ("utf-8", "utf8"):
                return raw.decode("utf-8", "surrogatepass")
            return raw.decode(charset)
        except (LookupError, ValueError):  # unknown or malformed charset, undecodable bytes
            return None
    return None


def base_name(name: str) -> str | None:
    """The last path segment (`/` or `\\`), capped at MAX_FILENAME_CHARS keeping a short
    extension; None when nothing usable is left."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    if name in ("", ".", ".."):
        return None
    if len(name) <= MAX_FILENAME_CHARS:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= _MAX_EXTENSION_CHARS:
        return stem[:MAX_FILENAME_CHARS - len(ext) - 1] + "." + ext
    return name[:MAX_FILENAME_CHARS]


def upload_filename(disposition: bytes, params: dict[bytes, bytes]) -> str | None:
    """A part's file name from its raw Content-Disposition value and python-multipart's parsed
    `params` of it: `filename*` if usable, else `filename`; base name only, length capped."""
    name = _extended_filename(disposition)
    if name is None:
        plain = params.get(b"filename")
        if plain is None:
            return None
        name = decode_form_text(plain)
    return base_name(name)


def _ascii_fallback(filename: str) -> str:
    """A plain-ASCII stand-in for `filename=` (accents dropped, nothing that needs quoting)."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    safe = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_" for c in folded).strip()
    stem, dot, ext = safe.rpartition(".")
    if not dot:
        stem, ext = safe, ""
    if not stem.strip("_ ."):
        stem = "download"
    return f"{stem}.{ext}" if ext else stem


def content_disposition(filename: str, disposition: str = "inline") -> str:
    """An RFC 6266 Content-Disposition value, ASCII only: `filename="…"` alone for a plain ASCII
    name, else an ASCII fallback plus `filename*=UTF-8''<percent-encoded>` (RFC 8187)."""
    fallback = _ascii_fallback(filename)
    if fallback == filename:
        return f'{disposition}; filename="{filename}"'
    encoded = quote(filename.encode("utf-8", "surrogatepass"), safe=_ATTR_CHAR_EXTRA)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
