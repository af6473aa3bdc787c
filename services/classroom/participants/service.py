"""Joining a session anonymously (code -> seat with a nickname, avatar and participant token) and
what the teacher does to participants: approve, kick, ban, silent mute, extra time.

A seat is never given away: the nickname stays the participant's for the session's life, so a
participant who drops (however often) reconnects with its token to the same nickname and points.
Kick and ban both disconnect and refuse the token from then on (a server-side record, not a
cookie); a kicked student may join again under a new nickname (as in Kahoot), a banned one's
nickname stays taken. Against a banned student rejoining under another name, the teacher turns
on "approve new arrivals" or locks the session: a class shares one address, so banning an
address would ban the class."""
from __future__ import annotations

import datetime as dt
import random
import uuid

from sqlalchemy.exc import IntegrityError

from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.rate_limit import Quota, SlidingWindowLimiter
from megacity.realtime.protocol import CLOSE_FORBIDDEN, TO_STAFF, to_participant
from megacity.runtime import Resources
from megacity.zones import Zone
from services.classroom import live_state, participant_tokens
from services.classroom.moderation.service import moderator_for
from services.classroom.participant_tokens import ParticipantClaims
from services.classroom.participants import queries
from services.classroom.participants.nicknames import clean_nickname, friendly_nickname
from services.classroom.participants.queries import ParticipantRow
from services.classroom.participants.schemas import JoinIn, ParticipantPatch
from services.classroom.service_state import ClassroomState
from services.classroom.sessions import codes
from services.classroom.sessions import queries as session_queries
from services.classroom.sessions import service as sessions
from services.classroom.sessions.queries import SessionRow

LOCKED = (423, "classroom.session_locked", "The teacher has locked joining")
TAKEN = (409, "classroom.nickname_taken", "Someone in the session already has this nickname")
BANNED = (403, "classroom.participant_banned", "You were removed from this session")
RATE = (429, "classroom.join_rate_limited", "Too many joins; try again shortly")
PARTICIPANT_NOT_FOUND = (404, "classroom.participant_not_found", "No such participant in this session")
FRIENDLY_TRIES = 10
# A code no session has, remembered briefly (a session started with it overwrites the entry).
NO_SESSION = "-"
NO_SESSION_SECONDS = 5


def guest_ctx(zone_id: int, org_id: uuid.UUID | None = None) -> TenantContext:
    return TenantContext(zone_id=zone_id, org_id=org_id, role="guest")


async def session_for_code(res: Resources, zone: Zone, raw_code: str, *, live: bool = True) -> SessionRow:
    """The session a typed code names in this zone: 404 when none, 410 when its time is up or it ended.
    Read from Redis (sessions.publish_state writes it after every change), else from the database."""
    code = codes.normalize_code(raw_code)
    if code is None:
        raise AppError(404, "classroom.session_not_found", "no session has this code")
    key = sessions.code_key(res, zone.id, code)
    cached = await res.redis.get(key)
    if cached == NO_SESSION:
        row: SessionRow | None = None
    elif cached:
        row = session_queries.from_json(cached)
    else:
        async with tenant_transaction(res.db(), guest_ctx(zone.id)) as s:
            await session_queries.set_code_context(s, code)
            row = await session_queries.by_code(s, code)
        if row is not None:
            await sessions.publish_state(res, row)
        else:  # guessed codes cost one database query per code and NO_SESSION_SECONDS, not one each
            await res.redis.set(key, NO_SESSION, ex=NO_SESSION_SECONDS, nx=True)
    if row is None:
        raise AppError(404, "classroom.session_not_found", "no session has this code")
    if live and row.live_status(sessions.now()) != "active":
        raise sessions.gone(row)
    return row


async def limit_joins(res: Resources, st: ClassroomState, zone: Zone, door: str, code: str, address: str) -> None:
    """Joins per code and per address in a sliding minute; `door` ("join", "homework") keeps each
    door's counters apart."""
    limiter = SlidingWindowLimiter(res.redis, service="classroom")
    decision = await limiter.hit([
        Quota("code", res.keys.zone(zone.id, "classroom", door, "code", code), st.settings.join_per_code_per_minute),
        Quota("address", res.keys.zone(zone.id, "classroom", door, "addr", address or "unknown"),
              st.settings.join_per_address_per_minute)])
    if decision is not None and not decision.allowed:
        c = decision.closest
        raise AppError(429, "classroom.join_rate_limited",
                       f"too many joins for this {c.quota.scope}; retry in {c.reset} s", {"retry_after": c.reset})


