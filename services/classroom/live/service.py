"""The live session over WebSocket: who is connecting (a participant token, or a teacher's access
token), the snapshot a (re)connecting client starts from, and the frames it may send. The
hello/attach/snapshot/replay order and the fan-out are megacity.realtime's; this module is
classroom's rules on top.

A reconnecting participant (same token) gets its seat back — nickname, points, rank — however
many times it dropped: seats are held for the session's life (well past the 120 s the issue
asks), and the snapshot carries the card on show with the time left, whether it already
answered it, the latest 50 messages, the leaderboard and the log position it resumes from."""
from __future__ import annotations

import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from fastapi import Request
from sqlalchemy import text
from starlette.websockets import WebSocket

from megacity.auth.dependencies import check_zone, token_verifier
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.realtime.connection import Peer
from megacity.realtime.endpoint import Reply
from megacity.realtime.protocol import (
    CLOSE_FORBIDDEN,
    CLOSE_UNAUTHENTICATED,
    TO_STAFF,
    ClientFrame,
    ProtocolError,
    parse_data,
)
from megacity.runtime import Resources
from megacity.zones import Zone
from services.classroom import live_state, participant_tokens
from services.classroom.cards.tally import Tallies
from services.classroom.live import answers
from services.classroom.live.schemas import AnswerIn, ChatIn
from services.classroom.messages import service as messages
from services.classroom.messages.service import Sender
from services.classroom.participants import queries as participant_queries
from services.classroom.participants import service as participants
from services.classroom.participants.queries import ParticipantRow
from services.classroom.permissions import SESSION_RUN
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import codes
from services.classroom.sessions import queries as session_queries
from services.classroom.sessions import service as sessions
from services.classroom.sessions.queries import SessionRow
from services.classroom.teacher_classes import ensure_teaches

WRONG_SESSION = (403, "classroom.wrong_session", "This participant token belongs to another session")
PENDING = (403, "classroom.participant_pending", "The teacher has not let you in yet")
LIVE_ONLY = (403, "classroom.live_only", "A homework participant cannot join the live session")
UNKNOWN = (400, "classroom.unknown_frame", "Unknown frame type")


# One SessionRow object per session in this process, shared by its connections (a thousand
# sockets of one session would otherwise hold a thousand copies: ~1 KB each).
_SESSIONS: weakref.WeakValueDictionary[uuid.UUID, SessionRow] = weakref.WeakValueDictionary()


def shared(row: SessionRow) -> SessionRow:
    known = _SESSIONS.get(row.id)
    if known is not None and known == row:
        return known
    _SESSIONS[row.id] = row
    return row


@dataclass(slots=True)
class Live:
    """What a connection knows of itself (Peer.extra)."""

    session: SessionRow
    participant: ParticipantRow | None
    principal: Principal | None

    @property
    def sender(self) -> Sender:
        p = self.participant
        return Sender(p.id, p.nickname, p.avatar) if p else Sender(None, "Teacher", messages.TEACHER_AVATAR)


def live_of(peer: Peer) -> Live:
    return cast(Live, peer.extra)


async def authenticate(res: Resources, websocket: WebSocket, zone: Zone, raw_code: str,
                       hello: Mapping[str, Any]) -> Peer:
    token = hello.get("token")
    if not isinstance(token, str) or not token:
        raise ProtocolError(CLOSE_UNAUTHENTICATED, "auth.token_missing", "hello needs data.token")
    code = codes.normalize_code(raw_code)
    if code is None:
        raise AppError(404, "classroom.session_not_found", "no session has this code")
    if participant_tokens.is_participant_token(token):
        return await _participant(res, zone, code, token)
    return await _staff(res, websocket, zone, code, token)


async def _participant(res: Resources, zone: Zone, code: str, token: str) -> Peer:
    claims, row, session = await participants.resolve(res, token)
    if claims.zone_id != zone.id or session.code != code:
        raise ProtocolError(CLOSE_FORBIDDEN, "classroom.wrong_session", "this participant token belongs to another"
                                                                        " session")
    if row.mode != "live":
        raise ProtocolError(CLOSE_FORBIDDEN, "classroom.live_only", "a homework participant works through"
                                                                   " /api/v1/classroom/homework, not the live session")
    if session.live_status(sessions.now()) != "active":
        raise sessions.gone(session)
    if row.status == "pending":
        raise ProtocolError(CLOSE_FORBIDDEN, "classroom.participant_pending", "the teacher has not let you in yet")
    return Peer(room=participants.room(session), participant_id=str(row.id), staff=False,
                extra=Live(shared(session), row, None))


async def _staff(res: Resources, websocket: WebSocket, zone: Zone, code: str, token: str) -> Peer:
    verifier = token_verifier(cast(Request, websocket))
    principal, _ = await verifier.verify_with(token, res.cached_reads, res.keys)
    check_zone(principal, zone)
    if not principal.can(SESSION_RUN) or principal.org_id is None:
        raise AppError(403, "auth.permission_denied", f"role {principal.role} may not run classroom sessions")
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        session = await session_queries.by_code(s, code)
    if session is None:
        raise AppError(404, "classroom.session_not_found", "no session of your org has this code")
    await ensure_teaches(res, principal, principal.org_id, session.class_id)
    if session.live_status(sessions.now()) != "active":
        raise sessions.gone(session)
    return Peer(room=participants.room(session), participant_id=None, staff=True,
                extra=Live(shared(session), None, principal))


