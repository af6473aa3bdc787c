"""The rules of the question bank.

- Visibility and writes: questions/access.py (org rows by the org; zone-shared rows, org_id NULL,
  read by the whole zone and written by zone/super admins). Another org's question is 404.
- Every question is embedded through inference's `Embed` before its transaction opens. When
  inference cannot embed, the question is stored `embedding_status='pending'` and the answer says
  `duplicate_check: pending`; `backfill_embeddings` (the upkeep loop) embeds it later.
- Duplicates (questions/duplicates.py): the new question's nearest visible neighbours at or above
  `duplicate_similarity` are confirmed by the negation / number / opposite / answer checks; a
  confirmed one is 409 `arena.duplicate_question` naming it, unless `allow_duplicate`. A new org
  question is compared with the org's and the zone-shared ones; a new shared one with the shared
  ones. Creates and imports of a zone are serialised (advisory lock) so that two identical
  questions sent at once cannot both pass.
- An import is all or nothing: rows are read and checked, embedded, compared with the bank and
  with the file's earlier rows; one bad or duplicate row and nothing is written (422
  `arena.import_invalid`, a report per row).
- A question a match has used cannot be deleted (409 `arena.question_in_use`).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.pagination import Keyset
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.arena import embeddings
from services.arena.categories import queries as category_queries
from services.arena.categories.service import usable_categories
from services.arena.embeddings import Vector
from services.arena.questions import import_file, queries
from services.arena.questions.access import context, ensure_writable, not_found, owner_org
from services.arena.questions.duplicates import Draft, confirm
from services.arena.questions.import_file import MAX_REPORTED, FileRefused, ReadRow, TooLarge
from services.arena.questions.queries import QuestionFilter, QuestionRow
from services.arena.questions.schemas import (
    DuplicateCheck,
    ImportResult,
    ImportRowReport,
    QuestionFields,
    QuestionIn,
    QuestionPatch,
)
from services.arena.settings import ArenaSettings
from services.arena.similar import search
from services.arena.similar.queries import Scope

log = get_logger("arena.questions")

QUESTIONS_KEYSET = Keyset("arena.questions", created_at=dt.datetime, id=uuid.UUID)
SHORTLIST = 10  # nearest neighbours read for a duplicate check


@dataclass(frozen=True)
class Listing:
    items: list[QuestionRow]
    next_cursor: str | None


@dataclass(frozen=True)
class Saved:
    row: QuestionRow
    duplicate_check: DuplicateCheck


@dataclass(frozen=True)
class Duplicate:
    question: QuestionRow
    similarity: float


@dataclass
class _ImportPlan:
    reads: list[ReadRow]
    vectors: list[Vector] | None
    errors: list[ImportRowReport] = field(default_factory=list)
    duplicates: list[ImportRowReport] = field(default_factory=list)
    categories: dict[int, list[uuid.UUID]] = field(default_factory=dict)


def settings_of(res: Resources) -> ArenaSettings:
    assert isinstance(res.settings, ArenaSettings), "arena's resources carry ArenaSettings"
    return res.settings


def draft_of(q: QuestionFields | QuestionRow) -> Draft:
    return Draft(type=q.type, content=q.content, answer=q.answer, aliases=tuple(q.aliases))


def duplicate_error(dup: Duplicate) -> AppError:
    return AppError(409, "arena.duplicate_question",
                    f"a near-duplicate question exists: {dup.question.id} (similarity {dup.similarity:.3f})",
                    {"duplicate_of": str(dup.question.id), "similarity": round(dup.similarity, 4),
                     "duplicate_content": dup.question.content})


def _scope(zone_id: int, org_id: uuid.UUID | None) -> Scope:
    """The questions a question of `org_id` is compared with: its org's and the shared ones."""
    return Scope(zone_id, org_id, shared_only=org_id is None)


async def lock_zone_writes(s: AsyncSession, zone_id: int) -> None:
    await s.execute(text("SELECT pg_advisory_xact_lock(hashtext('arena.questions'), :z)"), {"z": zone_id})


async def find_duplicate(s: AsyncSession, zone_id: int, org_id: uuid.UUID | None, draft: Draft, vector: Vector,
                         threshold: float, exclude: list[uuid.UUID] | None = None) -> Duplicate | None:
    """The nearest confirmed duplicate of `draft` among the questions it is compared with."""
    near = [n for n in await search.nearest(s, _scope(zone_id, org_id), vector, SHORTLIST, exclude_ids=exclude or [])
            if n.similarity >= threshold]
    rows = {r.id: r for r in await queries.get_questions(s, zone_id, [n.id for n in near])}
    for n in near:
        row = rows.get(n.id)
        if row is not None and confirm(draft, draft_of(row), n.similarity, threshold):
            return Duplicate(row, n.similarity)
    return None