class NicknameTaken(Exception):
    """The nickname is someone else's in this session (and they are not banned)."""


async def take_seat(res: Resources, session: SessionRow, nickname: str, key: str, avatar: str, *, status: str,
                    mode: str) -> ParticipantRow:
    """A new participant row (and its log line); a nickname held by a banned participant is 403,
    by anyone else NicknameTaken."""
    ctx = guest_ctx(session.zone_id, session.org_id)
    try:
        async with tenant_transaction(res.db(), ctx) as s:
            row = await queries.insert(s, {"zone_id": session.zone_id, "org_id": session.org_id,
                                           "session_id": session.id, "nickname": nickname, "nickname_key": key,
                                           "avatar": avatar, "status": status, "mode": mode})
            await session_queries.add_log(s, session, "joined", {"participant_id": str(row.id), "nickname": nickname,
                                                                 "status": status, "mode": mode})
        return row
    except IntegrityError as exc:
        if "participants_session_id_nickname_key_key" not in str(exc.orig):
            raise
    async with tenant_transaction(res.db(), ctx) as s:
        holder = await queries.by_nickname(s, session.id, key)
    if holder is not None and holder.status == "banned":
        raise AppError(*BANNED)
    raise NicknameTaken(nickname)


def nickname_taken(detail: str = "someone in the session already has this nickname; pick another") -> AppError:
    return AppError(409, "classroom.nickname_taken", detail)


async def join(res: Resources, st: ClassroomState, zone: Zone, raw_code: str, body: JoinIn,
               address: str) -> tuple[ParticipantRow, SessionRow, str]:
    # Limits first: a guessed code costs the guesser its quota too.
    await limit_joins(res, st, zone, "join", codes.normalize_code(raw_code) or "invalid", address)
    session = await session_for_code(res, zone, raw_code)
    if session.locked:
        raise AppError(*LOCKED)
    moderator = await moderator_for(res, session.zone_id, session.org_id)
    rng = random.SystemRandom()
    generate = body.nickname is None or not body.nickname.strip()
    if generate and not session.friendly_nicknames:
        raise AppError(422, "classroom.nickname_invalid", "a nickname of 1–20 characters is required")
    status = "pending" if session.approve_arrivals else "active"
    for _ in range(FRIENDLY_TRIES if generate else 1):
        nickname, key = clean_nickname(friendly_nickname(rng) if generate else body.nickname or "", moderator)
        try:
            row = await take_seat(res, session, nickname, key, body.avatar, status=status, mode="live")
            break
        except NicknameTaken:
            if not generate:
                raise nickname_taken() from None
    else:
        raise nickname_taken("could not find a free nickname; type one")
    token = participant_tokens.issue(
        res.settings.secret_key,
        ParticipantClaims(zone_id=row.zone_id, org_id=row.org_id, session_id=session.id, participant_id=row.id,
                          mode="live"),
        session.started_at + _max_life(st))
    await seat(res, st, session, row)
    return row, session, token


def _max_life(st: ClassroomState) -> dt.timedelta:
    return dt.timedelta(minutes=st.settings.max_session_minutes)


def room(session: SessionRow) -> live_state.Room:
    return live_state.room_of(session.zone_id, session.org_id, session.id)


def public(row: ParticipantRow) -> dict[str, object]:
    return {"id": str(row.id), "nickname": row.nickname, "avatar": row.avatar}


async def seat(res: Resources, st: ClassroomState, session: SessionRow, row: ParticipantRow) -> None:
    """Announce a new arrival to the teachers (the projector's lobby), active or awaiting approval.
    Not to every participant: a 1,000-player join would be a million frames (the class sees the
    count on the leaderboard instead)."""
    lk = live_state.LiveKeys(res.keys, room(session))
    if row.status == "active":
        async with res.redis.pipeline(transaction=True) as p:
            p.hset(lk.names, str(row.id), row.nickname)
            p.zadd(lk.board, {str(row.id): 0}, nx=True)
            p.expire(lk.names, live_state.TTL_SECONDS)
            p.expire(lk.board, live_state.TTL_SECONDS)
            await p.execute()
        await st.log().publish(room(session), "joined", {"participant": public(row), "rejoined": False}, to=TO_STAFF)
    elif row.status == "pending":
        await st.log().publish(room(session), "arrival_pending", {"participant": public(row)}, to=TO_STAFF)


