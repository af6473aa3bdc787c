"""Users live in auth: tenant asks `AuthService/LookupUsers` over gRPC (never reads auth's tables),
and `ProvisionAccounts` / `TakeActivationCodes` for roster provisioning."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.grpc.client import call
from megacity.runtime import Resources


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    email: str
    display_name: str


async def lookup_users(res: Resources, zone_id: int, *, emails: Sequence[str] = (),
                       user_ids: Sequence[uuid.UUID] = ()
                       ) -> list[User]:
    """Users of the zone with these emails or ids; unknown ones are absent. Auth down -> 503."""
    stub = auth_pb2_grpc.AuthServiceStub(res.channel("auth"))
    reply = await call(stub.LookupUsers, auth_pb2.LookupUsersRequest(
        zone_id=zone_id, emails=[e.strip().lower() for e in emails], user_ids=[str(u) for u in user_ids]),
        peer="auth", timeout=res.settings.grpc_deadline_seconds)
    return [User(uuid.UUID(u.id), u.email, u.display_name) for u in reply.users if u.zone_id == zone_id]


async def user_by_email(res: Resources, zone_id: int, email: str) -> User | None:
    users = await lookup_users(res, zone_id, emails=[email])
    wanted = email.strip().lower()
    return next((u for u in users if u.email.lower() == wanted), None)


# --- roster provisioning (AuthService/ProvisionAccounts, TakeActivationCodes) ------------------

@dataclass(frozen=True)
class NewPerson:
    external_key: str  # "student:<roster id>" or "parent:<index hex>": stable, so re-provisioning matches
    display_name: str
    email: str | None = None
    reissue: bool = False
    user_id: uuid.UUID | None = None  # the account tenant already knows for this person: linked, not made
    previous_external_key: str = ""  # the person's former key (auth renames its mapping to the new one)


@dataclass(frozen=True)
class Account:
    external_key: str
    user_id: uuid.UUID
    login_id: str
    outcome: str  # created, existing, linked
    code_issued: bool


@dataclass(frozen=True)
class Code:
    user_id: uuid.UUID
    login_id: str
    code: str
    expires_at: int  # unix seconds


_OUTCOMES = {auth_pb2.PROVISION_OUTCOME_CREATED: "created", auth_pb2.PROVISION_OUTCOME_EXISTING: "existing",
             auth_pb2.PROVISION_OUTCOME_LINKED: "linked"}


async def provision_accounts(res: Resources, zone_id: int, org_id: uuid.UUID, people: Sequence[NewPerson],
                             requested_by: uuid.UUID) -> list[Account]:
    """Accounts for these people of the org, made once per external key (auth decides; see its
    `provisioning.py`). Auth down -> 503; nothing here is in a transaction."""
    stub = auth_pb2_grpc.AuthServiceStub(res.channel("auth"))
    reply = await call(stub.ProvisionAccounts, auth_pb2.ProvisionAccountsRequest(
        zone_id=zone_id, org_id=str(org_id), requested_by=str(requested_by), people=[
            auth_pb2.ProvisionPerson(external_key=p.external_key, display_name=p.display_name, email=p.email or "",
                                     reissue=p.reissue, user_id=str(p.user_id) if p.user_id else "",
                                     previous_external_key=p.previous_external_key)
            for p in people]),
        peer="auth", timeout=max(res.settings.grpc_deadline_seconds, 30.0))
    return [Account(a.external_key, uuid.UUID(a.user_id), a.login_id, _OUTCOMES.get(a.outcome, "existing"),
                    a.code_issued) for a in reply.accounts]


async def take_activation_codes(res: Resources, zone_id: int, org_id: uuid.UUID, user_ids: Sequence[uuid.UUID],
                                requested_by: uuid.UUID) -> list[Code]:
    """The waiting activation codes of these users, in plaintext, once (auth erases them)."""
    stub = auth_pb2_grpc.AuthServiceStub(res.channel("auth"))
    reply = await call(stub.TakeActivationCodes, auth_pb2.TakeActivationCodesRequest(
        zone_id=zone_id, org_id=str(org_id), user_ids=[str(u) for u in user_ids], requested_by=str(requested_by)),
        peer="auth", timeout=max(res.settings.grpc_deadline_seconds, 30.0))
    return [Code(uuid.UUID(c.user_id), c.login_id, c.code, c.expires_at) for c in reply.codes]