async def snapshot(res: Resources, peer: Peer, head: int) -> dict[str, Any]:
    live = live_of(peer)
    lk = live_state.LiveKeys(res.keys, peer.room)
    ctx = TenantContext(zone_id=live.session.zone_id, org_id=live.session.org_id, role="guest")
    async with tenant_transaction(res.db(), ctx) as s:
        session = await session_queries.get(s, live.session.id) or live.session
    live.session = session = shared(session)
    tallies = Tallies(res.redis)
    card_hash = await res.redis.hgetall(lk.card)
    out: dict[str, Any] = {"session": sessions.public_settings(session),
                           "server_time": sessions.now().isoformat(),
                           "chat": await messages.history(res, session, staff=peer.staff,
                                                          participant_id=live.participant.id if live.participant
                                                          else None),
                           "leaderboard": await tallies.leaderboard(lk), "card": None}
    if card_hash:
        card = live_state.LiveCard.from_hash(card_hash)
        out["card"] = {**_json(card_hash.get("frame")), "closed": card.closed,
                       "time_left_ms": max(0, card.closes_ms - live_state.ms(sessions.now()))}
    if live.participant is not None:
        p = live.participant
        score, rank = await participants.score_and_rank(res, session, p.id)
        out["me"] = {"participant_id": str(p.id), "nickname": p.nickname, "avatar": p.avatar, "score": score,
                     "rank": rank, "extra_time_seconds": p.extra_time_seconds}
        if out["card"] is not None:
            out["card"]["answered"] = await _answered(res, session, p.id, out["card"]["card_no"])
    else:
        async with tenant_transaction(res.db(), ctx) as s:
            rows = await participant_queries.of_session(s, session.id)
        out["me"] = {"staff": True}
        out["participants"] = [{**participants.public(r), "status": r.status, "muted": r.muted,
                                "extra_time_seconds": r.extra_time_seconds} for r in rows]
        if out["card"] is not None:
            out["tally"] = await tallies.card(lk, out["card"]["card_no"])
    return out


def _json(raw: str | None) -> dict[str, Any]:
    import json

    return dict(json.loads(raw)) if raw else {}


async def _answered(res: Resources, session: SessionRow, participant_id: uuid.UUID, card_no: int) -> bool:
    ctx = TenantContext(zone_id=session.zone_id, org_id=session.org_id, role="guest")
    async with tenant_transaction(res.db(), ctx) as s:
        return (await s.execute(text("SELECT 1 FROM classroom.answers WHERE session_id = :s AND card_no = :n"
                                     " AND participant_id = :p"),
                                {"s": session.id, "n": card_no, "p": participant_id})).first() is not None


async def handle(res: Resources, st: ClassroomState, peer: Peer, frame: ClientFrame) -> Reply | None:
    live = live_of(peer)
    data = frame.data if isinstance(frame.data, Mapping) else {}
    if frame.type == "ping":
        return Reply("pong", {"server_time": sessions.now().isoformat()})
    if frame.type == "chat":
        chat = parse_data(ChatIn, data, messages.INVALID)
        settings = await _still_open(res, peer)
        return Reply("chat_ack", await messages.send(res, st, live.session, live.sender, chat.body, settings))
    if frame.type == "answer" and live.participant is not None:
        given = parse_data(AnswerIn, data, answers.INVALID)
        settings = await _still_open(res, peer)
        return Reply("answer_ack", await answers.answer(res, st, live.session, live.participant.id,
                                                      given.card_no, given.answer, settings))
    raise AppError(400, "classroom.unknown_frame", f"unknown frame type {frame.type!r} for this connection")


async def _still_open(res: Resources, peer: Peer) -> live_state.LiveSettings:
    """Against the live settings (extensions and ends land there at once), not the connect-time row;
    the frame's handler uses the settings read here rather than reading them again."""
    settings = await live_state.read_settings(res.redis, live_state.LiveKeys(res.keys, peer.room))
    if settings is None or settings.status != "active" or settings.expires_ms <= live_state.ms(sessions.now()):
        raise AppError(410, "classroom.session_ended" if settings and settings.status == "ended"
                       else "classroom.session_expired", "the session is over")
    return settings


async def on_join(res: Resources, st: ClassroomState, peer: Peer) -> None:
    """A participant's connection (not its first): the class sees it back, with its points."""
    if peer.participant_id is None:
        return
    lk = live_state.LiveKeys(res.keys, peer.room)
    first = await res.redis.sadd(lk.room.key(res.keys, "seen"), peer.participant_id)
    await res.redis.expire(lk.room.key(res.keys, "seen"), live_state.TTL_SECONDS)
    p = live_of(peer).participant
    assert p is not None
    if not first:
        await st.log().publish(peer.room, "joined", {"participant": participants.public(p), "rejoined": True},
                               to=TO_STAFF)


async def on_leave(res: Resources, st: ClassroomState, peer: Peer) -> None:
    p = live_of(peer).participant
    if p is None:
        return
    await st.log().publish(peer.room, "left", {"participant": participants.public(p), "reason": "disconnected",
                                               "seat_held": True}, to=TO_STAFF)


