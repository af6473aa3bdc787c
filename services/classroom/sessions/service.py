"""The rules of live sessions: who may start one (a teacher of the class, or an org admin), its
code (collision-safe), its life (30 minutes, extendable, ended explicitly or by the clock), and
what the class sees when any of it changes. gRPC to tenant happens before any transaction opens."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.events.outbox import add_event
from megacity.realtime.protocol import CLOSE_SESSION_ENDED
from megacity.runtime import Resources
from megacity.zones import registry
from services.classroom import live_state
from services.classroom.permissions import org_of
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import codes, queries
from services.classroom.sessions.queries import SessionRow
from services.classroom.sessions.schemas import SessionIn, SessionPatch
from services.classroom.teacher_classes import ensure_teaches

NOT_FOUND = (404, "classroom.session_not_found", "No such session in your org")
EXPIRED = (410, "classroom.session_expired", "The session's time is up")
ENDED = (410, "classroom.session_ended", "The session has ended")
ACTIVE = (409, "classroom.session_active", "The class already has an active session")
CODE_UNAVAILABLE = (503, "classroom.code_unavailable", "No session code could be allocated; try again")
TOO_LONG = (422, "classroom.session_too_long", "A session cannot run longer than the maximum")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def not_found(session_id: uuid.UUID | str) -> AppError:
    return AppError(404, "classroom.session_not_found", f"session {session_id} does not exist in your org")


def gone(row: SessionRow) -> AppError:
    if row.live_status(now()) == "expired":
        return AppError(410, "classroom.session_expired", "the session's time is up; start a new one")
    return AppError(410, "classroom.session_ended", "the session has ended")


def join_url(st: ClassroomState, zone_id: int, code: str) -> str:
    domain = registry().zone_by_id(zone_id).domains[0]
    return st.settings.join_url_template.format(domain=domain, code=code)


async def start(res: Resources, st: ClassroomState, principal: Principal, body: SessionIn) -> SessionRow:
    org = org_of(principal)
    await ensure_teaches(res, principal, org, body.class_id)
    started = now()
    values = {"zone_id": principal.zone_id, "org_id": org, "class_id": body.class_id, "teacher_id": principal.user_id,
              "title": body.title, "started_at": started,
              "expires_at": started + dt.timedelta(minutes=st.settings.session_minutes),
              "approve_arrivals": body.approve_arrivals, "friendly_nicknames": body.friendly_nicknames,
              "scoring": body.scoring, "chat_mode": body.chat_mode, "slow_mode_seconds": body.slow_mode_seconds,
              "card_seconds": body.card_seconds, "locked": False}
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        retired = await queries.retire_expired_of_class(s, body.class_id)
        for old in retired:  # the sweeper had not got to them yet
            await ended_event(s, old, "expired")
        try:
            row = await codes.with_fresh_code(s, "idx_session_code_active",
                                              lambda code: queries.insert(s, {**values, "code": code}))
        except IntegrityError as exc:
            if "idx_session_class_active" in str(exc.orig):
                raise AppError(*ACTIVE) from None
            raise
        if row is None:
            raise AppError(*CODE_UNAVAILABLE)
        await queries.add_log(s, row, "started", {"by": str(principal.user_id), "class_id": str(row.class_id)})
        await record_audit(s, schema="classroom", actor=principal, zone_id=row.zone_id, org_id=row.org_id,
                           target_type="session", target_id=row.id, action="classroom.session.started",
                           after={"class_id": str(row.class_id), "title": row.title,
                                  "expires_at": row.expires_at.isoformat()})
        await add_event(s, "classroom", "classroom.session.started", {
            "session_id": str(row.id), "class_id": str(row.class_id), "teacher_id": str(row.teacher_id),
            "code": row.code, "started_at": row.started_at.isoformat(), "expires_at": row.expires_at.isoformat()},
            zone_id=row.zone_id, org_id=row.org_id)
        await publish_state(res, row)
    for old in retired:
        await publish_state(res, old)
        await end_frame(st, old, "expired")
    return row


# KEYS[1] the session's live settings hash, KEYS[2] its code's entry. ARGV: status, ttl, row JSON,
# then the hash's field/value pairs. A session that ended or expired never turns active again,
# whatever order two writers' publishes arrive in.
_PUBLISH_STATE = """
local current = redis.call('HGET', KEYS[1], 'status')
if ARGV[1] == 'active' and (current == 'ended' or current == 'expired') then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[2])
return 1
"""


async def publish_state(res: Resources, row: SessionRow) -> None:
    """With every change (called under the session's row lock, so changes publish in commit
    order): the live settings the WebSocket path reads, and the row by its code (zone-scoped), so
    a join does not ask the database which session a code names."""
    fields = [x for kv in live_state.settings_hash(row).items() for x in kv]
    await res.redis.eval(_PUBLISH_STATE, 2, _keys(res, row).state, code_key(res, row.zone_id, row.code),
                         row.status, live_state.TTL_SECONDS, queries.to_json(row), *fields)


def code_key(res: Resources, zone_id: int, code: str) -> str:
    return res.keys.zone(zone_id, "classroom", "code", code)


def _keys(res: Resources, row: SessionRow) -> live_state.LiveKeys:
    return live_state.LiveKeys(res.keys, live_state.room_of(row.zone_id, row.org_id, row.id))


async def load_for_staff(res: Resources, principal: Principal, session_id: uuid.UUID) -> SessionRow:
    """The session, if the caller runs sessions of its class: RLS hides other orgs' (404), and a
    teacher not assigned to the class gets the same 404."""
    org = org_of(principal)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = await queries.get(s, session_id)
    if row is None:
        raise not_found(session_id)
    try:
        await ensure_teaches(res, principal, org, row.class_id)
    except AppError as err:
        if err.status == 404:
            raise not_found(session_id) from None
        raise
    return row


async def list_sessions(res: Resources, principal: Principal, status: str | None, limit: int) -> list[SessionRow]:
    from megacity.roles import ADMIN_ROLES
    from services.classroom.teacher_classes import teacher_class_ids

    org = org_of(principal)
    classes = None if principal.role in ADMIN_ROLES else await teacher_class_ids(
        res, principal.zone_id, org, principal.user_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        return await queries.list_sessions(s, class_ids=classes, status=status, limit=limit)


Change = dict[str, object] | Callable[[SessionRow], dict[str, object]]


async def _change(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
                  change: Change, kind: str) -> tuple[SessionRow, SessionRow]:
    """Apply a change to an active session under its row lock (`change` may compute the values
    from the locked row), log it, publish the live state before the lock is released (so two
    teachers' changes reach Redis in commit order); returns (before, after)."""
    await load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        before = await queries.get(s, session_id, lock=True)
        if before is None:
            raise not_found(session_id)
        if before.live_status(now()) != "active":
            raise gone(before)
        values = change(before) if callable(change) else change
        after = await queries.update(s, session_id, values) if values else before
        await queries.add_log(s, after, kind, {"by": str(principal.user_id),
                                               **{k: str(v) for k, v in values.items()}})
        if after.status != "active":
            await ended_event(s, after, "ended")
        if values:
            await record_audit(s, schema="classroom", actor=principal, zone_id=after.zone_id, org_id=after.org_id,
                               target_type="session", target_id=session_id,
                               action=f"classroom.session.{_AUDITED.get(kind, kind)}",
                               before={k: _plain(getattr(before, k, None)) for k in values},
                               after={k: _plain(v) for k, v in values.items()})
        await publish_state(res, after)
    return before, after


_AUDITED = {"settings": "updated"}  # the log's change kinds, as audit verbs


def _plain(value: object) -> object:
    """A JSON-safe summary value (times as ISO text)."""
    return value.isoformat() if isinstance(value, dt.datetime) else value


async def update(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
                 patch: SessionPatch) -> SessionRow:
    values = patch.model_dump(exclude_unset=True, exclude_none=True)  # null: unchanged
    _, row = await _change(res, st, principal, session_id, values, "settings")
    if values:
        await st.log().publish(live_state.room_of(row.zone_id, row.org_id, row.id), "session_updated",
                               {"changed": sorted(values), "session": public_settings(row)})
    return row


async def extend(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
                 minutes: int) -> SessionRow:
    def longer(row: SessionRow) -> dict[str, object]:  # from the locked row: two extensions add up
        limit = row.started_at + dt.timedelta(minutes=st.settings.max_session_minutes)
        new_expiry = max(row.expires_at, now()) + dt.timedelta(minutes=minutes)
        if new_expiry > limit:
            raise AppError(422, "classroom.session_too_long",
                           f"a session runs at most {st.settings.max_session_minutes} minutes; it can be extended"
                           f" until {limit.isoformat()}")
        return {"expires_at": new_expiry}

    _, row = await _change(res, st, principal, session_id, longer, "extended")
    await st.log().publish(live_state.room_of(row.zone_id, row.org_id, row.id), "session_extended",
                           {"expires_at": row.expires_at.isoformat(), "seconds_left": seconds_left(row)})
    return row


async def end(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID) -> SessionRow:
    _, row = await _change(res, st, principal, session_id, {"status": "ended", "ended_at": now()}, "ended")
    await end_frame(st, row, "ended")
    return row


async def ended_event(s: AsyncSession, row: SessionRow, reason: str) -> None:
    """`classroom.session.ended`, in the transaction that ends the session (the outbox's promise)."""
    await add_event(s, "classroom", "classroom.session.ended", {
        "session_id": str(row.id), "class_id": str(row.class_id), "reason": reason,
        "ended_at": (row.ended_at or now()).isoformat()}, zone_id=row.zone_id, org_id=row.org_id)


async def end_frame(st: ClassroomState, row: SessionRow, reason: str) -> None:
    """The room's last frame: everyone is disconnected (4410)."""
    await st.log().publish(live_state.room_of(row.zone_id, row.org_id, row.id), "session_ended",
                           {"reason": reason}, close=CLOSE_SESSION_ENDED)


def open_homework_of(row: SessionRow) -> tuple[str, dt.datetime] | None:
    """The session's homework code and end while it is open; None once closed or past its end (the
    code is kept in the row until closed, but it no longer works)."""
    if row.homework_code is None or row.homework_until is None or row.homework_until <= now():
        return None
    return row.homework_code, row.homework_until


def seconds_left(row: SessionRow) -> int:
    return max(0, int((row.expires_at - now()).total_seconds())) if row.status == "active" else 0


def public_settings(row: SessionRow) -> dict[str, object]:
    """What every participant may know of the session (no ids of people, no class)."""
    return {"status": row.live_status(now()), "title": row.title, "expires_at": row.expires_at.isoformat(),
            "seconds_left": seconds_left(row), "locked": row.locked, "scoring": row.scoring,
            "chat_mode": row.chat_mode, "slow_mode_seconds": row.slow_mode_seconds, "card_seconds": row.card_seconds,
            "friendly_nicknames": row.friendly_nicknames, "approve_arrivals": row.approve_arrivals}
