"""One chunk of roster rows -> the database, in ONE transaction and a fixed handful of statements
whatever the chunk size (seed 004 §3: no get_or_create loop, no transaction per row):

1. classes named in the chunk: one INSERT … ON CONFLICT DO NOTHING from arrays, one SELECT;
2. existing students: one SELECT over `unnest(names, phone digests)` with an index lookup per key
   `(zone_id, org_id, name, parent_phone_index)` (`students_key_live`, then `students_key_deleted`;
   the blind index of `services.tenant.pii`: the phone itself is only stored encrypted),
   minimal columns, rows locked; a live match wins over a soft-deleted one, which is restored,
   not duplicated;
3. new students: one INSERT … SELECT FROM unnest(…);
4. matched students: one UPDATE … FROM unnest(…) by the locked rows' ctids (restores, changes,
   the import stamp);
5. per-row errors: one INSERT from arrays; 6. the import's counters: one UPDATE.

Every student the import touches is stamped with (last_import_id, last_import_row), so a row
repeating an earlier row of the same file is reported as a duplicate without keeping the
file's keys in memory. The statements themselves are in `queries.py`. Only new students and
changed emails are encrypted; a matched row's emails are compared by their blind index.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.tenant.fields import normalize_email, normalize_name, normalize_phone
from services.tenant.pii import TenantPii
from services.tenant.roster_import import queries
from services.tenant.roster_import.queries import NewStudents, StudentMatch, StudentUpdates
from services.tenant.roster_import.workbook import RawRow, cell_text, parse_grade

MAX_CLASS_NAME = 100


@dataclass
class StudentRow:
    number: int
    name: str
    grade: int
    parent_phone: str
    class_name: str | None  # None: the file has no class column, keep the student's class
    email: str | None
    parent_email: str | None = None
    class_id: uuid.UUID | None = None


@dataclass
class ChunkResult:
    rows: int = 0
    created: int = 0
    updated: int = 0
    restored: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, reason)

    @property
    def bad_rows(self) -> int:
        return len({e[0] for e in self.errors})


def validate(raw: RawRow, has_class: bool) -> tuple[StudentRow | None, list[tuple[int, str, str]]]:
    """A clean row, or the reasons (row, column, reason) why it is not one."""
    errors: list[tuple[int, str, str]] = []
    values: dict[str, Any] = {}
    checks = (("name", lambda v: normalize_name(cell_text(v))),
              ("grade", parse_grade),
              ("parent_phone", lambda v: normalize_phone(cell_text(v))))
    for column, check in checks:
        value = raw.values.get(column)
        if value is None or cell_text(value) == "":
            errors.append((raw.number, column, "required"))
            continue
        try:
            values[column] = check(value)
        except ValueError as exc:
            errors.append((raw.number, column, str(exc)))
    class_name = None
    if has_class:
        class_name = " ".join(cell_text(raw.values.get("class")).split())
        if len(class_name) > MAX_CLASS_NAME:
            errors.append((raw.number, "class", f"must be at most {MAX_CLASS_NAME} characters"))
    email = None
    if cell_text(raw.values.get("email")):
        try:
            email = normalize_email(cell_text(raw.values["email"]))
        except ValueError as exc:
            errors.append((raw.number, "email", str(exc)))
    parent_email = None
    if cell_text(raw.values.get("parent_email")):
        try:
            parent_email = normalize_email(cell_text(raw.values["parent_email"]))
        except ValueError as exc:
            errors.append((raw.number, "parent_email", str(exc)))
        else:  # one address cannot be both: the parent would be linked to itself
            if parent_email == email:
                errors.append((raw.number, "parent_email", "must differ from the student's email"))
    if errors:
        return None, errors
    return StudentRow(raw.number, values["name"], values["grade"], values["parent_phone"], class_name, email,
                      parent_email), []


class ClassCache:
    """Class ids by (grade, name) for one import; classes the file names are created once."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], uuid.UUID] = {}

    async def resolve(self, s: AsyncSession, zone_id: int, org_id: uuid.UUID, rows: list[StudentRow]) -> None:
        wanted = {(r.grade, r.class_name) for r in rows if r.class_name} - set(self.ids)
        if wanted:
            for c in await queries.upsert_classes(s, zone_id, org_id, [g for g, _ in wanted], [n for _, n in wanted]):
                self.ids[(c.grade, c.name)] = c.id
        for r in rows:
            if r.class_name:
                r.class_id = self.ids[(r.grade, r.class_name)]


