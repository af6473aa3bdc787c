"""The rules of the problem bank.

- Problems belong to the caller's org (a token without one: 403 `classroom.org_required`);
  another org's problem is 404 `classroom.problem_not_found`, as if it did not exist (RLS says
  the same again in the database).
- A problem is shared with the org (`class_id` null) or one class's own. Reading is open to
  every holder of `classroom:problem_read` in the org. Writing a class's problem — creating it,
  changing it, moving it to or from the class, deleting it — needs the class: org admins have
  every class, a teacher only the ones tenant says it is assigned to (else 404
  `classroom.not_your_class`). Shared problems are any writer's.
- Tenant is asked before the transaction opens (no gRPC inside one).
- An import is all or nothing: every row is read and checked first; one bad row and nothing is
  written (422 `classroom.import_invalid` with up to 50 row errors).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.org_scope import org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.roles import ADMIN_ROLES
from megacity.runtime import Resources
from services.classroom.permissions import org_of
from services.classroom.problems import import_file, queries
from services.classroom.problems.import_file import MAX_REPORTED, FileRefused, TooLarge
from services.classroom.problems.queries import ProblemFilter, ProblemRow
from services.classroom.problems.schemas import ImportResult, ImportRowError, ProblemFields, ProblemIn, ProblemPatch
from services.classroom.teacher_classes import ensure_teaches, not_your_class, teacher_class_ids

# Newest first: ORDER BY created_at DESC, id DESC (megacity.pagination).
PROBLEMS_KEYSET = Keyset("classroom.problems", created_at=dt.datetime, id=uuid.UUID)


@dataclass(frozen=True)
class ProblemListing:
    items: list[ProblemRow]
    next_cursor: str | None


def problem_not_found(problem_id: uuid.UUID) -> AppError:
    return AppError(404, "classroom.problem_not_found", f"problem {problem_id} does not exist in your org")


def _invalid(err: ValidationError) -> AppError:
    errors = [{"loc": ["body", *e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")} for e in err.errors()]
    return AppError(422, "request.invalid", str(errors[0]["msg"]) if errors else "request failed validation",
                    {"errors": errors})


async def one_problem(s: AsyncSession, zone_id: int, org: uuid.UUID, problem_id: uuid.UUID, *,
                      lock: bool = False) -> ProblemRow:
    """The org's problem; 404 for anything else, whatever the RLS context would let through."""
    row = await queries.get_problem(s, problem_id, lock=lock)
    if row is None or row.zone_id != zone_id or row.org_id != org:
        raise problem_not_found(problem_id)
    return row


async def _ensure_classes(res: Resources, principal: Principal, org: uuid.UUID, *classes: uuid.UUID | None) -> None:
    for class_id in {c for c in classes if c is not None}:
        await ensure_teaches(res, principal, org, class_id)


async def list_problems(res: Resources, principal: Principal, where: ProblemFilter, *, cursor: str | None,
                        limit: int) -> ProblemListing:
    """The org's problems, newest first; with `class_id`, that class's and the shared ones."""
    org = org_of(principal)
    after = PROBLEMS_KEYSET.decode(cursor, res.settings.secret_key)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        rows = await queries.list_problems(s, principal.zone_id, org, where, after, limit + 1)
    items, nxt = PROBLEMS_KEYSET.page(rows, limit, res.settings.secret_key)
    return ProblemListing(items=items, next_cursor=nxt)


