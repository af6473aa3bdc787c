"""One player's WebSocket session: who is connecting (the platform access token, `arena:play`),
the snapshot a (re)connecting client starts from (queue status and the active match: round on
show, time left, answered?, scores), the frames it may send (`answer`, `forfeit`, `ping`), and
the disconnect bookkeeping the forfeit rule needs.

A player who drops keeps its seat: `on_leave` records the time when its last socket (on any
replica) closed, a reconnect within `forfeit_grace_seconds` clears it, otherwise the sweeper
forfeits the match for it."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from fastapi import Request
from starlette.websockets import WebSocket

from megacity.auth.dependencies import check_zone, token_verifier
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.realtime.connection import Peer
from megacity.realtime.endpoint import Reply
from megacity.realtime.protocol import CLOSE_UNAUTHENTICATED, ClientFrame, ProtocolError, parse_data
from megacity.runtime import Resources
from megacity.zones import Zone
from services.arena.live import service
from services.arena.live.schemas import AnswerIn, ForfeitIn
from services.arena.matches import frames, rounds
from services.arena.matches import queries as q
from services.arena.matchmaking import service as queue
from services.arena.permissions import PLAY

TOKEN_MISSING = (401, "auth.token_missing", "hello needs data.token")
DENIED = (403, "auth.permission_denied", "Your role may not play in the arena")
INVALID = (422, "arena.invalid_answer", "An answer is {match_id, round: 1-20, answer: 1-2000 characters}")
BAD_FORFEIT = (422, "arena.invalid_frame", "forfeit needs {match_id}")
UNKNOWN = (400, "arena.unknown_frame", "Unknown frame type")


PRESENCE_TTL_SECONDS = 86_400


@dataclass(slots=True)
class Player:
    """What a connection knows of itself (Peer.extra): the verified caller and its connection's
    stamp (its member of the player's presence set)."""

    principal: Principal
    stamp: str = field(default_factory=lambda: uuid.uuid4().hex)


def principal_of(peer: Peer) -> Principal:
    return cast(Player, peer.extra).principal


async def authenticate(res: Resources, websocket: WebSocket, zone: Zone, hello: Mapping[str, Any]) -> Peer:
    token = hello.get("token")
    if not isinstance(token, str) or not token:
        raise ProtocolError(CLOSE_UNAUTHENTICATED, *TOKEN_MISSING[1:])
    principal, _ = await token_verifier(cast(Request, websocket)).verify_with(token, res.cached_reads, res.keys)
    check_zone(principal, zone)
    if not principal.can(PLAY):
        raise AppError(*DENIED)
    return Peer(room=service.room_of(zone.id, principal.user_id), participant_id=str(principal.user_id),
                extra=Player(principal))


async def on_join(res: Resources, peer: Peer) -> None:
    """Back within the grace: the disconnect no longer counts. The socket's stamp joins the
    player's presence set, which every replica's sockets share (several tabs, several replicas)."""
    p = principal_of(peer)
    key = service.presence_key(res, peer.room.zone_id, p.user_id)
    async with res.redis.pipeline(transaction=True) as pipe:
        await pipe.sadd(key, cast(Player, peer.extra).stamp).expire(key, PRESENCE_TTL_SECONDS).execute()
    async with tenant_transaction(res.db(), rounds.engine_ctx(peer.room.zone_id)) as s:
        await q.mark_disconnected(s, peer.room.zone_id, p.user_id, None)


async def on_leave(res: Resources, peer: Peer) -> None:
    """The forfeit clock starts when the player's last socket, on any replica, closes (the
    sweeper checks the presence set again before it forfeits: a reconnect racing this wins)."""
    p = principal_of(peer)
    key = service.presence_key(res, peer.room.zone_id, p.user_id)
    async with res.redis.pipeline(transaction=True) as pipe:
        _, left = await pipe.srem(key, cast(Player, peer.extra).stamp).scard(key).execute()
    if left:
        return
    async with tenant_transaction(res.db(), rounds.engine_ctx(peer.room.zone_id)) as s:
        await q.mark_disconnected(s, peer.room.zone_id, p.user_id, rounds.now())


async def snapshot(res: Resources, peer: Peer, head: int) -> dict[str, Any]:
    p = principal_of(peer)
    zone_id = peer.room.zone_id
    out: dict[str, Any] = {"server_time": rounds.now().isoformat(), "user_id": str(p.user_id),
                           "queue": await queue.queue_status(res, zone_id, p.user_id), "match": None}
    async with tenant_transaction(res.db(), rounds.engine_ctx(zone_id)) as s:
        m = await q.active_match_of(s, zone_id, p.user_id)
        if m is None:
            return out
        seats = await q.seats(s, m.id)
        me = next(x.seat for x in seats if x.user_id == p.user_id)
        r = await q.round_of(s, m.id, m.current_round)
        answered = {a.seat for a in await q.answers(s, m.id, m.current_round)}
        question = await q.question(s, r.question_id) if r is not None and r.announced_at is not None else None
    current = None
    if r is not None:
        left = (r.deadline - rounds.now()) if r.deadline is not None and question is not None else dt.timedelta(0)
        current = {"round": r.round_no, "question": frames.question_view(question) if question else None,
                   "started_at": frames.iso(r.started_at) if question else None,
                   "deadline": frames.iso(r.deadline) if question else None,
                   "time_left_ms": rounds.ms(left), "answered": me in answered,
                   "opponent_answered": any(x != me for x in answered), "closed": r.closed_at is not None}
    out["match"] = {"match_id": str(m.id), "mode": m.mode, "topic": m.topic, "opponent_kind": m.opponent_kind,
                    "round_count": m.round_count, "round_seconds": m.round_seconds, "my_seat": me,
                    "seats": [frames.seat_view(x) for x in seats], "round": current}
    return out


def _match_id(raw: str, invalid: tuple[int, str, str]) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise AppError(*invalid) from None


async def handle(res: Resources, peer: Peer, frame: ClientFrame) -> Reply:
    p = principal_of(peer)
    zone_id = peer.room.zone_id
    if frame.type == "ping":
        return Reply("pong", {"server_time": rounds.now().isoformat()})
    if frame.type == "answer":
        given = parse_data(AnswerIn, frame.data, INVALID)
        return Reply("answer_ack", await rounds.answer(res, zone_id, p.user_id, _match_id(given.match_id, INVALID),
                                                     given.round, given.answer))
    if frame.type == "forfeit":
        body = parse_data(ForfeitIn, frame.data, BAD_FORFEIT)
        return Reply("forfeit_ack", await rounds.forfeit(res, zone_id, p.user_id,
                                                       _match_id(body.match_id, BAD_FORFEIT)))
    raise AppError(*UNKNOWN)