async def apply_chunk(s: AsyncSession, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID,
                      raw_rows: list[RawRow], *, has_class: bool, classes: ClassCache, processed: int,
                      pii: TenantPii) -> ChunkResult:
    """Validate and upsert one chunk inside the caller's transaction (see module doc)."""
    result = ChunkResult(rows=len(raw_rows))
    by_key: dict[tuple[str, str], StudentRow] = {}
    for raw in raw_rows:
        row, errors = validate(raw, has_class)
        if row is None:
            result.errors.extend(errors)
            continue
        first = by_key.get((row.name, row.parent_phone))
        if first is not None:
            result.errors.append((row.number, "name", f"duplicate of row {first.number} (same name and parent_phone)"))
            continue
        by_key[(row.name, row.parent_phone)] = row
    rows = list(by_key.values())
    if rows:
        await classes.resolve(s, zone_id, org_id, rows)
        index = pii.index
        phones = [index.phone(r.parent_phone) for r in rows]
        matches = {(m.name, m.phone): m for m in await queries.match_students(
            s, zone_id, org_id, import_id, [r.name for r in rows], phones)}
        new: list[StudentRow] = []
        upd: list[tuple[StudentRow, StudentMatch, bool]] = []
        emails: list[tuple[str | None, bytes | None]] = []
        parent_emails: list[tuple[str | None, bytes | None]] = []
        for r, phone in zip(rows, phones, strict=True):
            m = matches.get((r.name, phone))
            if m is None:
                new.append(r)
            elif m.last_import_id == import_id and m.last_import_row != r.number:
                result.errors.append((r.number, "name", f"duplicate of row {m.last_import_row}"
                                                        " (same name and parent_phone)"))
            else:
                class_id = m.class_id if r.class_name is None else r.class_id
                email, parent_email = index.email_optional(r.email), index.email_optional(r.parent_email)
                new_email = email is not None and email != m.email
                new_parent_email = parent_email is not None and parent_email != m.parent_email
                changed = m.deleted or m.grade != r.grade or m.class_id != class_id or new_email or new_parent_email
                upd.append((r, m, changed))
                emails.append(pii.seal_email(r.email) if new_email else (None, None))
                parent_emails.append(pii.seal_email(r.parent_email) if new_parent_email else (None, None))
                if m.deleted:
                    result.restored += 1
                elif changed:
                    result.updated += 1
                else:
                    result.unchanged += 1
        if new:
            inserted = await queries.insert_students(s, zone_id, org_id, import_id, NewStudents(
                names=[r.name for r in new], grades=[r.grade for r in new], classes=[r.class_id for r in new],
                phones=[pii.seal_phone(r.parent_phone) for r in new], emails=[pii.seal_email(r.email) for r in new],
                parent_emails=[pii.seal_email(r.parent_email) for r in new], rows=[r.number for r in new]),
                pii.key_id)
            result.created += len(inserted)
            for r in new:
                if r.number not in inserted:  # another import created it between our SELECT and INSERT
                    result.errors.append((r.number, "name", "created concurrently by another import; import again"))
        if upd:
            await queries.update_students(s, zone_id, org_id, import_id, StudentUpdates(
                refs=[m.ref for _, m, _ in upd], grades=[r.grade for r, _, _ in upd],
                classes=[r.class_id for r, _, _ in upd], keep=[r.class_name is None for r, _, _ in upd],
                emails=emails, parent_emails=parent_emails, changed=[c for _, _, c in upd],
                rows=[r.number for r, _, _ in upd]), pii.key_id)
    if result.errors:
        await queries.insert_row_errors(s, zone_id, org_id, import_id, result.errors)
    await queries.add_counters(s, zone_id, org_id, import_id, processed=processed, created=result.created,
                               updated=result.updated, restored=result.restored, unchanged=result.unchanged,
                               bad=result.bad_rows)
    return result
