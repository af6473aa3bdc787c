"""Account activation: a provisioned account's first password, set with its one-time code.

Codes: 10 characters from a 32-letter alphabet without look-alikes (50 bits), shown as
`XXXXX-XXXXX`, valid `CODE_TTL_DAYS`. Auth checks only SHA-256(user id, code); how codes are
issued and shown once is in `services/auth/provisioning.py`. Activation is guarded like login
(per account and per address, `brute_force.py`).
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass

from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.zones import Zone
from services.auth import accounts, audit_log
from services.auth.activation import queries
from services.auth.client_info import ClientInfo
from services.auth.db_scope import scoped_transaction
from services.auth.one_time_codes import normalize_code
from services.auth.passwords import check_policy
from services.auth.state import AuthState

CODE_TTL_DAYS = 30


def code_hash(user_id: uuid.UUID, code: str) -> bytes:
    return hashlib.sha256(f"{user_id}:{normalize_code(code)}".encode()).digest()

@dataclass(frozen=True)
class Activated:
    user_id: uuid.UUID
    login_id: str


INVALID = ("auth.activation_invalid", "the login id or the activation code is not right")


async def activate(res: Resources, st: AuthState, zone: Zone, client: ClientInfo, *, login_id: str, code: str,
                   new_password: str) -> Activated:
    """Set the first password of a provisioned account with its one-time code. A wrong code (or
    an unknown login id: same answer) counts as a failed login attempt; 410 for a used or
    expired code (told only to whoever holds the right code)."""
    login = login_id.strip().lower()
    await st.guard.check(zone.id, email=login, address=client.address)
    check_policy(new_password, login)
    password_hash = await st.hasher.hash(new_password)
    outcome: str | None = None
    async with scoped_transaction(res.db(), zone.id, "service") as s:
        row = await queries.code_for_login(s, zone.id, login)
        ok = row is not None and hmac.compare_digest(code_hash(row.user_id, code), row.code_hash)
        if row is None or not ok or row.status != "active":
            outcome = "invalid"
        elif row.used:
            outcome = "used"
        elif row.expired:
            outcome = "expired"
        elif await queries.mark_used(s, zone.id, row.user_id):
            await accounts.set_password(s, row.user_id, password_hash)
            await audit_log.record(s, zone_id=zone.id, action="auth.activation.activated", user_id=row.user_id,
                                   client=client)
        else:
            outcome = "used"
    if outcome == "invalid":
        await st.guard.record_failure(zone.id, email=login, address=client.address)
        await audit_log.record_alone(res.db(), zone_id=zone.id, action="auth.activation.failed",
                                     user_id=row.user_id if row else None, client=client,
                                     details={"login_id": login})
        raise AppError(400, *INVALID)
    if outcome == "used":
        raise AppError(410, "auth.activation_used", "this activation code was used already; log in, or ask the "
                                                    "school for a new code")
    if outcome == "expired":
        raise AppError(410, "auth.activation_expired", "this activation code expired; ask the school for a new one")
    assert row is not None
    await st.guard.clear_account(zone.id, login)
    return Activated(row.user_id, row.login_id)
