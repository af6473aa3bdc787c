"""Text PostgreSQL cannot hold is refused once, for every service, before any handler runs.

PostgreSQL `text` has no NUL character and UTF-8 has no lone surrogates (`"\\ud800"` is valid
JSON); either reaching the database or a gRPC peer used to end in a 500. This middleware checks
the path, the query string and JSON or form-urlencoded bodies and answers
`422 request.invalid` with the location of the first bad value, the same problem shape as any
other validation error. Multipart bodies are parsed by their endpoints (kzone's upload stream,
the import endpoints), which apply `is_storable` to names and fields.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from megacity.errors import AppError
from megacity.request_limits import MAX_QUERY_BYTES, QUERY_TOO_LONG, json_shape_error

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ERROR_TYPE = "string_unstorable"
_ERROR_MSG = "text must not contain NUL characters or unpaired surrogates"


def is_storable(value: str) -> bool:
    """True when PostgreSQL text (and UTF-8) can hold `value`."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unstorable_error(loc: list[Any]) -> AppError:
    """The 422 a handler raises for a value `is_storable` refused (multipart fields, file names)."""
    return AppError(422, "request.invalid", "request failed validation",
                    {"errors": [{"loc": loc, "msg": _ERROR_MSG, "type": _ERROR_TYPE}]})


def first_unstorable(value: Any, loc: list[Any]) -> list[Any] | None:
    """The location of the first string (key or value) in a parsed JSON document that
    `is_storable` refuses; iterative, so a deeply nested document cannot exhaust the stack."""
    stack: list[tuple[Any, list[Any]]] = [(value, loc)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if not is_storable(item):
                return where
        elif isinstance(item, dict):
            for k, v in item.items():
                if not is_storable(k):
                    return [*where, k.encode("utf-8", "backslashreplace").decode()]
                stack.append((v, [*where, k]))
        elif isinstance(item, list):
            stack.extend((v, [*where, i]) for i, v in enumerate(item))
    return None


def _first_bad_pair(pairs: list[tuple[str, str]], part: str) -> list[Any] | None:
    for name, value in pairs:
        if not is_storable(name) or not is_storable(value):
            return [part, name.replace("\x00", "\\x00")]
    return None


def _content_kind(scope: Scope) -> str | None:
    for k, v in scope["headers"]:
        if k == b"content-type":
            media = v.split(b";", 1)[0].strip().lower()
            if media == b"application/json" or (media.startswith(b"application/") and media.endswith(b"+json")):
                return "json"
            if media == b"application/x-www-form-urlencoded":
                return "form"
            return None
    return None


# JSON and form bodies are read whole (here and by FastAPI): past this size they are refused with
# 413 `request.too_large` before anything is buffered beyond it. Uploads are multipart, streamed
# by their own handlers under their own limits; the edge sets no body limit (it would buffer them).
MAX_BUFFERED_BODY_BYTES = 16 * 1024 * 1024
TOO_LARGE = (413, "request.too_large", f"JSON and form bodies are limited to {MAX_BUFFERED_BODY_BYTES // 2**20} MB")


class BodyTooLarge(Exception):
    """A JSON or form body over MAX_BUFFERED_BODY_BYTES."""


class RequestTextGuard:
    """Pure ASGI: only JSON and form bodies are buffered (FastAPI reads those whole anyway).
    The shape limits of megacity.request_limits are judged here too, on the same buffered body,
    after the text checks: one read and one replay per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        bad = self._check_url(scope)
        kind = _content_kind(scope) if bad is None and scope["method"] in _BODY_METHODS else None
        body = b""
        if kind is not None:
            try:
                messages, body = await _read_body(scope, receive)
            except BodyTooLarge:
                await send_problem(scope, send, AppError(*TOO_LARGE))
                return
            bad = _check_body(kind, body)
            receive = replay(messages, receive)
        if bad is not None:
            await send_problem(scope, send, unstorable_error(bad))
            return
        shape = QUERY_TOO_LONG if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES else None
        if shape is None and kind == "json":
            shape = json_shape_error(body)
        if shape is not None:
            await send_problem(scope, send, AppError(*shape))
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _check_url(scope: Scope) -> list[Any] | None:
        if not is_storable(scope["path"]):
            return ["path"]
        qs = scope.get("query_string", b"")
        if b"%" in qs or b"\x00" in qs:
            return _first_bad_pair(parse_qsl(qs.decode("latin-1"), keep_blank_values=True), "query")
        return None


def _check_body(kind: str, body: bytes) -> list[Any] | None:
    if kind == "form":
        return _first_bad_pair(parse_qsl(body.decode("latin-1"), keep_blank_values=True), "body")
    # Only escapes (\\u0000, \\ud800) or raw surrogate bytes (json.loads decodes bytes with
    # surrogatepass) can produce a bad string: most bodies skip the parse.
    if b"\\u" not in body and b"\xed" not in body:
        return None
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the endpoint answers its own 422 for JSON it cannot parse
    return first_unstorable(doc, ["body"])


def _declared_length(scope: Scope) -> int:
    for k, v in scope.get("headers", []):
        if k == b"content-length":
            return int(v) if v.isdigit() else 0
    return 0


async def _read_body(scope: Scope, receive: Receive) -> tuple[list[Message], bytes]:
    if _declared_length(scope) > MAX_BUFFERED_BODY_BYTES:
        raise BodyTooLarge
    messages: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BUFFERED_BODY_BYTES:
            raise BodyTooLarge
        if not message.get("more_body", False):
            break
    return messages, b"".join(chunks)


def replay(messages: list[Message], receive: Receive) -> Receive:
    """`receive` giving back the buffered `messages` first, so the app reads the body unchanged."""
    async def next_message() -> Message:
        if messages:
            return messages.pop(0)
        return await receive()

    return next_message


async def send_problem(scope: Scope, send: Send, err: AppError) -> None:
    """`err` as a problem+json response, from a pure ASGI guard (before the app's handlers)."""
    body = json.dumps(err.problem(scope["path"].replace("\x00", "\\x00"))).encode()
    await send({"type": "http.response.start", "status": err.status,
                "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