async def create_problem(res: Resources, principal: Principal, body: ProblemIn) -> ProblemRow:
    org = org_of(principal)
    await _ensure_classes(res, principal, org, body.class_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await queries.insert_problem(s, principal.zone_id, org, principal.user_id, body.model_dump())


async def get_problem(res: Resources, principal: Principal, problem_id: uuid.UUID) -> ProblemRow:
    org = org_of(principal)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await one_problem(s, principal.zone_id, org, problem_id)


def _merged(row: ProblemRow, changes: dict[str, Any]) -> ProblemFields:
    """The problem with the change applied, valid as a whole (else 422 `request.invalid`)."""
    try:
        return ProblemFields.model_validate({**{n: getattr(row, n) for n in ProblemFields.model_fields}, **changes})
    except ValidationError as err:
        raise _invalid(err) from None


async def update_problem(res: Resources, principal: Principal, problem_id: uuid.UUID,
                         body: ProblemPatch) -> ProblemRow:
    """Merge the change; the result must be valid as a whole. A teacher needs the problem's class
    and the class it moves to."""
    org = org_of(principal)
    changes = body.model_dump(exclude_unset=True)
    current = await get_problem(res, principal, problem_id)
    fields = _merged(current, changes)
    await _ensure_classes(res, principal, org, current.class_id, fields.class_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        locked = await one_problem(s, principal.zone_id, org, problem_id, lock=True)
        if locked.class_id not in (current.class_id, None) and principal.role not in ADMIN_ROLES:
            raise not_your_class(locked.class_id)  # moved meanwhile to a class not checked above
        # Merged again onto the locked row, so a change made meanwhile to other fields stays.
        fields = _merged(locked, changes)
        row = await queries.update_problem(s, principal.zone_id, org, problem_id, fields.model_dump())
    if row is None:
        raise problem_not_found(problem_id)
    return row


async def delete_problem(res: Resources, principal: Principal, problem_id: uuid.UUID) -> None:
    org = org_of(principal)
    current = await get_problem(res, principal, problem_id)
    await _ensure_classes(res, principal, org, current.class_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        locked = await one_problem(s, principal.zone_id, org, problem_id, lock=True)
        if locked.class_id not in (current.class_id, None) and principal.role not in ADMIN_ROLES:
            raise not_your_class(locked.class_id)
        await queries.delete_problem(s, principal.zone_id, org, problem_id)


def import_refused(errors: list[ImportRowError], rows: int | None = None) -> AppError:
    bad_rows = len({e.row for e in errors})
    detail = (f"{bad_rows} row(s) of {rows} are invalid; nothing was imported" if rows is not None
              else f"the file cannot be imported: {errors[0].detail}" if errors else "the file cannot be imported")
    return AppError(422, "classroom.import_invalid", detail, {
        "errors": [e.model_dump() for e in errors[:MAX_REPORTED]], "error_count": len(errors),
        "errors_truncated": len(errors) > MAX_REPORTED})


def import_too_large() -> AppError:
    return AppError(413, "classroom.import_too_large",
                    f"an import takes at most {import_file.MAX_BYTES // (1024 * 1024)} MB and "
                    f"{import_file.MAX_ROWS:,} rows")


async def _class_errors(res: Resources, principal: Principal, org: uuid.UUID,
                        problems: list[tuple[int, ProblemFields]]) -> list[ImportRowError]:
    """Rows naming a class the teacher is not assigned to (admins: none)."""
    named = {f.class_id for _, f in problems if f.class_id is not None}
    if not named or principal.role in ADMIN_ROLES:
        return []
    mine = set(await teacher_class_ids(res, principal.zone_id, org, principal.user_id))
    return [ImportRowError(row=n, column="class_id", code="not_your_class",
                           detail=f"class {f.class_id} does not exist in your org or is not yours")
            for n, f in problems if f.class_id is not None and f.class_id not in mine]


async def import_problems(res: Resources, principal: Principal, data: bytes, filename: str = "") -> ImportResult:
    """Read and check the whole file (off the event loop), then insert every row in one
    transaction — or nothing, when any row is bad."""
    org = org_of(principal)
    if len(data) > import_file.MAX_BYTES:
        raise import_too_large()
    try:
        read = await asyncio.to_thread(import_file.read_file, data, filename)
    except TooLarge:
        raise import_too_large() from None
    except FileRefused as refused:
        raise import_refused(refused.errors) from None
    errors = read.errors + await _class_errors(res, principal, org, read.problems)
    if errors:
        errors.sort(key=lambda e: e.row)
        raise import_refused(errors, read.rows)
    docs = [f.model_dump() for _, f in read.problems]
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        created = await queries.insert_problems(s, principal.zone_id, org, principal.user_id, docs)
    by_type = Counter(d["type"] for d in docs)
    shared = sum(1 for d in docs if d["class_id"] is None)
    return ImportResult(created=created, by_type={t: by_type.get(t, 0) for t in ("vocabulary", "proverb", "math")},
                        shared=shared, class_specific=created - shared)


TEMPLATE_ROWS = [
    import_file.COLUMNS,
    ("math", "2", "4", "1/2 + 1/4 = ?", "3/4", "1/2|2/6|3/4|1", "1/2 = 2/4, and 2/4 + 1/4 = 3/4.", "false", "30", ""),
    ("math", "1", "3", "12 × 4 = ?", "48", "", "", "false", "", ""),
    ("vocabulary", "1", "3", "'사과'를 영어로?", "apple", "", "", "true", "20", ""),
    ("vocabulary", "2", "5", "Korean for 'colour'?", "색|색깔", "", "Both are right.", "true", "", ""),
    ("proverb", "3", "6", "가는 말이 고와야 ___", "오는 말이 곱다", "", "", "true", "45", ""),
]