async def _with_categories(s: AsyncSession, zone_id: int, rows: list[QuestionRow]) -> list[QuestionRow]:
    links = await category_queries.categories_of(s, zone_id, [r.id for r in rows])
    return [replace(r, category_ids=links.get(r.id, [])) for r in rows]


async def one_question(s: AsyncSession, zone_id: int, question_id: uuid.UUID, *, lock: bool = False) -> QuestionRow:
    row = await queries.get_question(s, zone_id, question_id, lock=lock)
    if row is None:
        raise not_found("question", question_id)
    return (await _with_categories(s, zone_id, [row]))[0]


async def list_questions(res: Resources, principal: Principal, where: QuestionFilter, *, cursor: str | None,
                         limit: int) -> Listing:
    after = QUESTIONS_KEYSET.decode(cursor, res.settings.secret_key)
    async with tenant_transaction(res.db(), context(principal)) as s:
        rows = await queries.list_questions(s, principal.zone_id, where, after, limit + 1)
        rows = await _with_categories(s, principal.zone_id, rows)
    items, nxt = QUESTIONS_KEYSET.page(rows, limit, res.settings.secret_key)
    return Listing(items=items, next_cursor=nxt)


async def get_question(res: Resources, principal: Principal, question_id: uuid.UUID) -> QuestionRow:
    async with tenant_transaction(res.db(), context(principal)) as s:
        return await one_question(s, principal.zone_id, question_id)


def _fields(body: QuestionFields) -> dict[str, Any]:
    return body.model_dump(exclude={"category_ids", "shared"})


async def create_question(res: Resources, principal: Principal, body: QuestionIn, *,
                          allow_duplicate: bool = False) -> Saved:
    org = owner_org(principal, body.shared)
    vector = await embeddings.embed_one_or_none(res, body.content)
    check: DuplicateCheck = "skipped" if allow_duplicate else "done" if vector is not None else "pending"
    async with tenant_transaction(res.db(), context(principal)) as s:
        await lock_zone_writes(s, principal.zone_id)
        categories = await usable_categories(s, principal.zone_id, org, body.category_ids)
        if vector is not None and not allow_duplicate:
            dup = await find_duplicate(s, principal.zone_id, org, draft_of(body), vector,
                                       settings_of(res).duplicate_similarity)
            if dup is not None:
                raise duplicate_error(dup)
        row = await queries.insert_question(s, principal.zone_id, org, principal.user_id, _fields(body), vector)
        await category_queries.link_question(s, principal.zone_id, org, row.id, categories)
        await record_audit(s, schema="arena", actor=principal, zone_id=principal.zone_id, org_id=org,
                           target_type="question", target_id=row.id, action="arena.question.created",
                           after={"type": row.type, "shared": org is None, "categories": [str(c) for c in categories]})
        return Saved(replace(row, category_ids=categories), check)


def _invalid(err: ValidationError) -> AppError:
    errors = [{"loc": ["body", *e.get("loc", ())], "msg": e.get("msg"), "type": e.get("type")} for e in err.errors()]
    return AppError(422, "arena.question_invalid", str(errors[0]["msg"]) if errors else "the question is invalid",
                    {"errors": errors})


def _merged(row: QuestionRow, changes: dict[str, Any]) -> QuestionFields:
    """The question with the change applied, valid as a whole (else 422 `arena.question_invalid`)."""
    current = {n: getattr(row, n) for n in QuestionFields.model_fields}
    if changes.get("type") not in (None, "mc") and "choices" not in changes:
        current["choices"] = None  # a question that stops being multiple choice drops its choices
    try:
        return QuestionFields.model_validate({**current, **changes})
    except ValidationError as err:
        raise _invalid(err) from None


async def update_question(res: Resources, principal: Principal, question_id: uuid.UUID, body: QuestionPatch, *,
                          allow_duplicate: bool = False) -> Saved:
    """Merge the change; a new content is embedded again and checked for duplicates."""
    changes = body.model_dump(exclude_unset=True)
    current = await get_question(res, principal, question_id)
    ensure_writable(principal, current.org_id)
    fields = _merged(current, changes)
    reembed = fields.content != current.content
    vector = await embeddings.embed_one_or_none(res, fields.content) if reembed else None
    check: DuplicateCheck = "skipped" if allow_duplicate else "pending" if reembed and vector is None else "done"
    async with tenant_transaction(res.db(), context(principal)) as s:
        await lock_zone_writes(s, principal.zone_id)
        locked = await one_question(s, principal.zone_id, question_id, lock=True)
        fields = _merged(locked, changes)  # onto the locked row: a change made meanwhile stays
        categories = await usable_categories(s, principal.zone_id, locked.org_id, fields.category_ids)
        if check == "done" and (reembed or changes.keys() & {"answer", "aliases", "choices", "type"}):
            checked = await _refuse_duplicate(s, res, principal.zone_id, locked.org_id, fields, question_id,
                                              vector or await queries.embedding_of(s, principal.zone_id, question_id))
            check = "done" if checked else "pending"
        row = await queries.update_question(s, principal.zone_id, question_id, _fields(fields), vector,
                                            reembed=fields.content != locked.content)
        if row is None:
            raise not_found("question", question_id)
        if "category_ids" in changes:
            await category_queries.link_question(s, principal.zone_id, locked.org_id, question_id, categories)
        await record_audit(s, schema="arena", actor=principal, zone_id=principal.zone_id, org_id=locked.org_id,
                           target_type="question", target_id=question_id, action="arena.question.updated",
                           before={"fields": sorted(changes)}, after={"fields": sorted(changes), "reembedded": reembed})
        return Saved(replace(row, category_ids=categories), check)


