"""Roster provisioning, called by tenant over gRPC (`ProvisionAccounts`, `TakeActivationCodes`).

Not an HTTP feature: its errors reach tenant as gRPC statuses, never a client.

Provisioning makes one account per external key of an org, once: a key seen before answers its
account again, so tenant may repeat a whole roster (a retry after a failure, a new upload)
without duplicates. A person may name the key it had before (`previous_key`): when its new
key is unknown, the mapping of the old one is renamed to the new one in the same transaction
(tenant's parent keys once held the plaintext email or phone; now the blind index). A person
whose email already has an account in the zone is linked to it and never gets a code (the
owner has a password; a school must not be able to take it over). New accounts get a
password hash nobody knows (a real Argon2id hash of a discarded secret: login with any
password fails at full cost) and a one-time activation code.

Codes: 10 characters from a 32-letter alphabet without look-alikes (50 bits), shown as
`XXXXX-XXXXX`, valid `CODE_TTL_DAYS`. Auth checks only SHA-256(user id, code); the plaintext is
also Fernet-sealed with the PII keys so the org's activation sheet can show it ONCE
(`take_activation_codes` erases the sealed copy). Trade-off: between provisioning and the sheet
download (or expiry) a database-and-key compromise reveals unused codes; in exchange a lost
gRPC answer or a crashed job never loses a code, and tenant stores no secrets at all.
Activation is guarded like login (per account and per address, `brute_force.py`).
"""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.errors import AppError
from megacity.runtime import Resources
from services.auth import accounts, audit_log
from services.auth.activation import queries
from services.auth.activation.service import CODE_TTL_DAYS, code_hash
from services.auth.db_scope import scoped_transaction
from services.auth.one_time_codes import new_code
from services.auth.state import AuthState

MAX_PEOPLE = 1000
LOGIN_DOMAIN = "roster.invalid"  # RFC 2606: never a real mail domain
_LOGIN_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
MAX_KEY = 200

CREATED, EXISTING, LINKED = "created", "existing", "linked"


@dataclass(frozen=True)
class Person:
    external_key: str
    display_name: str
    email: str | None = None
    reissue: bool = False
    user_id: uuid.UUID | None = None  # the account the caller already knows for this person
    previous_key: str | None = None  # the person's former external key: renamed to this one


@dataclass(frozen=True)
class Provisioned:
    external_key: str
    user_id: uuid.UUID
    login_id: str
    outcome: str  # CREATED, EXISTING or LINKED
    code_issued: bool


@dataclass(frozen=True)
class SheetCode:
    user_id: uuid.UUID
    login_id: str
    code: str
    expires_at: dt.datetime


def new_login_id() -> str:
    return "".join(secrets.choice(_LOGIN_ALPHABET) for _ in range(8)) + "@" + LOGIN_DOMAIN


def _clean_email(email: str | None) -> str | None:
    if not email or not email.strip():
        return None
    try:
        return accounts.normalize_email(email)
    except AppError:
        return None  # tenant validated it; anything else gets a generated login id


def _validate(people: list[Person]) -> list[Person]:
    if len(people) > MAX_PEOPLE:
        raise AppError(400, "request.too_many", f"at most {MAX_PEOPLE} people per call")
    seen: set[str] = set()
    out = []
    for p in people:
        key = p.external_key.strip()
        if not key or len(key) > MAX_KEY:
            raise AppError(400, "request.invalid", f"external_key must be 1 to {MAX_KEY} characters")
        if key in seen:
            continue
        seen.add(key)
        name = " ".join(p.display_name.split())[:100] or key[:100]
        previous = (p.previous_key or "").strip() or None
        if previous is not None and len(previous) > MAX_KEY:
            raise AppError(400, "request.invalid", f"previous_external_key must be at most {MAX_KEY} characters")
        out.append(Person(key, name, _clean_email(p.email), p.reissue, p.user_id,
                          previous if previous != key else None))
    return out

async def _rename_previous(s: AsyncSession, zone_id: int, org_id: uuid.UUID,
                           people: list[Person]) -> dict[str, queries.Mapping]:
    """Mappings of unknown keys whose person names a previous key that has one: renamed (the
    org is locked, so neither key changes meanwhile); new key -> mapping."""
    wanted: dict[str, str] = {}  # previous -> new (the first person naming it)
    for p in people:
        if p.previous_key is not None and p.previous_key not in wanted:
            wanted[p.previous_key] = p.external_key
    if not wanted:
        return {}
    found = await queries.mappings(s, zone_id, org_id, list(wanted))
    pairs = [(old, wanted[old]) for old in found]
    if not pairs:
        return {}
    await queries.rename_mappings(s, zone_id, org_id, [o for o, _ in pairs], [n for _, n in pairs])
    return {new: replace(found[old], external_key=new) for old, new in pairs}


