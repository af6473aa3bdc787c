"""SQL of the roster import: the import rows and their error reports (`tenant.roster_imports`,
`tenant.roster_import_errors`), the job's state changes, and the chunk upsert's fixed handful
of set-based statements (see `upsert.py` for why each is shaped as it is)."""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.pii import KEY_ID_ON_WRITE, TenantPii

_COLUMNS = ("id, org_id, created_by, filename, size_bytes, status, total_rows, processed_rows, created_count,"
            " updated_count, restored_count, unchanged_count, error_count, error, created_at, started_at, finished_at")


@dataclass(frozen=True)
class ImportRow:
    id: uuid.UUID
    org_id: uuid.UUID
    created_by: uuid.UUID
    filename: str
    size_bytes: int
    status: str
    total_rows: int | None
    processed_rows: int
    created_count: int
    updated_count: int
    restored_count: int
    unchanged_count: int
    error_count: int
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class RowErrorRow:
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class ImportRef:
    id: uuid.UUID
    org_id: uuid.UUID


# --- imports and their reports ---------------------------------------------------------------

async def insert_import(s: AsyncSession, import_id: uuid.UUID, zone_id: int, org_id: uuid.UUID,
                        created_by: uuid.UUID, filename: str, size_bytes: int, total_rows: int | None) -> None:
    await s.execute(text(
        "INSERT INTO tenant.roster_imports (id, zone_id, org_id, created_by, filename, size_bytes, total_rows)"
        " VALUES (:id, :z, :o, :by, :fn, :size, :total)"),
        {"id": import_id, "z": zone_id, "o": org_id, "by": created_by, "fn": filename, "size": size_bytes,
         "total": total_rows})


async def list_imports(s: AsyncSession, zone_id: int, org_id: uuid.UUID, limit: int) -> list[ImportRow]:
    rows = (await s.execute(text(
        f"SELECT {_COLUMNS} FROM tenant.roster_imports WHERE zone_id = :z AND org_id = :o"
        " ORDER BY created_at DESC LIMIT :limit"), {"z": zone_id, "o": org_id, "limit": limit})).all()
    return [ImportRow(**r._mapping) for r in rows]


