"""Accounts from a roster (issue #13 §2): after an import, one account per student it touched
(and per parent: its email when the roster has one, else its phone), the student and parent memberships, the parent roster records and
parent–student links approved by the school — in chunks, like the import itself.

Per chunk of `CHUNK_STUDENTS` students (keyset by id over the import's live students):
1. a short read: the parent records of the chunk's parent emails and phones that have an account;
2. one `ProvisionAccounts` call to auth, with no transaction open: a person is keyed
   `student:<roster id>` / `parent:<hex of the email's blind index>` (a parent email given) /
   `parent:<hex of the phone's blind index>` (none; the index separates the two kinds), so auth
   answers the same account for the same person however often the roster is provisioned and
   holds no parent's address in its keys. Keys were once the plaintext `parent:<email|phone>`:
   each parent also sends that as its previous key, and auth renames such a mapping to the new
   key (the same account, the plaintext gone) — an index key change (leak runbook) re-keys too,
   by tenant's record of the parent's account (linked, `user_id`); a student or parent tenant already knows an account for is
   linked to it, and so is an email that has an account in the zone (auth never makes a second
   one); new accounts get a one-time code in auth (a parent with an email logs in with it);
3. one transaction with a fixed handful of statements: roster records get their user, the
   memberships they lack (student / parent; an existing membership keeps its role), parent
   records, and the links approved (new or pending -> approved; `parent_link.approved` events).

Everything is idempotent, so a failed job (auth down mid-way: 503 in the job's progress) is
simply started again; chunks already done change nothing. Only one provisioning of an import
runs at a time (a Redis lock with a TTL, renewed per chunk, so a dead process frees it).
Codes stay in auth until the activation sheet takes them (`service.activation_sheet`).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from megacity.audit import AuditActor, record_audit
from megacity.db import TenantContext, tenant_transaction
from megacity.events.outbox import add_event
from megacity.job_progress import JobProgress
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.tenant import users_client
from services.tenant.pii import TenantPii, tenant_pii
from services.tenant.roster_import import queries
from services.tenant.roster_import.queries import RosterPerson

log = get_logger("tenant.roster_provision")

CHUNK_STUDENTS = 500  # + at most as many parents: within auth's 1000 people per call
KIND = "roster_provision"
LOCK_SECONDS = 300


def parent_name(student_name: str) -> str:
    return f"Parent of {student_name}"[:100]


@dataclass(frozen=True)
class ProvisionJob:
    job_id: uuid.UUID
    import_id: uuid.UUID
    ctx: TenantContext  # the admin's tenant context
    reissue: bool
    total: int

    @property
    def zone_id(self) -> int:
        return self.ctx.zone_id

    @property
    def org_id(self) -> uuid.UUID:
        assert self.ctx.org_id is not None
        return self.ctx.org_id

    @property
    def by(self) -> uuid.UUID:
        assert self.ctx.user_id is not None
        return self.ctx.user_id


@dataclass
class Totals:
    students: int = 0
    created: int = 0  # new accounts (students and parents)
    linked: int = 0  # people linked to an account that existed already
    existing: int = 0  # provisioned before
    codes: int = 0  # new activation codes waiting in the sheet
    memberships: int = 0
    links_approved: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"students": self.students, "accounts_created": self.created, "accounts_linked": self.linked,
                "accounts_existing": self.existing, "codes_issued": self.codes, "memberships_added": self.memberships,
                "links_approved": self.links_approved}


def lock_key(res: Resources, zone_id: int, org_id: uuid.UUID, import_id: uuid.UUID) -> str:
    return res.keys.tenant(zone_id, org_id, "roster_provision", import_id)


@dataclass(frozen=True)
class ParentKey:
    """Who a student's parent is: its email when the roster gives one, else its phone."""

    email: str | None
    phone: str

    def external_key(self, pii: TenantPii) -> str:
        """Auth's key for this parent: the blind index, never the address (auth keeps its keys)."""
        digest = pii.index.email(self.email) if self.email else pii.index.phone(self.phone)
        return f"parent:{digest.hex()}"

    @property
    def legacy_key(self) -> str:
        """The key before the index (plaintext): sent as the previous key so auth re-keys it."""
        return f"parent:{self.email or self.phone}"


def parent_of(st: RosterPerson) -> ParentKey:
    return ParentKey(st.parent_email, st.parent_phone if st.parent_email is None else "")


def parents_by_key(keys: set[ParentKey], records: list[queries.SheetParent]) -> dict[ParentKey, queries.SheetParent]:
    """The parent record (with an account) of each key: the one of that email; for a key by phone,
    one of that phone WITHOUT an email (a record with an email is an email-keyed parent's, even
    when it has the same phone: a row without the parent email is keyed by phone, consistently)."""
    emails = {k.email for k in keys if k.email}
    phones = {k.phone for k in keys if k.email is None}
    found: dict[ParentKey, queries.SheetParent] = {}
    for r in sorted(records, key=lambda r: str(r.user_id)):
        if r.email is not None and r.email in emails:
            found.setdefault(ParentKey(r.email, ""), r)
        elif r.email is None and r.phone is not None and r.phone in phones:
            found.setdefault(ParentKey(None, r.phone), r)
    return found


