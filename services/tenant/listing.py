"""How tenant's list endpoints page: `limit` with either `offset` (page numbers; `total` counts
every match) or `cursor` (keyset pagination from `megacity.pagination`: pass the previous page's
`next_cursor`; stable while rows are added or removed). Each listing's key is its ORDER BY.

Routes take the query parameters (`OFFSET`, `CURSOR`) and hand a `PageRequest` to the service;
the service decodes the cursor (`after`), its query reads `limit + 1` rows, and `page` makes the
`Page` the route maps to its schema.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from fastapi import Query

from megacity.errors import AppError
from megacity.http_app import problems
from megacity.pagination import Keyset, offset_query
from megacity.runtime import Resources

OFFSET = offset_query("Rows to skip (page numbers; instead of `cursor`)")
CURSOR = Query(None, description="`next_cursor` of the previous page (instead of `offset`)")
NEXT_CURSOR_DOC = "Pass as `cursor` for the next page; null on the last page"
PAGING_ERRORS = problems((400, "request.invalid_cursor", "A cursor this listing did not issue"),
                         (422, "request.invalid", "Both `cursor` and `offset` were given"))

Row = TypeVar("Row")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int = 0
    cursor: str | None = None


@dataclass(frozen=True)
class Listed(Generic[Row]):
    """What a listing query read: up to `limit + 1` rows, and how many match in all."""

    rows: list[Row]
    total: int


@dataclass(frozen=True)
class Page(Generic[Row]):
    items: list[Row]
    total: int
    next_cursor: str | None


def listed(rows: Sequence[Any], make: Callable[..., Row]) -> Listed[Row]:
    """Typed rows of a listing query whose rows carry `total` (`count(*) OVER ()`)."""
    return Listed([make(**{k: v for k, v in r._mapping.items() if k != "total"}) for r in rows],
                  rows[0].total if rows else 0)


def after(keyset: Keyset, req: PageRequest, res: Resources) -> tuple[Any, ...] | None:
    """The key values to continue after (None: from `offset`)."""
    values = keyset.decode(req.cursor, res.settings.secret_key)
    if values is not None and req.offset:
        raise AppError(422, "request.invalid", "give either `cursor` or `offset`, not both")
    return values


def page(keyset: Keyset, listed: Listed[Row], req: PageRequest, res: Resources) -> Page[Row]:
    """The page of the `limit + 1` rows read, and its `next_cursor`."""
    items, nxt = keyset.page(listed.rows, req.limit, res.settings.secret_key)
    return Page(items, listed.total, nxt)
