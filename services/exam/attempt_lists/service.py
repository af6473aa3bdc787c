"""The rules of attempt lists.

- Who: staff only. Org admins (and zone-level admins naming the org) see the whole org; a teacher
  only attempts made in classes it is assigned to, asked of tenant (`ListTeacherClasses`) per
  request, so an unassignment takes effect at once. Another org's exam is 404.
- `not_started`: the live roster of the class (`class_id`, else the exam's own class; tenant's
  `ListClassStudents`) minus the students with any attempt of the exam. Without a class there is
  no audience to compare with: 422 `attempt_list.class_required`.
- Names: auth's `LookupUsers` for the students of the page, cached in-process for
  `student_name_cache_seconds` (names change rarely; a page of 200 must not cost 200 lookups).
- No gRPC call is made while a transaction is open; tenant or auth down is 503.
"""
from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from mcproto.tenant.v1 import tenant_pb2
from megacity.auth.org_scope import acting_org, is_staff, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.grpc.client import call
from megacity.pagination import Keyset
from megacity.runtime import Resources
from services.exam.attempt_lists import queries
from services.exam.exam_store import load_exam
from services.exam.teacher_classes import class_not_found, class_students, teacher_class_ids

ATTEMPTS_KEYSET = Keyset("exam.exam_attempts", started_at=dt.datetime, id=uuid.UUID)  # ORDER BY started_at, id DESC
NOT_STARTED_KEYSET = Keyset("exam.exam_not_started", name=str, id=str)  # ORDER BY name, roster id
_LOOKUP_BATCH = 500  # ids per LookupUsers call (auth takes at most 1000)
_NAME_CACHE_MAX = 20_000


@dataclass(frozen=True)
class ListFilter:
    class_id: uuid.UUID | None = None
    status: str | None = None  # in_progress | completed | expired | not_started


@dataclass(frozen=True)
class AttemptListItem:
    student_id: uuid.UUID | None  # the student's user (None: a roster student without an account)
    roster_student_id: uuid.UUID | None  # not_started rows only
    name: str | None
    class_id: uuid.UUID | None
    status: str
    attempt_id: uuid.UUID | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    n_responses: int | None = None
    raw_score: int | None = None
    max_score: int | None = None
    scaled_score: float | None = None


@dataclass(frozen=True)
class AttemptListPage:
    items: list[AttemptListItem]
    next_cursor: str | None


# (zone_id, user_id) -> (expires at, monotonic clock; display name or None)
_names: dict[tuple[int, uuid.UUID], tuple[float, str | None]] = {}


async def student_names(res: Resources, zone_id: int, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, str | None]:
    """Display names of users of the zone (None: auth does not know the user), briefly cached."""
    now = time.monotonic()
    found: dict[uuid.UUID, str | None] = {}
    missing: list[uuid.UUID] = []
    for user_id in dict.fromkeys(user_ids):
        hit = _names.get((zone_id, user_id))
        if hit is not None and hit[0] > now:
            found[user_id] = hit[1]
        else:
            missing.append(user_id)
    if not missing:
        return found
    stub = auth_pb2_grpc.AuthServiceStub(res.channel("auth"))
    ttl = float(getattr(res.settings, "student_name_cache_seconds", 60.0))
    if len(_names) > _NAME_CACHE_MAX:
        _names.clear()
    for start in range(0, len(missing), _LOOKUP_BATCH):
        batch = missing[start:start + _LOOKUP_BATCH]
        reply = await call(stub.LookupUsers, auth_pb2.LookupUsersRequest(zone_id=zone_id, user_ids=[str(u) for u in batch]),
                           peer="auth", timeout=res.settings.grpc_deadline_seconds)
        known = {uuid.UUID(u.id): (u.display_name or None) for u in reply.users if u.zone_id == zone_id}
        for user_id in batch:
            found[user_id] = known.get(user_id)
            _names[(zone_id, user_id)] = (now + ttl, found[user_id])
    return found