async def get_import(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportRow | None:
    row = (await s.execute(text(
        f"SELECT {_COLUMNS} FROM tenant.roster_imports WHERE zone_id = :z AND org_id = :o AND id = :id"),
        {"z": zone_id, "o": org_id, "id": import_id})).first()
    return ImportRow(**row._mapping) if row is not None else None


async def import_errors(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID, limit: int,
                        offset: int) -> tuple[list[RowErrorRow], int]:
    """A page of the import's row errors (by row, column) and how many there are in all."""
    params = {"z": zone_id, "o": org_id, "id": import_id}
    rows = (await s.execute(text(
        "SELECT row_number AS row, column_name AS column, reason, count(*) OVER () AS total"
        " FROM tenant.roster_import_errors WHERE zone_id = :z AND org_id = :o AND import_id = :id"
        " ORDER BY row_number, column_name LIMIT :limit OFFSET :offset"),
        {**params, "limit": limit, "offset": offset})).all()
    total = rows[0].total if rows else (await s.execute(text(
        "SELECT count(*) FROM tenant.roster_import_errors WHERE zone_id = :z AND org_id = :o AND import_id = :id"),
        params)).scalar_one()
    return [RowErrorRow(r.row, r.column, r.reason) for r in rows], total


# --- the job's state --------------------------------------------------------------------------

async def touch_heartbeat(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> None:
    await s.execute(text("UPDATE tenant.roster_imports SET heartbeat_at = now()"
                         " WHERE zone_id = :z AND org_id = :o AND id = :id AND status IN ('queued', 'running')"),
                    {"z": zone_id, "o": org_id, "id": import_id})


async def fail_stale_imports(s: AsyncSession, zone_id: int, error: str, stale_after_seconds: float) -> list[ImportRef]:
    """End as failed the zone's unfinished imports whose heartbeat is older than the limit."""
    rows = (await s.execute(text(
        "UPDATE tenant.roster_imports SET status = 'failed', finished_at = now(), error = :error"
        " WHERE zone_id = :z AND status IN ('queued', 'running')"
        " AND heartbeat_at < now() - make_interval(secs => :stale) RETURNING id, org_id"),
        {"z": zone_id, "error": error, "stale": stale_after_seconds})).all()
    return [ImportRef(r.id, r.org_id) for r in rows]


async def mark_running(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> None:
    await s.execute(text("UPDATE tenant.roster_imports SET status = 'running', started_at = now(),"
                         " heartbeat_at = now() WHERE zone_id = :z AND org_id = :o AND id = :id"),
                    {"z": zone_id, "o": org_id, "id": import_id})


async def mark_succeeded(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID, rows: int) -> bool:
    """False when the import is no longer running (a sweep declared it interrupted meanwhile)."""
    return (await s.execute(text(
        "UPDATE tenant.roster_imports SET status = 'succeeded', finished_at = now(), total_rows = :total,"
        " processed_rows = :total WHERE zone_id = :z AND org_id = :o AND id = :id AND status = 'running'"
        " RETURNING id"), {"z": zone_id, "o": org_id, "id": import_id, "total": rows})).first() is not None


async def mark_failed(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID, error: str) -> None:
    await s.execute(text(
        "UPDATE tenant.roster_imports SET status = 'failed', finished_at = now(), error = :error"
        " WHERE zone_id = :z AND org_id = :o AND id = :id"),
        {"z": zone_id, "o": org_id, "id": import_id, "error": error})


# --- one chunk (upsert.py) --------------------------------------------------------------------

@dataclass(frozen=True)
class ClassKey:
    id: uuid.UUID
    grade: int
    name: str


@dataclass(frozen=True)
class StudentMatch:
    """An existing student for a (name, parent phone index) key of the chunk, locked; `ref` is its
    ctid. Phone and emails are their blind indexes (`services.tenant.pii`): compared, never read."""

    name: str
    phone: bytes
    ref: str
    id: uuid.UUID
    grade: int
    class_id: uuid.UUID | None
    email: bytes | None
    parent_email: bytes | None
    deleted: bool
    last_import_id: uuid.UUID | None
    last_import_row: int | None


async def upsert_classes(s: AsyncSession, zone_id: int, org_id: uuid.UUID, grades: list[int],
                         names: list[str]) -> list[ClassKey]:
    """Create the (grade, name) classes the org lacks; return the ids of all of them."""
    params = {"z": zone_id, "o": org_id, "g": grades, "n": names}
    await s.execute(text(
        "INSERT INTO tenant.classes (zone_id, org_id, grade, name)"
        " SELECT :z, :o, g, n FROM unnest(CAST(:g AS smallint[]), CAST(:n AS text[])) AS t(g, n)"
        " ON CONFLICT DO NOTHING"), params)
    found = await s.execute(text(
        "SELECT c.id, c.grade, c.name FROM tenant.classes c"
        " JOIN unnest(CAST(:g AS smallint[]), CAST(:n AS text[])) AS t(g, n) ON c.grade = t.g AND c.name = t.n"
        " WHERE c.zone_id = :z AND c.org_id = :o"), params)
    return [ClassKey(r.id, r.grade, r.name) for r in found]


# One index lookup per key, by construction (LATERAL subqueries per unnest row): a live student
# through `students_key_live`, else the latest soft-deleted one through `students_key_deleted`.
# Rows found are locked (FOR UPDATE) and come back with their ctid, which the UPDATE uses: a TID
# scan whatever the statistics say. (A plain join lets the planner, whose statistics lag behind an
# org an import is filling, scan the whole org for every chunk: O(rows²).)
_M = ("{a}.ctid::text AS ref, {a}.id, {a}.grade, {a}.class_id, {a}.email_index AS email,"
      " {a}.parent_email_index AS parent_email, {a}.deleted_at IS NOT NULL AS deleted,"
      " {a}.last_import_id, {a}.last_import_row")
_MATCH = text(
    "SELECT k.name, k.phone, coalesce(l.ref, d.ref) AS ref, coalesce(l.id, d.id) AS id,"
    " coalesce(l.grade, d.grade) AS grade, CASE WHEN l.ref IS NULL THEN d.class_id ELSE l.class_id END AS class_id,"
    " CASE WHEN l.ref IS NULL THEN d.email ELSE l.email END AS email,"
    " CASE WHEN l.ref IS NULL THEN d.parent_email ELSE l.parent_email END AS parent_email,"
    " coalesce(l.deleted, d.deleted) AS deleted,"
    " CASE WHEN l.ref IS NULL THEN d.last_import_id ELSE l.last_import_id END AS last_import_id,"
    " CASE WHEN l.ref IS NULL THEN d.last_import_row ELSE l.last_import_row END AS last_import_row"
    " FROM unnest(CAST(:names AS text[]), CAST(:phones AS bytea[])) AS k(name, phone)"
    f" LEFT JOIN LATERAL (SELECT {_M.format(a='s')} FROM tenant.students s WHERE s.zone_id = :z AND s.org_id = :o"
    "   AND s.name = k.name AND s.parent_phone_index = k.phone AND s.deleted_at IS NULL LIMIT 1 FOR UPDATE) AS l ON true"
    f" LEFT JOIN LATERAL (SELECT {_M.format(a='s')} FROM tenant.students s WHERE l.ref IS NULL AND s.zone_id = :z"
    "   AND s.org_id = :o AND s.name = k.name AND s.parent_phone_index = k.phone AND s.deleted_at IS NOT NULL"
    "   ORDER BY s.deleted_at DESC LIMIT 1 FOR UPDATE) AS d ON true"
    " WHERE coalesce(l.ref, d.ref) IS NOT NULL")
_INSERT = text(
    "INSERT INTO tenant.students (zone_id, org_id, name, grade, class_id, parent_phone_encrypted,"
    " parent_phone_index, email_encrypted, email_index, parent_email_encrypted, parent_email_index, pii_key_id,"
    " last_import_id, last_import_row)"
    " SELECT :z, :o, t.name, t.grade, t.class_id, t.phone_e, t.phone_i, t.email_e, t.email_i, t.parent_email_e,"
    " t.parent_email_i, :kid, :imp, t.row"
    " FROM unnest(CAST(:names AS text[]), CAST(:grades AS smallint[]), CAST(:classes AS uuid[]),"
    "  CAST(:phones_e AS text[]), CAST(:phones_i AS bytea[]), CAST(:emails_e AS text[]), CAST(:emails_i AS bytea[]),"
    "  CAST(:parent_emails_e AS text[]), CAST(:parent_emails_i AS bytea[]), CAST(:rows AS int[]))"
    "  AS t(name, grade, class_id, phone_e, phone_i, email_e, email_i, parent_email_e, parent_email_i, row)"
    " ON CONFLICT (zone_id, org_id, name, parent_phone_index) WHERE deleted_at IS NULL DO NOTHING"
    " RETURNING last_import_row")
_UPDATE = text(
    "UPDATE tenant.students s SET grade = v.grade,"
    " class_id = CASE WHEN v.keep_class THEN s.class_id ELSE v.class_id END,"
    # A new address only where its index differs (an unchanged one keeps its ciphertext: no write).
    " email_encrypted = CASE WHEN v.email_i IS NULL OR v.email_i = s.email_index THEN s.email_encrypted"
    "  ELSE v.email_e END, email_index = coalesce(v.email_i, s.email_index),"
    " parent_email_encrypted = CASE WHEN v.parent_email_i IS NULL OR v.parent_email_i = s.parent_email_index"
    "  THEN s.parent_email_encrypted ELSE v.parent_email_e END,"
    " parent_email_index = coalesce(v.parent_email_i, s.parent_email_index),"
    " deleted_at = NULL, " + KEY_ID_ON_WRITE + ","
    " updated_at = CASE WHEN v.changed THEN now() ELSE s.updated_at END,"
    " last_import_id = :imp, last_import_row = v.row"
    " FROM unnest(CAST(:refs AS tid[]), CAST(:grades AS smallint[]), CAST(:classes AS uuid[]),"
    "  CAST(:keep AS boolean[]), CAST(:emails_e AS text[]), CAST(:emails_i AS bytea[]),"
    "  CAST(:parent_emails_e AS text[]), CAST(:parent_emails_i AS bytea[]),"
    "  CAST(:changed AS boolean[]), CAST(:rows AS int[]))"
    "  AS v(ref, grade, class_id, keep_class, email_e, email_i, parent_email_e, parent_email_i, changed, row)"
    # The rows were found and locked in this transaction (RLS applies as well).
    " WHERE s.ctid = ANY(CAST(:refs AS tid[])) AND s.ctid = v.ref")
_ERRORS = text(
    "INSERT INTO tenant.roster_import_errors (zone_id, org_id, import_id, row_number, column_name, reason)"
    " SELECT :z, :o, :imp, r, c, m FROM unnest(CAST(:r AS int[]), CAST(:c AS text[]), CAST(:m AS text[])) AS t(r, c, m)"
    " ON CONFLICT DO NOTHING")
_COUNTERS = text(
    "UPDATE tenant.roster_imports SET processed_rows = :processed, created_count = created_count + :created,"
    " updated_count = updated_count + :updated, restored_count = restored_count + :restored,"
    " unchanged_count = unchanged_count + :unchanged, error_count = error_count + :bad"
    " WHERE zone_id = :z AND org_id = :o AND id = :imp")


@dataclass(frozen=True)
class NewStudents:
    """Columns of the students to insert, one list per column, one entry per student; phone and
    emails as (ciphertext, index) pairs (`TenantPii.seal_*`)."""

    names: list[str]
    grades: list[int]
    classes: list[uuid.UUID | None]
    phones: list[tuple[str | None, bytes | None]]
    emails: list[tuple[str | None, bytes | None]]
    parent_emails: list[tuple[str | None, bytes | None]]
    rows: list[int]


@dataclass(frozen=True)
class StudentUpdates:
    """Columns of the matched students to update (by the locked rows' ctids)."""

    refs: list[str]
    grades: list[int]
    classes: list[uuid.UUID | None]
    keep: list[bool]  # keep the student's class (the file has no class column)
    emails: list[tuple[str | None, bytes | None]]  # (ciphertext, index); index None keeps the email
    parent_emails: list[tuple[str | None, bytes | None]]  # the same for the parent email
    changed: list[bool]
    rows: list[int]


async def match_students(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                         names: list[str], phones: list[bytes]) -> list[StudentMatch]:
    rows = await s.execute(_MATCH, {"z": zone_id, "o": org_id, "imp": import_id, "names": names, "phones": phones})
    return [StudentMatch(**r._mapping) for r in rows]


def _pairs(name: str, sealed: list[tuple[str | None, bytes | None]]) -> dict[str, list[Any]]:
    return {f"{name}_e": [e for e, _ in sealed], f"{name}_i": [i for _, i in sealed]}


async def insert_students(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                          new: NewStudents, kid: str) -> set[int]:
    """The file rows whose student was inserted (a key created meanwhile is skipped)."""
    return {n for (n,) in await s.execute(_INSERT, {
        "z": zone_id, "o": org_id, "imp": import_id, "names": new.names, "grades": new.grades,
        "classes": new.classes, "kid": kid, **_pairs("phones", new.phones), **_pairs("emails", new.emails),
        **_pairs("parent_emails", new.parent_emails), "rows": new.rows})}


async def update_students(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                          upd: StudentUpdates, kid: str) -> None:
    await s.execute(_UPDATE, {"z": zone_id, "o": org_id, "imp": import_id, "kid": kid, "refs": upd.refs,
                              "grades": upd.grades,
                              "classes": upd.classes, "keep": upd.keep, **_pairs("emails", upd.emails),
                              **_pairs("parent_emails", upd.parent_emails), "changed": upd.changed,
                              "rows": upd.rows})


async def insert_row_errors(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                            errors: Sequence[tuple[int, str, str]]) -> None:
    await s.execute(_ERRORS, {"z": zone_id, "o": org_id, "imp": import_id, "r": [e[0] for e in errors],
                              "c": [e[1] for e in errors], "m": [e[2][:500] for e in errors]})


async def add_counters(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID, *, processed: int,
                       created: int, updated: int, restored: int, unchanged: int, bad: int) -> None:
    await s.execute(_COUNTERS, {"z": zone_id, "o": org_id, "imp": import_id, "processed": processed,
                                "created": created, "updated": updated, "restored": restored,
                                "unchanged": unchanged, "bad": bad})


# --- provisioning accounts from an import (provision.py) ---------------------------------------

@dataclass(frozen=True)
class RosterPerson:
    """A live student the import touched, with what provisioning and the sheet need."""

    id: uuid.UUID
    name: str
    grade: int
    class_name: str | None
    parent_phone: str
    email: str | None
    user_id: uuid.UUID | None
    parent_email: str | None = None


@dataclass(frozen=True)
class SheetParent:
    name: str
    phone: str | None
    email: str | None
    user_id: uuid.UUID


async def import_students(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                          after: uuid.UUID | None, limit: int) -> list[RosterPerson]:
    """The next `limit` live students whose last import is this one, by id (keyset), decrypted."""
    rows = await s.execute(text(
        "SELECT s.id, s.name, s.grade, c.name AS class_name, s.parent_phone_encrypted, s.email_encrypted, s.user_id,"
        " s.parent_email_encrypted"
        " FROM tenant.students s LEFT JOIN tenant.classes c"
        "  ON c.zone_id = s.zone_id AND c.org_id = s.org_id AND c.id = s.class_id"
        " WHERE s.zone_id = :z AND s.org_id = :o AND s.last_import_id = :imp AND s.deleted_at IS NULL"
        " AND (CAST(:after AS uuid) IS NULL OR s.id > :after) ORDER BY s.id LIMIT :limit"),
        {"z": zone_id, "o": org_id, "imp": import_id, "after": after, "limit": limit})
    return [RosterPerson(r.id, r.name, r.grade, r.class_name, pii.open(r.parent_phone_encrypted, where=f"students:{r.id}")
                         or "", pii.open(r.email_encrypted, where=f"students:{r.id}"), r.user_id,
                         pii.open(r.parent_email_encrypted, where=f"students:{r.id}")) for r in rows]


async def count_import_students(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> int:
    return (await s.execute(text(
        "SELECT count(*) FROM tenant.students WHERE zone_id = :z AND org_id = :o AND last_import_id = :imp"
        " AND deleted_at IS NULL"), {"z": zone_id, "o": org_id, "imp": import_id})).scalar_one()


async def link_student_users(s: AsyncSession, zone_id: int, org_id: uuid.UUID, ids: list[uuid.UUID],
                             users: list[uuid.UUID]) -> int:
    """Roster records without a user get theirs; how many changed."""
    result = await s.execute(text(
        "UPDATE tenant.students s SET user_id = v.u, updated_at = now()"
        " FROM unnest(CAST(:ids AS uuid[]), CAST(:users AS uuid[])) AS v(id, u)"
        " WHERE s.zone_id = :z AND s.org_id = :o AND s.id = v.id AND s.user_id IS NULL"),
        {"z": zone_id, "o": org_id, "ids": ids, "users": users})
    return int(getattr(result, "rowcount", 0) or 0)


async def add_memberships(s: AsyncSession, zone_id: int, org_id: uuid.UUID, users: list[uuid.UUID],
                          roles: list[str]) -> int:
    """Memberships the users lack (an existing one, whatever its role, is left alone)."""
    rows = await s.execute(text(
        "INSERT INTO tenant.memberships (zone_id, org_id, user_id, role)"
        " SELECT DISTINCT ON (u) :z, :o, u, r FROM unnest(CAST(:u AS uuid[]), CAST(:r AS text[])) AS t(u, r)"
        " ON CONFLICT DO NOTHING RETURNING user_id"), {"z": zone_id, "o": org_id, "u": users, "r": roles})
    return len(rows.all())


async def upsert_parents(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID, users: list[uuid.UUID],
                         names: list[str], phones: list[str], emails: list[str | None]) -> None:
    """A parent roster record per parent account: a live record without a user of that email (a
    parent keyed by email) or of that phone and no email (keyed by phone) gets the user; otherwise one is
    created with the phone and email (none twice for the same user). Matched by blind index."""
    sealed_phones = [pii.seal_phone(p) for p in phones]
    sealed_emails = [pii.seal_email(e) for e in emails]
    params = {"z": zone_id, "o": org_id, "u": users, "n": names, "kid": pii.key_id,
              **_pairs("p", sealed_phones), **_pairs("e", sealed_emails)}
    await s.execute(text(
        "UPDATE tenant.parents p SET user_id = v.u, email_encrypted = coalesce(p.email_encrypted, v.ee),"
        f" email_index = coalesce(p.email_index, v.ei), {KEY_ID_ON_WRITE}, updated_at = now()"
        " FROM unnest(CAST(:u AS uuid[]), CAST(:p_i AS bytea[]), CAST(:e_e AS text[]), CAST(:e_i AS bytea[]))"
        "  AS v(u, pi, ee, ei)"
        " WHERE p.zone_id = :z AND p.org_id = :o AND p.user_id IS NULL AND p.deleted_at IS NULL"
        " AND (CASE WHEN v.ei IS NULL THEN p.phone_index = v.pi AND p.email_index IS NULL ELSE p.email_index = v.ei END)"
        " AND NOT EXISTS (SELECT 1 FROM tenant.parents q WHERE q.zone_id = :z AND q.org_id = :o AND q.user_id = v.u)"),
        params)
    await s.execute(text(
        "INSERT INTO tenant.parents (zone_id, org_id, user_id, name, phone_encrypted, phone_index, email_encrypted,"
        " email_index, pii_key_id)"
        " SELECT :z, :o, v.u, v.n, v.pe, v.pi, v.ee, v.ei, :kid FROM unnest(CAST(:u AS uuid[]), CAST(:n AS text[]),"
        "  CAST(:p_e AS text[]), CAST(:p_i AS bytea[]), CAST(:e_e AS text[]), CAST(:e_i AS bytea[]))"
        "  AS v(u, n, pe, pi, ee, ei)"
        " WHERE NOT EXISTS (SELECT 1 FROM tenant.parents q WHERE q.zone_id = :z AND q.org_id = :o"
        "  AND q.user_id = v.u AND q.deleted_at IS NULL)"), params)


@dataclass(frozen=True)
class ApprovedLink:
    id: uuid.UUID
    parent_user_id: uuid.UUID
    student_user_id: uuid.UUID
    student_id: uuid.UUID | None


async def approve_links(s: AsyncSession, zone_id: int, org_id: uuid.UUID, parents: list[uuid.UUID],
                        students: list[uuid.UUID], records: list[uuid.UUID], by: uuid.UUID) -> list[ApprovedLink]:
    """Parent–student links approved by the school: new ones, and pending ones approved. The links
    that became approved now (already approved ones are left as they are)."""
    rows = await s.execute(text(
        "INSERT INTO tenant.parent_links (zone_id, org_id, parent_user_id, student_user_id, student_id, status,"
        " decided_at, decided_by)"
        " SELECT DISTINCT ON (p, u) :z, :o, p, u, r, 'approved', now(), :by"
        " FROM unnest(CAST(:p AS uuid[]), CAST(:u AS uuid[]), CAST(:r AS uuid[])) AS t(p, u, r)"
        " ON CONFLICT (zone_id, org_id, parent_user_id, student_user_id) WHERE status IN ('pending', 'approved')"
        " DO UPDATE SET status = 'approved', decided_at = now(), decided_by = :by,"
        "  student_id = coalesce(tenant.parent_links.student_id, excluded.student_id)"
        " WHERE tenant.parent_links.status = 'pending'"
        " RETURNING id, parent_user_id, student_user_id, student_id"),
        {"z": zone_id, "o": org_id, "p": parents, "u": students, "r": records, "by": by})
    return [ApprovedLink(**r._mapping) for r in rows]


async def import_parents(s: AsyncSession, pii: TenantPii, zone_id: int, org_id: uuid.UUID, phones: list[str],
                         emails: list[str]) -> list[SheetParent]:
    """Parent records with an account for these phones or emails (provisioning's hints, the
    activation sheet's parent rows; found by blind index, decrypted); `provision.parents_by_key`
    sorts them to parent keys."""
    rows = await s.execute(text(
        "SELECT DISTINCT ON (user_id) name, phone_encrypted, email_encrypted, user_id FROM tenant.parents"
        " WHERE zone_id = :z AND org_id = :o"
        " AND (phone_index = ANY(CAST(:p AS bytea[])) OR email_index = ANY(CAST(:e AS bytea[])))"
        " AND user_id IS NOT NULL AND deleted_at IS NULL ORDER BY user_id"),
        {"z": zone_id, "o": org_id, "p": [pii.index.phone(p) for p in phones],
         "e": [pii.index.email(e) for e in emails]})
    return [SheetParent(r.name, pii.open(r.phone_encrypted, where=f"parents:user:{r.user_id}"),
                        pii.open(r.email_encrypted, where=f"parents:user:{r.user_id}"), r.user_id) for r in rows]