async def _refuse_duplicate(s: AsyncSession, res: Resources, zone_id: int, org_id: uuid.UUID | None,
                            fields: QuestionFields, question_id: uuid.UUID, vector: Vector | None) -> bool:
    """409 when the changed question duplicates another; False when it has no embedding yet
    (nothing to compare: the check is pending)."""
    if vector is None:
        return False
    dup = await find_duplicate(s, zone_id, org_id, draft_of(fields), vector, settings_of(res).duplicate_similarity,
                               exclude=[question_id])
    if dup is not None:
        raise duplicate_error(dup)
    return True


async def delete_question(res: Resources, principal: Principal, question_id: uuid.UUID) -> None:
    async with tenant_transaction(res.db(), context(principal)) as s:
        ensure_writable(principal, (await one_question(s, principal.zone_id, question_id)).org_id)
        await one_question(s, principal.zone_id, question_id, lock=True)
        if await queries.is_played(s, principal.zone_id, question_id):
            raise AppError(409, "arena.question_in_use", f"question {question_id} was played in a match; its rounds "
                                                         "keep it")
        question = await one_question(s, principal.zone_id, question_id)
        await queries.delete_question(s, principal.zone_id, question_id)
        await record_audit(s, schema="arena", actor=principal, zone_id=principal.zone_id, org_id=question.org_id,
                           target_type="question", target_id=question_id, action="arena.question.deleted",
                           before={"type": question.type, "shared": question.org_id is None})


async def backfill_embeddings(res: Resources, zone_id: int, limit: int = 256) -> int:
    """Embed up to `limit` pending questions of the zone (oldest first); the number stored. Zero
    when inference is still down (nothing changes; the next pass tries again). For the upkeep
    loop: reads under a zone-admin context, embeds outside any transaction, stores each vector
    only if its row is unchanged since it was read."""
    ctx = TenantContext(zone_id=zone_id, role="zone_admin")
    async with tenant_transaction(res.db(), ctx) as s:
        pending = await queries.pending_embeddings(s, zone_id, limit)
    if not pending:
        return 0
    vectors = await embeddings.embed_or_none(res, [p.content for p in pending])
    if vectors is None:
        return 0
    async with tenant_transaction(res.db(), ctx) as s:
        stored = [await queries.set_embedding(s, zone_id, p, v) for p, v in zip(pending, vectors, strict=True)]
    log.info("embeddings backfilled", zone_id=zone_id, stored=sum(stored), read=len(pending))
    return sum(stored)


# ------------------------------------------------------------------------------------------------
# Import


def import_refused(errors: list[ImportRowReport], rows: int | None = None) -> AppError:
    bad_rows = len({e.row for e in errors})
    detail = (f"{bad_rows} row(s) of {rows} are invalid or duplicates; nothing was imported" if rows is not None
              else f"the file cannot be imported: {errors[0].detail}" if errors else "the file cannot be imported")
    return AppError(422, "arena.import_invalid", detail, {
        "errors": [e.model_dump(mode="json") for e in errors[:MAX_REPORTED]], "error_count": len(errors),
        "errors_truncated": len(errors) > MAX_REPORTED})


def import_too_large() -> AppError:
    return AppError(413, "arena.import_too_large", f"an import takes at most {import_file.MAX_BYTES // (1024 * 1024)}"
                                                   f" MB and {import_file.MAX_ROWS:,} rows")


def _duplicate_row(n: int, detail: str, **where: Any) -> ImportRowReport:
    return ImportRowReport(row=n, column="content", code="duplicate", detail=detail, **where)