async def class_roster(res: Resources, zone_id: int, org_id: uuid.UUID,
                       class_id: uuid.UUID) -> list[tenant_pb2.ClassStudent]:
    students = await class_students(res, zone_id, org_id, class_id)
    if students is None:
        raise class_not_found(class_id)
    return students


async def list_exam_attempts(res: Resources, principal: Principal, org_id: uuid.UUID | None, exam_id: uuid.UUID,
                             f: ListFilter, limit: int, cursor: str | None) -> AttemptListPage:
    if not is_staff(principal):
        raise AppError(403, "auth.permission_denied", f"role {principal.role} may not list an exam's attempts")
    org = acting_org(principal, org_id)
    secret = res.settings.secret_key
    keyset = NOT_STARTED_KEYSET if f.status == "not_started" else ATTEMPTS_KEYSET
    after = keyset.decode(cursor, secret)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        exam = await load_exam(s, principal.zone_id, org, exam_id)
    allowed: list[uuid.UUID] | None = None
    if principal.role == "teacher":
        allowed = await teacher_class_ids(res, principal.zone_id, org, principal.user_id)
    if f.class_id is not None and allowed is not None and f.class_id not in allowed:
        raise class_not_found(f.class_id)
    classes = [f.class_id] if f.class_id is not None else allowed
    if f.status == "not_started":
        return await _not_started(res, principal, org, exam_id, f.class_id or exam.class_id, allowed, after, limit)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = await queries.list_attempts(s, principal.zone_id, org, exam_id, status=f.status, class_ids=classes,
                                           after=after, limit=limit + 1)
    rows, next_cursor = ATTEMPTS_KEYSET.page(rows, limit, secret)
    names = await student_names(res, principal.zone_id, [r.student_id for r in rows])
    return AttemptListPage([AttemptListItem(
        student_id=r.student_id, roster_student_id=None, name=names.get(r.student_id), class_id=r.class_id,
        status=r.status, attempt_id=r.id, started_at=r.started_at, ended_at=r.ended_at, n_responses=r.n_responses,
        raw_score=r.raw_score, max_score=r.max_score, scaled_score=r.scaled_score) for r in rows], next_cursor)


async def _not_started(res: Resources, principal: Principal, org: uuid.UUID, exam_id: uuid.UUID,
                       class_id: uuid.UUID | None, allowed: list[uuid.UUID] | None, after: tuple[Any, ...] | None,
                       limit: int) -> AttemptListPage:
    if class_id is None:
        raise AppError(422, "attempt_list.class_required",
                       "not_started needs a class: the exam is set for none, so pass class_id")
    if allowed is not None and class_id not in allowed:
        raise class_not_found(class_id)
    roster = await class_roster(res, principal.zone_id, org, class_id)
    user_ids = [uuid.UUID(st.user_id) for st in roster if st.user_id]
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        started = await queries.students_with_attempts(s, principal.zone_id, org, exam_id, user_ids)
    waiting = sorted(((st.name, st.student_id, st) for st in roster
                      if not st.user_id or uuid.UUID(st.user_id) not in started), key=lambda t: (t[0], t[1]))
    if after is not None:
        waiting = [w for w in waiting if (w[0], w[1]) > (after[0], after[1])]
    page, next_cursor = NOT_STARTED_KEYSET.page(waiting[:limit + 1], limit, res.settings.secret_key,
                                                key=lambda w: (w[0], w[1]))
    names = await student_names(res, principal.zone_id, [uuid.UUID(w[2].user_id) for w in page if w[2].user_id])
    return AttemptListPage([AttemptListItem(
        student_id=uuid.UUID(st.user_id) if st.user_id else None, roster_student_id=uuid.UUID(st.student_id),
        name=(names.get(uuid.UUID(st.user_id)) if st.user_id else None) or name, class_id=class_id,
        status="not_started") for name, _, st in page], next_cursor)
