"""Chat in a live session: one pipeline for every message — length and character rules, pacing
(token bucket, slow mode), the org's language filter, silent mute, hold-for-approval — before
anything is broadcast. Moderated content is stored (for the teacher) and never broadcast.
The latest 50 visible messages load on connect; teachers hide and unhide."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.realtime.protocol import TO_ALL, TO_STAFF, to_participant
from megacity.runtime import Resources
from services.classroom import live_state
from services.classroom.messages import queries
from services.classroom.messages.limits import ChatLimits
from services.classroom.messages.queries import MessageRow
from services.classroom.moderation.service import moderator_for
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import service as sessions
from services.classroom.sessions.queries import SessionRow
from services.classroom.typed_text import clean_typed

HISTORY = 50
TEACHER_AVATAR = "teacher"
MAX_CHARS = 200
INVALID = (422, "classroom.message_invalid", "A message is 1–200 characters")
REJECTED = (422, "classroom.message_rejected", "The message did not pass the class's language filter")
RATE = (429, "classroom.chat_rate_limited", "Too many messages; wait a moment")
CHAT_OFF = (409, "classroom.chat_off", "Chat is off in this session")
MESSAGE_NOT_FOUND = (404, "classroom.message_not_found", "No such message in this session")


@dataclass(frozen=True)
class Sender:
    participant_id: uuid.UUID | None  # None: a teacher
    nickname: str
    avatar: str

    @property
    def staff(self) -> bool:
        return self.participant_id is None


def clean_body(raw: Any) -> str:
    if not isinstance(raw, str):
        raise AppError(*INVALID)
    body = clean_typed(raw, multiline=True)
    if not 1 <= len(body) <= MAX_CHARS:
        raise AppError(422, "classroom.message_invalid", f"a message is 1–{MAX_CHARS} characters")
    return body


def frame(row: MessageRow, avatar: str) -> dict[str, Any]:
    return {"id": str(row.id), "body": row.body, "at": row.created_at.isoformat(), "status": row.status,
            "author": {"participant_id": str(row.participant_id) if row.participant_id else None,
                       "nickname": row.author, "avatar": avatar, "staff": row.participant_id is None}}


def _keys(res: Resources, session: SessionRow) -> live_state.LiveKeys:
    return live_state.LiveKeys(res.keys, live_state.room_of(session.zone_id, session.org_id, session.id))


async def _pace(res: Resources, st: ClassroomState, session: SessionRow, lk: live_state.LiveKeys,
                sender: Sender, slow_seconds: int) -> None:
    limits = ChatLimits(res.redis)
    pid = str(sender.participant_id)
    wait = await limits.wait_ms(lk.room.key(res.keys, "chat-bucket", pid), st.settings.chat_rate_per_second,
                                st.settings.chat_burst)
    if wait:
        raise AppError(429, "classroom.chat_rate_limited", f"too many messages; wait {wait} ms",
                       {"retry_after": max(1, -(-wait // 1000))})
    if not await limits.slow_mode_ok(lk.room.key(res.keys, "chat-slow", pid), slow_seconds):
        raise AppError(429, "classroom.chat_rate_limited", f"slow mode: one message every {slow_seconds} s",
                       {"retry_after": slow_seconds})


async def send(res: Resources, st: ClassroomState, session: SessionRow, sender: Sender, raw: Any,
               live: live_state.LiveSettings | None = None) -> dict[str, Any]:
    """One chat message -> the ack data ({id, status}) for the sender; `live`: the live settings when
    the caller has just read them."""
    body = clean_body(raw)
    lk = _keys(res, session)
    live = live or await live_state.read_settings(res.redis, lk)
    chat_mode = live.chat_mode if live else session.chat_mode
    slow = live.slow_mode_seconds if live else session.slow_mode_seconds
    if chat_mode == "off" and not sender.staff:
        raise AppError(*CHAT_OFF)
    muted = False
    if not sender.staff:
        await _pace(res, st, session, lk, sender, slow)
        muted = bool(await res.redis.sismember(lk.muted, str(sender.participant_id)))
    verdict = (await moderator_for(res, session.zone_id, session.org_id)).check(body)
    if not verdict.allowed:
        status, reason = "hidden", f"filter: {verdict.reason or 'blocked'}"
    elif muted:
        status, reason = "hidden", "muted"
    elif chat_mode == "hold" and not sender.staff:
        status, reason = "held", None
    else:
        status, reason = "visible", None
    ctx = TenantContext(zone_id=session.zone_id, org_id=session.org_id, role="guest")
    async with tenant_transaction(res.db(), ctx) as s:
        row = await queries.insert(s, {"zone_id": session.zone_id, "org_id": session.org_id, "session_id": session.id,
                                       "participant_id": sender.participant_id, "author": sender.nickname[:64],
                                       "body": body, "status": status, "moderated": status != "visible",
                                       "reason": reason})
    out = frame(row, sender.avatar)
    log = st.log()
    if status == "visible":
        await log.publish(lk.room, "chat", out, to=TO_ALL)
    elif status == "held":
        await log.publish(lk.room, "message_held", out, to=TO_STAFF)
    elif reason == "muted":  # silent mute: the sender sees its message as sent, nobody else does
        await log.publish(lk.room, "chat", {**out, "status": "visible"}, to=to_participant(sender.participant_id))
        return {"id": str(row.id), "status": "visible"}
    else:
        await log.publish(lk.room, "message_filtered", {**out, "reason": reason}, to=TO_STAFF)
        raise AppError(422, "classroom.message_rejected",
                       "the message did not pass the class's language filter and was not sent",
                       {"message_id": str(row.id)})
    return {"id": str(row.id), "status": status}


async def history(res: Resources, session: SessionRow, *, staff: bool, participant_id: uuid.UUID | None,
                  limit: int = HISTORY) -> list[dict[str, Any]]:
    """The latest visible messages (a teacher also gets the held ones) for a snapshot."""
    ctx = TenantContext(zone_id=session.zone_id, org_id=session.org_id, role="guest")
    statuses = ("visible", "held") if staff else ("visible",)
    async with tenant_transaction(res.db(), ctx) as s:
        rows = await queries.latest(s, session.id, statuses=statuses, limit=limit)
        faces = await queries.avatars(s, list({r.participant_id for r in rows if r.participant_id}))
    return [frame(r, _avatar(r, faces)) for r in rows]


def _avatar(row: MessageRow, faces: dict[uuid.UUID, str]) -> str:
    return faces.get(row.participant_id, "") if row.participant_id else TEACHER_AVATAR


async def list_for_staff(res: Resources, principal: Principal, session_id: uuid.UUID, status: str | None,
                         limit: int) -> list[MessageRow]:
    await sessions.load_for_staff(res, principal, session_id)
    statuses = (status,) if status else ("visible", "held", "hidden")
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        return await queries.latest(s, session_id, statuses=statuses, limit=limit)


async def moderate(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
                   message_id: uuid.UUID, visible: bool) -> MessageRow:
    """Hide a message (everyone gets `message_hidden`) or show a held/hidden one (`chat`)."""
    session = await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        changed = await queries.set_status(s, session_id, message_id, "visible" if visible else "hidden",
                                           moderated=not visible)
    if changed is None:
        raise AppError(*MESSAGE_NOT_FOUND)
    row, before = changed
    lk = _keys(res, session)
    if visible and before != "visible":
        async with tenant_transaction(res.db(), principal.tenant()) as s:
            faces = await queries.avatars(s, [row.participant_id] if row.participant_id else [])
        await st.log().publish(lk.room, "chat", frame(row, _avatar(row, faces)))
    elif not visible and before == "visible":
        await st.log().publish(lk.room, "message_hidden", {"id": str(row.id)})
    return row


async def teacher_send(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
                       body: str) -> dict[str, Any]:
    session = await sessions.load_for_staff(res, principal, session_id)
    if session.live_status(sessions.now()) != "active":
        raise sessions.gone(session)
    return await send(res, st, session, Sender(None, "Teacher", TEACHER_AVATAR), body)
