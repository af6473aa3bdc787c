"""SQL of the vector search over `arena.questions.embedding` (pgvector, cosine distance `<=>`).

Two plans, chosen by `similar.search` (pgvector 0.6.2 has no iterative index scans, and HNSW
filters only after its scan):
- `exact`: `ORDER BY (embedding <=> q) + 0` — the `+ 0` keeps the planner off the HNSW index, so
  it reads the tenant's rows through the B-tree `questions_tenant` and sorts them: exact top k.
- `hnsw`: `ORDER BY embedding <=> q` with `hnsw.ef_search` set for the transaction; the visibility
  filter drops other tenants' rows after the index scan.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.arena.embeddings import literal

Plan = Literal["exact", "hnsw"]


@dataclass(frozen=True)
class Scope:
    """Which questions a search may return: the zone's shared ones, plus `org_id`'s (None:
    shared only), or every org's of the zone (`all_orgs`, zone staff)."""

    zone_id: int
    org_id: uuid.UUID | None
    all_orgs: bool = False
    shared_only: bool = False


@dataclass(frozen=True)
class Neighbour:
    id: uuid.UUID
    similarity: float


def _where(scope: Scope) -> str:
    if scope.shared_only:
        return "q.zone_id = :z AND q.org_id IS NULL"
    if scope.all_orgs:
        return "q.zone_id = :z"
    if scope.org_id is None:
        return "q.zone_id = :z AND q.org_id IS NULL"
    return "q.zone_id = :z AND (q.org_id IS NULL OR q.org_id = :o)"


async def visible_count(s: AsyncSession, scope: Scope) -> int:
    """Questions with an embedding the scope covers."""
    return int((await s.execute(text(
        f"SELECT count(*) FROM arena.questions q WHERE {_where(scope)} AND q.embedding IS NOT NULL"),
        {"z": scope.zone_id, "o": scope.org_id})).scalar() or 0)


async def table_rows(s: AsyncSession) -> int:
    """Rows the HNSW index covers (every zone), from the planner's statistics: RLS hides other
    tenants' rows from a count. -1 before the first ANALYZE."""
    return int((await s.execute(text(
        "SELECT reltuples::bigint FROM pg_class WHERE oid = 'arena.questions'::regclass"))).scalar() or -1)


async def has_played(s: AsyncSession, zone_id: int, user_id: uuid.UUID, question_id: uuid.UUID) -> bool:
    return bool((await s.execute(text(
        "SELECT EXISTS (SELECT 1 FROM arena.round_answers WHERE zone_id = :z AND user_id = :u AND question_id = :q)"),
        {"z": zone_id, "u": user_id, "q": question_id})).scalar())


async def played_among(s: AsyncSession, zone_id: int, user_id: uuid.UUID, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    """Which of `ids` the user has answered in a match round."""
    return {r.question_id for r in (await s.execute(text(
        "SELECT DISTINCT question_id FROM arena.round_answers WHERE zone_id = :z AND user_id = :u"
        " AND question_id = ANY(CAST(:ids AS uuid[]))"), {"z": zone_id, "u": user_id, "ids": [str(i) for i in ids]}))}


async def nearest(s: AsyncSession, scope: Scope, vector: Sequence[float], limit: int, plan: Plan, *,
                  ef_search: int = 40, exclude_ids: Sequence[uuid.UUID] = (),
                  unseen_by: uuid.UUID | None = None) -> list[Neighbour]:
    """Up to `limit` nearest questions of the scope, nearest first, none of `exclude_ids`, and
    (with `unseen_by`) none that user has answered in a round."""
    if plan == "hnsw":
        await s.execute(text("SELECT set_config('hnsw.ef_search', :ef, true)"), {"ef": str(ef_search)})
    order = "(q.embedding <=> CAST(:v AS vector)) + 0" if plan == "exact" else "q.embedding <=> CAST(:v AS vector)"
    seen = (" AND NOT EXISTS (SELECT 1 FROM arena.round_answers ra WHERE ra.zone_id = :z AND ra.user_id = :u"
            " AND ra.question_id = q.id)") if unseen_by is not None else ""
    rows = (await s.execute(text(
        f"SELECT q.id, 1 - (q.embedding <=> CAST(:v AS vector)) AS similarity FROM arena.questions q"
        f" WHERE {_where(scope)} AND q.embedding IS NOT NULL AND NOT (q.id = ANY(CAST(:x AS uuid[]))){seen}"
        f" ORDER BY {order} LIMIT :k"),
        {"z": scope.zone_id, "o": scope.org_id, "v": literal(vector), "x": [str(i) for i in exclude_ids],
         "u": unseen_by, "k": limit})).all()
    return [Neighbour(r.id, float(r.similarity)) for r in rows]
