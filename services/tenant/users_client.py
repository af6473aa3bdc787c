"""Users live in auth: tenant asks `AuthService/LookupUsers` over gRPC (never reads auth's tables)."""
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
