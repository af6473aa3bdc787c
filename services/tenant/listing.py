"""How tenant's list endpoints page: `limit` with either `offset` (page numbers; `total` counts
every match) or `cursor` (keyset pagination from `megacity.pagination`: pass the previous page's
`next_cursor`; stable while rows are added or removed). Each listing's key is its ORDER BY."""
from __future__ import annotations

from typing import Any

from fastapi import Query

from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.pagination import Keyset, offset_query
from megacity.runtime import Resources

OFFSET = offset_query("Rows to skip (page numbers; instead of `cursor`)")
CURSOR = Query(None, description="`next_cursor` of the previous page (instead of `offset`)")
NEXT_CURSOR_DOC = "Pass as `cursor` for the next page; null on the last page"
PAGING_ERRORS = {**problem_response(400, "request.invalid_cursor", "A cursor this listing did not issue"),
                 **problem_response(422, "request.invalid", "Both `cursor` and `offset` were given")}


def after(keyset: Keyset, cursor: str | None, offset: int, res: Resources) -> tuple[Any, ...] | None:
    """The key values to continue after (None: from `offset`)."""
    values = keyset.decode(cursor, res.settings.secret_key)
    if values is not None and offset:
        raise AppError(422, "request.invalid", "give either `cursor` or `offset`, not both")
    return values


def page(keyset: Keyset, rows: Any, limit: int, res: Resources) -> tuple[list[Any], str | None]:
    """The page of the `limit + 1` rows read, and its `next_cursor`."""
    return keyset.page(rows, limit, res.settings.secret_key)
