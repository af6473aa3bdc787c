"""SQL of retention. Deletes run per zone as `zone_admin` (the zone-admin RLS policy) in bounded
batches, so no statement locks or rewrites a whole table and no transaction stays open long;
partitions go through the owner's SECURITY DEFINER function (the app role cannot drop tables)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

LOCK_NAME = "classroom.retention"
# The partitioned tables and their partition key; the only names ever formatted into SQL.
PARTITIONED = {"messages": "created_at", "session_logs": "at"}


async def try_lock(conn: AsyncConnection) -> bool:
    """The replica-wide run lock (session level: it outlives the statement's transaction)."""
    return bool((await conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:n))"), {"n": LOCK_NAME})).scalar_one())


async def unlock(conn: AsyncConnection) -> bool:
    return bool((await conn.execute(text("SELECT pg_advisory_unlock(hashtext(:n))"), {"n": LOCK_NAME})).scalar_one())


async def drop_partitions(s: AsyncSession, table: str, cutoff: dt.datetime) -> int:
    """Drops the monthly partitions of `table` that end at or before `cutoff`; returns how many."""
    if table not in PARTITIONED:
        raise ValueError(f"not a partitioned table: {table!r}")
    return int((await s.execute(text("SELECT classroom.drop_month_partitions_before(:t, :c)"),
                                {"t": table, "c": cutoff})).scalar_one())


async def delete_old_rows(s: AsyncSession, table: str, zone_id: int, cutoff: dt.datetime, limit: int) -> int:
    """One batch of `table`'s rows of the zone older than `cutoff` (by primary key: a ctid names
    a row only within one partition). Only the straddling month and DEFAULT are scanned."""
    col = PARTITIONED[table]
    result = await s.execute(text(
        f"DELETE FROM classroom.{table} WHERE (id, {col}) IN (SELECT id, {col} FROM classroom.{table}"
        f" WHERE zone_id = :z AND {col} < :cutoff LIMIT :n)"), {"z": zone_id, "cutoff": cutoff, "n": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE


async def delete_ended_sessions(s: AsyncSession, zone_id: int, cutoff: dt.datetime, limit: int) -> int:
    """One batch of the zone's sessions that ended (or expired) before `cutoff` and whose homework
    window, if any, closed before it too. Never an active session. Participants, cards and answers
    go with them (ON DELETE CASCADE)."""
    result = await s.execute(text(
        "DELETE FROM classroom.sessions WHERE id IN (SELECT id FROM classroom.sessions"
        " WHERE zone_id = :z AND status IN ('ended', 'expired') AND ended_at < :cutoff"
        " AND (homework_until IS NULL OR homework_until < :cutoff)"
        " ORDER BY ended_at LIMIT :n FOR UPDATE SKIP LOCKED)"), {"z": zone_id, "cutoff": cutoff, "n": limit})
    return int(result.rowcount)  # type: ignore[attr-defined]  # CursorResult of a DELETE