async def resolve(res: Resources, token: str) -> tuple[ParticipantClaims, ParticipantRow, SessionRow]:
    """A participant token -> its claims, row and session (401 when the token is bad)."""
    claims = participant_tokens.verify(res.settings.secret_key, token)
    async with tenant_transaction(res.db(), guest_ctx(claims.zone_id, claims.org_id)) as s:
        row = await queries.get(s, claims.participant_id)
        session = await session_queries.get(s, claims.session_id)
    if row is None or session is None or row.session_id != session.id:
        raise participant_tokens.invalid()
    if row.status in ("banned", "kicked"):
        raise AppError(403, "classroom.participant_banned", "you were removed from this session")
    return claims, row, session


async def score_and_rank(res: Resources, session: SessionRow, participant_id: uuid.UUID) -> tuple[int, int | None]:
    lk = live_state.LiveKeys(res.keys, room(session))
    async with res.redis.pipeline(transaction=False) as p:
        p.zscore(lk.board, str(participant_id))
        p.zrevrank(lk.board, str(participant_id))
        score, rank = await p.execute()
    return int(score or 0), (int(rank) + 1 if rank is not None else None)


async def list_for_staff(res: Resources, principal: Principal, session_id: uuid.UUID
                         ) -> tuple[SessionRow, list[ParticipantRow]]:
    session = await sessions.load_for_staff(res, principal, session_id)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        return session, await queries.of_session(s, session_id)


async def change(res: Resources, st: ClassroomState, principal: Principal, session_id: uuid.UUID,
                 participant_id: uuid.UUID, patch: ParticipantPatch) -> ParticipantRow:
    session = await sessions.load_for_staff(res, principal, session_id)
    values = patch.model_dump(exclude_unset=True, exclude_none=True)  # null: unchanged
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        before = await queries.get(s, participant_id, lock=True)
        if before is None or before.session_id != session_id:
            raise AppError(*PARTICIPANT_NOT_FOUND)
        if before.status == "banned" and values.get("status") not in (None, "banned"):
            raise AppError(409, "classroom.participant_banned", "a banned participant stays banned")
        after = await queries.update(s, participant_id, values) if values else before
        await session_queries.add_log(s, session, "participant", {"participant_id": str(participant_id),
                                                                  "by": str(principal.user_id),
                                                                  **{k: str(v) for k, v in values.items()}})
    await _announce_change(res, st, session, before, after)
    return after


async def _announce_change(res: Resources, st: ClassroomState, session: SessionRow, before: ParticipantRow,
                           after: ParticipantRow) -> None:
    log, r = st.log(), room(session)
    lk = live_state.LiveKeys(res.keys, r)
    pid = str(after.id)
    if after.muted != before.muted:  # silent: only teachers learn of it
        await (res.redis.sadd(lk.muted, pid) if after.muted else res.redis.srem(lk.muted, pid))
        await res.redis.expire(lk.muted, live_state.TTL_SECONDS)
    if after.extra_time_seconds != before.extra_time_seconds:
        await res.redis.hset(lk.state, f"extra:{pid}", str(after.extra_time_seconds))
    if after.status != before.status:
        if after.status == "active" and before.status == "pending":
            await seat(res, st, session, after)
            await log.publish(r, "approved", {"participant": public(after)}, to=to_participant(pid))
        elif after.status in ("kicked", "banned"):
            await log.publish(r, "kicked", {"participant": public(after), "banned": after.status == "banned"},
                              to=to_participant(pid), close=CLOSE_FORBIDDEN)
            await log.publish(r, "left", {"participant": public(after), "reason": after.status}, to=TO_STAFF)
            if after.status == "banned":
                await res.redis.zrem(lk.board, pid)
        elif after.status == "active" and before.status == "kicked":
            await seat(res, st, session, after)
    await log.publish(r, "participant_updated", {"participant": {**public(after), "status": after.status,
                                                                 "muted": after.muted,
                                                                 "extra_time_seconds": after.extra_time_seconds}},
                      to=TO_STAFF)


async def scores(res: Resources, session: SessionRow) -> dict[str, int]:
    lk = live_state.LiveKeys(res.keys, room(session))
    return {pid: int(v) for pid, v in await res.redis.zrange(lk.board, 0, -1, withscores=True)}