async def provision_accounts(res: Resources, st: AuthState, zone_id: int, org_id: uuid.UUID, people: list[Person],
                             requested_by: uuid.UUID | None = None) -> list[Provisioned]:
    """Accounts for `people` of the org, in one transaction (see the module doc for the rules)."""
    people = _validate(people)
    if not people:
        return []
    unusable = await st.hasher.hash(secrets.token_urlsafe(32))
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=CODE_TTL_DAYS)
    async with scoped_transaction(res.db(), zone_id, "service") as s:
        await queries.lock_org(s, zone_id, org_id)
        known = await queries.mappings(s, zone_id, org_id, [p.external_key for p in people])
        known.update(await _rename_previous(s, zone_id, org_id, [p for p in people if p.external_key not in known]))
        todo = [p for p in people if p.external_key not in known]
        # People whose account the caller knows already: linked to it (when it exists in the zone).
        hinted = await queries.users_by_id(s, zone_id, [p.user_id for p in todo if p.user_id]) \
            if any(p.user_id for p in todo) else {}
        results: dict[str, Provisioned] = {}
        for p in todo:
            if p.user_id is not None and p.user_id in hinted:
                results[p.external_key] = Provisioned(p.external_key, p.user_id, hinted[p.user_id], LINKED, False)
        todo = [p for p in todo if p.external_key not in results]
        emails = sorted({p.email for p in todo if p.email})
        linked = await queries.users_by_email(s, zone_id, emails) if emails else {}
        fresh = [e for e in emails if e not in linked]
        names = {p.email: p.display_name for p in reversed(todo) if p.email}
        made = await queries.insert_users(s, zone_id, fresh, [names[e] for e in fresh], unusable) if fresh else {}
        for e in fresh:
            if e not in made:  # registered meanwhile: link it
                linked.update(await queries.users_by_email(s, zone_id, [e]))
        # People without an email: a generated login id each (re-drawn on the rare collision).
        generated: dict[str, tuple[uuid.UUID, str]] = {}
        pending = [p for p in todo if not p.email]
        for _ in range(5):
            if not pending:
                break
            ids = {p.external_key: new_login_id() for p in pending}
            got = await queries.insert_users(s, zone_id, list(ids.values()), [p.display_name for p in pending],
                                             unusable)
            for p in pending:
                if ids[p.external_key] in got:
                    generated[p.external_key] = (got[ids[p.external_key]], ids[p.external_key])
            pending = [p for p in pending if p.external_key not in generated]
        if pending:
            raise AppError(503, "auth.provision_retry", "could not draw unique login ids; retry")

        for p in todo:
            if p.email and p.email in made:
                results[p.external_key] = Provisioned(p.external_key, made[p.email], p.email, CREATED, True)
            elif p.email:
                results[p.external_key] = Provisioned(p.external_key, linked[p.email], p.email, LINKED, False)
            else:
                user_id, login_id = generated[p.external_key]
                results[p.external_key] = Provisioned(p.external_key, user_id, login_id, CREATED, True)
        await queries.insert_mappings(s, zone_id, org_id, [r.external_key for r in results.values()],
                                      [r.user_id for r in results.values()],
                                      [r.outcome == CREATED for r in results.values()])
        for p in people:
            m = known.get(p.external_key)
            if m is not None:
                results[p.external_key] = Provisioned(p.external_key, m.user_id, m.login_id,
                                                      EXISTING if m.created else LINKED, p.reissue and m.created)
        coded = {r.user_id for r in results.values() if r.code_issued}
        codes = {u: new_code() for u in coded}
        if codes:
            users = list(codes)
            await queries.upsert_codes(s, zone_id, org_id, users, [code_hash(u, codes[u]) for u in users],
                                       [st.cipher.encrypt(codes[u]) for u in users], expires)
        outcomes = [r.outcome for r in results.values()]
        await audit_log.record(s, zone_id=zone_id, org_id=org_id, user_id=requested_by,
                               action="auth.accounts.provisioned",
                               details={"people": len(people), "created": outcomes.count(CREATED),
                                        "linked": outcomes.count(LINKED), "existing": outcomes.count(EXISTING),
                                        "codes": len(codes)})
    return [results[p.external_key] for p in people]


async def take_activation_codes(res: Resources, st: AuthState, zone_id: int, org_id: uuid.UUID,
                                user_ids: list[uuid.UUID], requested_by: uuid.UUID | None = None) -> list[SheetCode]:
    """The org's waiting codes of these users, in plaintext, once (their sealed copies are erased)."""
    if len(user_ids) > MAX_PEOPLE:
        raise AppError(400, "request.too_many", f"at most {MAX_PEOPLE} user ids per call")
    if not user_ids:
        return []
    async with scoped_transaction(res.db(), zone_id, "service") as s:
        rows = await queries.take_codes(s, zone_id, org_id, user_ids)
        if rows:
            await audit_log.record(s, zone_id=zone_id, org_id=org_id, user_id=requested_by,
                                   action="auth.activation.codes_taken", details={"codes": len(rows)})
    return [SheetCode(r.user_id, r.login_id, st.cipher.decrypt(r.code_sealed), r.expires_at) for r in rows]
