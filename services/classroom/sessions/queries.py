"""SQL of live sessions. Every statement runs inside a tenant transaction (RLS decides which rows
exist); the anonymous code lookup runs as `guest` with `app.session_code` set (policy code_lookup)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

COLUMNS = ("id, zone_id, org_id, class_id, teacher_id, code, title, status, started_at, expires_at, ended_at,"
           " locked, approve_arrivals, friendly_nicknames, scoring, chat_mode, slow_mode_seconds, card_seconds,"
           " homework_code, homework_until")
# Settings a teacher may change while the session runs (PATCH); names are columns.
SETTINGS = ("title", "locked", "approve_arrivals", "friendly_nicknames", "scoring", "chat_mode", "slow_mode_seconds",
            "card_seconds")


@dataclass(frozen=True, slots=True, weakref_slot=True)
class SessionRow:
    id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID
    class_id: uuid.UUID
    teacher_id: uuid.UUID
    code: str
    title: str
    status: str
    started_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None
    locked: bool
    approve_arrivals: bool
    friendly_nicknames: bool
    scoring: str
    chat_mode: str
    slow_mode_seconds: int
    card_seconds: int
    homework_code: str | None
    homework_until: dt.datetime | None

    def live_status(self, now: dt.datetime) -> str:
        """`expired` as soon as the clock passes expires_at, before the sweeper writes it."""
        return "expired" if self.status == "active" and self.expires_at <= now else self.status


def _row(r: Any) -> SessionRow:
    return SessionRow(**r._mapping)


_UUIDS = ("id", "org_id", "class_id", "teacher_id")
_TIMES = ("started_at", "expires_at", "ended_at", "homework_until")


def to_json(row: SessionRow) -> str:
    import json
    from dataclasses import asdict

    return json.dumps(asdict(row), default=str)


def from_json(raw: str) -> SessionRow:
    import json

    d = json.loads(raw)
    for k in _UUIDS:
        d[k] = uuid.UUID(d[k])
    for k in _TIMES:
        d[k] = dt.datetime.fromisoformat(d[k]) if d[k] else None
    return SessionRow(**d)


async def set_code_context(s: AsyncSession, code: str) -> None:
    await s.execute(text("SELECT set_config('app.session_code', :c, true)"), {"c": code})


async def by_code(s: AsyncSession, code: str) -> SessionRow | None:
    """The active session of a code, else the latest one that had it (expired/ended: 410, not 404)."""
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM classroom.sessions WHERE code = :c"
                              " ORDER BY status = 'active' DESC, started_at DESC LIMIT 1"), {"c": code})).first()
    return _row(r) if r else None


async def get(s: AsyncSession, session_id: uuid.UUID, *, lock: bool = False) -> SessionRow | None:
    r = (await s.execute(text(f"SELECT {COLUMNS} FROM classroom.sessions WHERE id = :id"
                              + (" FOR UPDATE" if lock else "")), {"id": session_id})).first()
    return _row(r) if r else None


async def retire_expired_of_class(s: AsyncSession, class_id: uuid.UUID) -> list[SessionRow]:
    """Active sessions of the class whose time is up become `expired` (frees the class's slot)."""
    rows = await s.execute(text(
        "UPDATE classroom.sessions SET status = 'expired', ended_at = expires_at"
        f" WHERE class_id = :c AND status = 'active' AND expires_at <= now() RETURNING {COLUMNS}"), {"c": class_id})
    return [_row(r) for r in rows]


async def insert(s: AsyncSession, values: dict[str, Any]) -> SessionRow:
    cols = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    r = (await s.execute(text(f"INSERT INTO classroom.sessions ({cols}) VALUES ({params}) RETURNING {COLUMNS}"),
                         values)).one()
    return _row(r)


async def update(s: AsyncSession, session_id: uuid.UUID, values: dict[str, Any]) -> SessionRow:
    unknown = set(values) - {*SETTINGS, "expires_at", "status", "ended_at", "homework_code", "homework_until"}
    if not values or unknown:  # column names go into the SQL: only known ones, never from a request as such
        raise ValueError(f"cannot update session columns {sorted(unknown) or 'none'}")
    sets = ", ".join(f"{k} = :{k}" for k in values)
    r = (await s.execute(text(f"UPDATE classroom.sessions SET {sets} WHERE id = :id RETURNING {COLUMNS}"),
                         {**values, "id": session_id})).one()
    return _row(r)


async def list_sessions(s: AsyncSession, *, class_ids: list[uuid.UUID] | None, status: str | None,
                        limit: int) -> list[SessionRow]:
    where, params = ["true"], {"limit": limit}
    if class_ids is not None:
        where.append("class_id = ANY(:classes)")
        params["classes"] = class_ids  # type: ignore[assignment]
    if status == "active":
        where.append("status = 'active' AND expires_at > now()")
    elif status:
        where.append("(status = :status OR (:status = 'expired' AND status = 'active' AND expires_at <= now()))")
        params["status"] = status  # type: ignore[assignment]
    rows = await s.execute(text(f"SELECT {COLUMNS} FROM classroom.sessions WHERE {' AND '.join(where)}"
                                " ORDER BY started_at DESC LIMIT :limit"), params)
    return [_row(r) for r in rows]


async def add_log(s: AsyncSession, session: SessionRow, kind: str, payload: dict[str, Any]) -> None:
    """A session event in the monthly-partitioned log (seed 002's logs; kept 90 days)."""
    import json

    await s.execute(text("INSERT INTO classroom.session_logs (zone_id, org_id, session_id, kind, payload)"
                         " VALUES (:z, :o, :sid, :k, CAST(:p AS jsonb))"),
                    {"z": session.zone_id, "o": session.org_id, "sid": session.id, "k": kind,
                     "p": json.dumps(payload, default=str)})