def _duplicates_within(plan: _ImportPlan, threshold: float) -> None:
    """Rows that repeat an earlier row of the same file (cosine of the unit vectors = dot product)."""
    if not plan.vectors or len(plan.reads) < 2:
        return
    sims = np.asarray(plan.vectors, dtype=np.float32) @ np.asarray(plan.vectors, dtype=np.float32).T
    for j, later in enumerate(plan.reads):
        for i in np.flatnonzero(sims[j, :j] >= threshold):
            earlier = plan.reads[int(i)]
            if confirm(draft_of(later.fields), draft_of(earlier.fields), float(sims[j, i]), threshold):
                plan.duplicates.append(_duplicate_row(later.row, f"repeats row {earlier.row}",
                                                      duplicate_of_row=earlier.row, similarity=round(float(sims[j, i]), 4)))
                break


def _resolve(refs: list[str], visible: list[category_queries.CategoryRow]) -> tuple[list[uuid.UUID], str | None]:
    """Category ids for the refs (id, name or path); an error text for the first that fails."""
    out = []
    for ref in refs:
        key = ref.casefold()
        hits = [c.id for c in visible if str(c.id) == key or c.name.casefold() == key
                or "/".join(c.path or []).casefold() == key]
        if len(hits) != 1:
            return [], f"category {ref!r} {'is ambiguous (use its id or path)' if hits else 'does not exist'}"
        out.append(hits[0])
    return out, None


async def _check_against_bank(s: AsyncSession, zone_id: int, org: uuid.UUID | None, plan: _ImportPlan,
                              threshold: float) -> None:
    visible = [c for c in await category_queries.list_tree(s, zone_id)
               if c.org_id is None or (org is not None and c.org_id == org)]
    for k, read in enumerate(plan.reads):
        ids, problem = _resolve(read.category_refs, visible)
        if problem:
            plan.errors.append(import_file.error(read.row, "categories", "unknown_category", problem))
        plan.categories[read.row] = ids
        if plan.vectors is not None:
            dup = await find_duplicate(s, zone_id, org, draft_of(read.fields), plan.vectors[k], threshold)
            if dup is not None:
                plan.duplicates.append(_duplicate_row(read.row, f"duplicates question {dup.question.id}",
                                                      duplicate_of=dup.question.id, similarity=round(dup.similarity, 4)))


async def _read(data: bytes, filename: str) -> import_file.ReadFile:
    if len(data) > import_file.MAX_BYTES:
        raise import_too_large()
    try:
        return await asyncio.to_thread(import_file.read_file, data, filename)
    except TooLarge:
        raise import_too_large() from None
    except FileRefused as refused:
        raise import_refused(refused.errors) from None


async def import_questions(res: Resources, principal: Principal, data: bytes, filename: str = "", *,
                           shared: bool = False, allow_duplicate: bool = False) -> ImportResult:
    """Read and check the whole file (off the event loop), embed it, compare it with the bank and
    itself, then insert every row in one transaction — or nothing (module doc)."""
    org = owner_org(principal, shared)
    read = await _read(data, filename)
    if read.errors:
        raise import_refused(sorted(read.errors, key=lambda e: e.row), read.rows)
    plan = _ImportPlan(read.questions, await embeddings.embed_or_none(res, [r.fields.content for r in read.questions]))
    threshold = settings_of(res).duplicate_similarity
    _duplicates_within(plan, threshold)
    async with tenant_transaction(res.db(), context(principal)) as s:
        await lock_zone_writes(s, principal.zone_id)
        await _check_against_bank(s, principal.zone_id, org, plan, threshold)
        refused = plan.errors + ([] if allow_duplicate else plan.duplicates)
        if refused:
            raise import_refused(sorted(refused, key=lambda e: e.row), read.rows)
        ids = []
        for k, r in enumerate(plan.reads):
            row = await queries.insert_question(s, principal.zone_id, org, principal.user_id, _fields(r.fields),
                                                plan.vectors[k] if plan.vectors is not None else None)
            await category_queries.link_question(s, principal.zone_id, org, row.id, plan.categories[r.row])
            ids.append(row.id)
    by_type = Counter(r.fields.type for r in plan.reads)
    check: DuplicateCheck = "skipped" if allow_duplicate else "done" if plan.vectors is not None else "pending"
    return ImportResult(created=len(ids), by_type={t: by_type.get(t, 0) for t in ("mc", "short", "free")},
                        duplicate_check=check, ids=ids, duplicates=sorted(plan.duplicates, key=lambda e: e.row))


TEMPLATE_ROWS = [
    import_file.COLUMNS,
    ("mc", "Which particle carries no electric charge?", "neutron", "proton|neutron|electron", "", "",
     "Neutrons are electrically neutral.", "2", "Physics"),
    ("short", "What is 3/4 as a decimal?", "0.75", "", "3/4", "", "3 ÷ 4 = 0.75", "1", ""),
    ("free", "Explain why ice floats on water.", "Ice is less dense than liquid water.", "", "",
     "mentions density; ice less dense than water; hydrogen bonds hold an open lattice", "", "3", ""),
]
