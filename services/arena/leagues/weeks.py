"""League and weekly-board weeks: ISO weeks, Monday to Sunday, in UTC."""
from __future__ import annotations

import datetime as dt


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def current_week_start(now: dt.datetime | None = None) -> dt.date:
    return week_start_of((now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date())


def week_end(week_start: dt.date) -> dt.datetime:
    """When the week closes (the next Monday, 00:00 UTC)."""
    return dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time(), dt.UTC)
