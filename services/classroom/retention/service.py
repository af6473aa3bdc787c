"""Retention of seed 002 and issue #14 on the platform's one mechanism (megacity.retention), run
hourly by the upkeep worker of every replica, one replica at a time (advisory lock):

- chat messages (30 days) and session logs (90 days): whole monthly partitions that end at or
  before the cutoff are dropped (`classroom.drop_month_partitions_before`; never a month younger
  than 30 / 90 days, migration 0002, so a shorter setting deletes those rows in batches instead),
  then the rows left older than the cutoff (the straddling month, the DEFAULT partition) are
  deleted per zone in batches;
- sessions that ended or expired more than 180 days ago (and whose homework window closed):
  deleted per zone in batches, their participants, cards and answers by ON DELETE CASCADE;
- published outbox rows and processed inbox entries older than 7 days.

`now` moves the clock for the tables above (tests); the outbox prune keeps the real clock.
"""
from __future__ import annotations

import datetime as dt

from megacity.retention import BATCH_SIZE, MAX_BATCHES, RetentionPolicy, RetentionReport, days
from megacity.retention import run_retention as run_policies
from megacity.runtime import Resources
from services.classroom.settings import ClassroomSettings

__all__ = ["RetentionReport", "policies", "run_retention"]

# Never an active session; an ended one waits for its homework window too.
ENDED_SESSIONS = ("t.status IN ('ended', 'expired')"
                  " AND (t.homework_until IS NULL OR t.homework_until < :cutoff)")


def policies(settings: ClassroomSettings) -> list[RetentionPolicy]:
    # Partitioned tables are named by (id, partition key): a ctid names a row only within one partition.
    return [
        RetentionPolicy("classroom.messages", "created_at", days(settings.retain_messages_days), partitioned=True,
                        key="id, created_at"),
        RetentionPolicy("classroom.session_logs", "at", days(settings.retain_logs_days), partitioned=True,
                        key="id, at"),
        RetentionPolicy("classroom.sessions", "ended_at", days(settings.retain_sessions_days), where=ENDED_SESSIONS),
    ]


async def run_retention(res: Resources, settings: ClassroomSettings, now: dt.datetime | None = None, *,
                        batch_size: int = BATCH_SIZE, max_batches: int = MAX_BATCHES) -> RetentionReport:
    sessions = res.db()
    assert res.engine is not None  # res.db() raised otherwise
    return await run_policies(res.engine, policies(settings), service="classroom", now=now, sessions=sessions,
                              outbox="classroom", batch_size=batch_size, max_batches=max_batches)
