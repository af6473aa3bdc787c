"""Tenant isolation of every arena table, enforced by PostgreSQL (RLS), as the service's own
database role sees it (NOBYPASSRLS, not the owner):

- zone-level tables (players, ratings, matches, ...): one zone never sees or changes another's;
- questions, categories and their links: an org's rows are that org's; zone-shared rows
  (org_id NULL) are read by the whole zone and written only by zone/super admins;
- the notebook: a player's own rows only.
"""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from megacity.db import TenantContext, tenant_transaction
from services.arena.tests.conftest import OTHER_ZONE, ZONE, ArenaApp


async def _sql(app: ArenaApp, ctx: TenantContext, query: str, **params: object) -> list[object]:
    async with tenant_transaction(app.res.db(), ctx) as s:
        result = await s.execute(text(query), params)
        return list(result.all()) if result.returns_rows else [result.rowcount]  # type: ignore[attr-defined]


def _ctx(zone: int, role: str, org: uuid.UUID | None = None, user: uuid.UUID | None = None) -> TenantContext:
    return TenantContext(zone_id=zone, org_id=org, role=role, user_id=user or uuid.uuid4())


async def _question(app: ArenaApp, ctx: TenantContext, org: uuid.UUID | None, content: str) -> uuid.UUID:
    rows = await _sql(app, ctx, "INSERT INTO arena.questions (zone_id, org_id, type, content, answer)"
                                " VALUES (:z, :o, 'short', :c, '42') RETURNING id", z=ctx.zone_id, o=org, c=content)
    return rows[0][0]  # type: ignore[index,no-any-return]


async def test_questions_are_the_orgs_and_shared_rows_the_zones(arena: ArenaApp) -> None:
    a, b = arena.org_a, arena.org_b
    teacher_a, teacher_b = _ctx(ZONE, "teacher", a), _ctx(ZONE, "teacher", b)
    zone_admin = _ctx(ZONE, "zone_admin")
    mine = await _question(arena, teacher_a, a, "org A's question")
    shared = await _question(arena, zone_admin, None, "a zone-shared question")

    seen_b = {r[0] for r in await _sql(arena, teacher_b, "SELECT id FROM arena.questions")}  # type: ignore[index]
    assert shared in seen_b and mine not in seen_b
    seen_a = {r[0] for r in await _sql(arena, teacher_a, "SELECT id FROM arena.questions")}  # type: ignore[index]
    assert {mine, shared} <= seen_a
    # Org B can neither change nor delete org A's question, nor a shared one.
    for qid in (mine, shared):
        assert await _sql(arena, teacher_b, "UPDATE arena.questions SET content = 'x' WHERE id = :id", id=qid) == [0]
        assert await _sql(arena, teacher_b, "DELETE FROM arena.questions WHERE id = :id", id=qid) == [0]
    # Org A cannot write a zone-shared row, nor one in org B's name.
    for org in (None, b):
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
            await _question(arena, teacher_a, org, "smuggled")
    # Another zone sees nothing of this zone's questions, shared ones included.
    other = {r[0] for r in await _sql(arena, _ctx(OTHER_ZONE, "zone_admin"), "SELECT id FROM arena.questions")}  # type: ignore[index]
    assert not other & {mine, shared}


async def test_zone_level_tables_stay_in_their_zone(arena: ArenaApp) -> None:
    user = uuid.uuid4()
    student = _ctx(ZONE, "student", arena.org_a, user)
    await _sql(arena, student, "INSERT INTO arena.players (zone_id, user_id, org_id, nickname, nickname_key)"
                               " VALUES (:z, :u, :o, 'Minji', 'minji')", z=ZONE, u=user, o=arena.org_a)
    await _sql(arena, student, "INSERT INTO arena.ratings (zone_id, user_id) VALUES (:z, :u)", z=ZONE, u=user)
    # A student of another org in the same zone sees the player (one community per zone).
    neighbour = _ctx(ZONE, "student", arena.org_b)
    assert len(await _sql(arena, neighbour, "SELECT 1 FROM arena.players WHERE user_id = :u", u=user)) == 1
    # Another zone's actors, admins included, neither see nor change it.
    for role in ("student", "zone_admin", "super_admin"):
        other = _ctx(OTHER_ZONE, role, arena.org_a if role == "student" else None)
        for table in ("players", "ratings"):
            assert await _sql(arena, other, f"SELECT 1 FROM arena.{table} WHERE user_id = :u", u=user) == []
            assert await _sql(arena, other, f"DELETE FROM arena.{table} WHERE user_id = :u", u=user) == [0]
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
            await _sql(arena, other, "INSERT INTO arena.players (zone_id, user_id, nickname, nickname_key)"
                                     " VALUES (:z, :u, 'x', 'x')", z=ZONE, u=uuid.uuid4())
    # No context at all: nothing.
    async with arena.res.db()() as s, s.begin():
        assert (await s.execute(text("SELECT count(*) FROM arena.players"))).scalar_one() == 0


async def test_the_notebook_is_personal(arena: ArenaApp) -> None:
    me, classmate = uuid.uuid4(), uuid.uuid4()
    qid = await _question(arena, _ctx(ZONE, "zone_admin"), None, "shared question for notebooks")
    mine = _ctx(ZONE, "student", arena.org_a, me)
    await _sql(arena, mine, "INSERT INTO arena.notebook (zone_id, user_id, question_id, bookmarked)"
                            " VALUES (:z, :u, :q, true)", z=ZONE, u=me, q=qid)
    theirs = _ctx(ZONE, "student", arena.org_a, classmate)
    assert await _sql(arena, theirs, "SELECT 1 FROM arena.notebook") == []
    assert await _sql(arena, theirs, "UPDATE arena.notebook SET bookmarked = false") == [0]
    with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
        await _sql(arena, theirs, "INSERT INTO arena.notebook (zone_id, user_id, question_id)"
                                  " VALUES (:z, :u, :q)", z=ZONE, u=me, q=qid)
    assert len(await _sql(arena, mine, "SELECT 1 FROM arena.notebook")) == 1


async def test_every_arena_table_has_forced_rls(arena: ArenaApp) -> None:
    """A new table without a policy would be readable by every tenant: none may exist."""
    rows = await arena.db.sql(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'arena' AND c.relkind IN ('r', 'p')"
        " AND c.relname NOT IN ('tiers', 'outbox', 'inbox', 'alembic_version')")
    assert rows and all(r[1] and r[2] for r in rows), [r for r in rows if not (r[1] and r[2])]
