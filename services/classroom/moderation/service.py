"""The rules of an org's moderation words, and the per-process cache of each org's compiled
`Moderator` that chat and join use (`moderator_for`).

Compiling a moderator takes a few milliseconds and a chat line must be checked in microseconds,
so each process keeps one per org for `CACHE_SECONDS`: a write here drops this process's copy
at once; other replicas pick the change up within the TTL. An org with no words of its own
shares the built-in moderator.
"""
from __future__ import annotations

import asyncio
import time
import uuid

from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.classroom.moderation import queries
from services.classroom.moderation.filter import Moderator, Word, validate_word, word_key
from services.classroom.moderation.queries import WordRow
from services.classroom.permissions import org_of

CACHE_SECONDS = 30.0
INVALID = (422, "classroom.moderation_word_invalid", "A word is 1-40 letters of one script matching its lang")
NOT_FOUND = (404, "classroom.moderation_word_not_found", "Your org has no such word")

_cache: dict[tuple[int, uuid.UUID], tuple[float, Moderator]] = {}
_locks: dict[tuple[int, uuid.UUID], asyncio.Lock] = {}
# Bumped by every write: a load that began before a write does not cache what it read.
_generation: dict[tuple[int, uuid.UUID], int] = {}


def _context(principal: Principal) -> TenantContext:
    return TenantContext(zone_id=principal.zone_id, org_id=org_of(principal), role=principal.role,
                         user_id=principal.user_id)


def _forget(zone_id: int, org_id: uuid.UUID) -> None:
    key = (zone_id, org_id)
    _generation[key] = _generation.get(key, 0) + 1
    _cache.pop(key, None)


def forget_all() -> None:
    """Drop every cached moderator (tests)."""
    _cache.clear()


async def list_words(res: Resources, principal: Principal) -> list[WordRow]:
    ctx = _context(principal)
    assert ctx.org_id is not None
    async with tenant_transaction(res.db(), ctx) as s:
        return await queries.list_words(s, ctx.zone_id, ctx.org_id)


async def put_word(res: Resources, principal: Principal, word: str, lang: str, kind: str) -> tuple[WordRow, bool]:
    """Add the word or change how it is matched; the row and whether it is new."""
    ctx = _context(principal)
    assert ctx.org_id is not None
    try:
        stored = validate_word(word, lang)  # type: ignore[arg-type]
    except ValueError as exc:
        raise AppError(422, "classroom.moderation_word_invalid", str(exc)) from None
    async with tenant_transaction(res.db(), ctx) as s:
        result = await queries.upsert_word(s, ctx.zone_id, ctx.org_id, stored, lang, kind, principal.user_id)
        await record_audit(s, schema="classroom", actor=principal, zone_id=ctx.zone_id, org_id=ctx.org_id,
                           target_type="moderation_word", target_id=word_key(stored),
                           action="classroom.moderation_word.put", after={"word": stored, "lang": lang, "kind": kind,
                                                                          "new": result[1]})
    _forget(ctx.zone_id, ctx.org_id)
    return result


async def delete_word(res: Resources, principal: Principal, word: str) -> None:
    ctx = _context(principal)
    assert ctx.org_id is not None
    async with tenant_transaction(res.db(), ctx) as s:
        deleted = await queries.delete_word(s, ctx.zone_id, ctx.org_id, word_key(word))
        if deleted:
            await record_audit(s, schema="classroom", actor=principal, zone_id=ctx.zone_id, org_id=ctx.org_id,
                               target_type="moderation_word", target_id=word_key(word),
                               action="classroom.moderation_word.deleted", before={"word": word})
    _forget(ctx.zone_id, ctx.org_id)
    if not deleted:
        raise AppError(404, "classroom.moderation_word_not_found", f"your org has no moderation word {word!r}")


async def moderator_for(res: Resources, zone_id: int, org_id: uuid.UUID) -> Moderator:
    """The org's moderator (built-in lists plus its words), cached per process for CACHE_SECONDS.

    Reads as the org itself (RLS tenant policy), so anonymous chat and join may call it."""
    key = (zone_id, org_id)
    hit = _cache.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    lock = _locks.setdefault(key, asyncio.Lock())
    async with lock:  # one load per org at a time, however many messages arrive meanwhile
        hit = _cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        generation = _generation.get(key, 0)
        async with tenant_transaction(res.db(), TenantContext(zone_id=zone_id, org_id=org_id)) as s:
            rows = await queries.list_words(s, zone_id, org_id)
        words = [Word(r.word, r.lang, r.kind) for r in rows]  # type: ignore[arg-type]
        moderator = Moderator.with_org_words(words) if words else Moderator.builtin()
        if _generation.get(key, 0) == generation:
            _cache[key] = (time.monotonic() + CACHE_SECONDS, moderator)
        return moderator
