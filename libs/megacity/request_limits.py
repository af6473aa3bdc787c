"""Shape limits on what a request may ask the service to parse, for every service.

Size alone does not bound the work: a 16 MB JSON body (the buffered-body limit,
megacity.request_text) can hold a million-element array or a document nested thousands deep,
which the JSON parser, pydantic and the text guard each walk again (a deep one ended in a
RecursionError, a 500). A query string is parsed into every dependency that reads it. So:

- JSON nesting deeper than MAX_JSON_DEPTH: `422 request.too_deep`;
- a JSON array with more than MAX_JSON_ARRAY_ITEMS items: `422 request.too_many_items`;
- a query string over MAX_QUERY_BYTES: `414 request.query_too_long`.

Header size is the edge's (Traefik `maxHeaderBytes`, 431). Most bodies are judged without a
parse: a document with fewer brackets than the depth limit cannot be too deep, one with fewer
commas than the item limit cannot hold too long an array. The checks run in
megacity.request_text's guard, on the body it has already buffered and bounded in size.
"""
from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32
MAX_JSON_ARRAY_ITEMS = 10_000
MAX_QUERY_BYTES = 4096

TOO_DEEP = (422, "request.too_deep", f"JSON bodies may nest at most {MAX_JSON_DEPTH} levels deep")
TOO_MANY_ITEMS = (422, "request.too_many_items", f"JSON arrays may hold at most {MAX_JSON_ARRAY_ITEMS} items")
QUERY_TOO_LONG = (414, "request.query_too_long", f"The query string is limited to {MAX_QUERY_BYTES} bytes")


def json_shape_error(body: bytes) -> tuple[int, str, str] | None:
    """TOO_DEEP or TOO_MANY_ITEMS for a JSON body past a limit; None otherwise (also for a body
    that is not JSON at all: the endpoint answers its own 422 for that)."""
    may_be_deep = body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
    may_be_long = body.count(b",") >= MAX_JSON_ARRAY_ITEMS
    if not (may_be_deep or may_be_long):
        return None
    try:
        doc = json.loads(body)
    except RecursionError:
        return TOO_DEEP
    except ValueError:
        return None
    # Iterative walk: (value, depth of the container holding it).
    stack: list[tuple[Any, int]] = [(doc, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            if len(item) > MAX_JSON_ARRAY_ITEMS:
                return TOO_MANY_ITEMS
            children = item
        else:
            continue
        if depth + 1 > MAX_JSON_DEPTH:
            return TOO_DEEP
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return None