async def provision_chunk(res: Resources, job: ProvisionJob, students: list[RosterPerson], totals: Totals) -> None:
    """Accounts, memberships, parent records and approved links for one chunk (see module doc)."""
    first_child: dict[ParentKey, RosterPerson] = {}
    for st in students:
        first_child.setdefault(parent_of(st), st)
    keys = list(first_child)
    pii = tenant_pii(res.settings)
    external = {k: k.external_key(pii) for k in keys}
    async with tenant_transaction(res.db(), job.ctx) as s:
        known = parents_by_key(set(keys), await queries.import_parents(
            s, pii, job.zone_id, job.org_id, sorted({k.phone for k in keys if k.email is None}),
            sorted({k.email for k in keys if k.email})))
    people = [users_client.NewPerson(f"student:{st.id}", st.name, st.email, job.reissue, st.user_id)
              for st in students]
    people += [users_client.NewPerson(external[k], parent_name(first_child[k].name), k.email, job.reissue,
                                      known[k].user_id if k in known else None, k.legacy_key) for k in keys]
    accounts = {a.external_key: a for a in await users_client.provision_accounts(
        res, job.zone_id, job.org_id, people, job.by)}
    for a in accounts.values():
        totals.outcomes[a.outcome] = totals.outcomes.get(a.outcome, 0) + 1
        totals.codes += a.code_issued
    student_user = {st.id: accounts[f"student:{st.id}"].user_id for st in students}
    parent_user = {k: accounts[external[k]].user_id for k in keys}
    # A parent account that is one of its own children's (an address on both sides of the
    # roster) gets no link to itself.
    pairs = [(parent_user[parent_of(st)], student_user[st.id], st.id) for st in students
             if parent_user[parent_of(st)] != student_user[st.id]]
    async with tenant_transaction(res.db(), job.ctx) as s:
        await queries.link_student_users(s, job.zone_id, job.org_id, list(student_user),
                                         list(student_user.values()))
        users = list(student_user.values()) + list(parent_user.values())
        roles = ["student"] * len(student_user) + ["parent"] * len(parent_user)
        added = await queries.add_memberships(s, job.zone_id, job.org_id, users, roles)
        totals.memberships += added
        records: dict[uuid.UUID, ParentKey] = {}  # one parent record per account, whatever keys share it
        for k, user in parent_user.items():
            records.setdefault(user, k)
        await queries.upsert_parents(s, tenant_pii(res.settings), job.zone_id, job.org_id, list(records),
                                     [parent_name(first_child[k].name) for k in records.values()],
                                     [first_child[k].parent_phone for k in records.values()],
                                     [k.email for k in records.values()])
        links = await queries.approve_links(s, job.zone_id, job.org_id, [p for p, _, _ in pairs],
                                            [u for _, u, _ in pairs], [r for _, _, r in pairs], job.by)
        for link in links:
            await add_event(s, "tenant", "parent_link.approved", {
                "link_id": str(link.id), "org_id": str(job.org_id), "parent_user_id": str(link.parent_user_id),
                "student_user_id": str(link.student_user_id),
                "student_id": str(link.student_id) if link.student_id else None, "status": "approved",
                "via": "roster_import", "by": str(job.by)}, zone_id=job.zone_id, org_id=job.org_id)
        totals.links_approved += len(links)
        outcomes = [a.outcome for a in accounts.values()]
        await record_audit(s, schema="tenant", actor=AuditActor.from_context(job.ctx), zone_id=job.zone_id,
                           org_id=job.org_id, target_type="roster_import", target_id=job.import_id,
                           action="tenant.roster_provision.chunk_applied", after={
                               "job_id": str(job.job_id), "students": len(students), "parents": len(parent_user),
                               "accounts": {o: outcomes.count(o) for o in sorted(set(outcomes))},
                               "memberships_added": added, "links_approved": len(links)})
    totals.students += len(students)
    totals.created = totals.outcomes.get("created", 0)
    totals.linked = totals.outcomes.get("linked", 0)
    totals.existing = totals.outcomes.get("existing", 0)


async def run_provision(res: Resources, job: ProvisionJob, progress: JobProgress,
                        chunk_students: int = CHUNK_STUDENTS) -> Totals:
    """The whole job: chunks, progress after each, the lock renewed; the summary event at the end."""
    started = time.perf_counter()
    totals = Totals()
    after: uuid.UUID | None = None
    await progress.update(job.zone_id, job.org_id, job.job_id, step="provisioning", processed=0, total=job.total,
                          errors=0)
    while True:
        async with tenant_transaction(res.db(), job.ctx) as s:
            students = await queries.import_students(s, tenant_pii(res.settings), job.zone_id, job.org_id,
                                                     job.import_id, after, chunk_students)
        if not students:
            break
        await provision_chunk(res, job, students, totals)
        after = students[-1].id
        await res.redis.expire(lock_key(res, job.zone_id, job.org_id, job.import_id), LOCK_SECONDS)
        await progress.update(job.zone_id, job.org_id, job.job_id, step="provisioning", processed=totals.students,
                              total=max(job.total, totals.students), errors=0)
    async with tenant_transaction(res.db(), job.ctx) as s:
        await add_event(s, "tenant", "roster.provision.completed", {
            "job_id": str(job.job_id), "import_id": str(job.import_id), "org_id": str(job.org_id),
            "status": "succeeded", **totals.as_dict()}, zone_id=job.zone_id, org_id=job.org_id)
        await record_audit(s, schema="tenant", actor=AuditActor.from_context(job.ctx), zone_id=job.zone_id,
                           org_id=job.org_id, target_type="roster_import", target_id=job.import_id,
                           action="tenant.roster_provision.completed", after={"job_id": str(job.job_id),
                                                                                **totals.as_dict()})
    log.info("roster provisioning done", import_id=str(job.import_id), job_id=str(job.job_id),
             seconds=round(time.perf_counter() - started, 2), **totals.as_dict())
    return totals
