"""AuthService gRPC: token introspection and the user directory for other services."""
from __future__ import annotations

import uuid
from collections.abc import Callable

import grpc

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.auth.verifier import TokenVerifier
from megacity.errors import AppError
from megacity.grpc.server import Registrar
from megacity.runtime import Resources
from megacity.zones import registry
from services.auth import accounts
from services.auth.db_scope import scoped_transaction

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
MAX_LOOKUP = 1000


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, res: Resources, verifier: TokenVerifier) -> None:
        self.res = res
        self.verifier = verifier

    async def IntrospectToken(self, request: auth_pb2.IntrospectTokenRequest,
                              context: grpc.aio.ServicerContext) -> auth_pb2.IntrospectTokenResponse:
        try:
            p = await self.verifier.verify(request.token, self.res.cached_reads, self.res.keys)
        except AppError as err:
            if err.status == 401:
                return auth_pb2.IntrospectTokenResponse(active=False)
            raise
        return auth_pb2.IntrospectTokenResponse(
            active=True, sub=str(p.user_id), zone_id=p.zone_id, org_id=str(p.org_id) if p.org_id else "",
            role=p.role, permissions=sorted(p.permissions), jti=p.jti, exp=p.exp, sid=p.sid or "")

    async def LookupUsers(self, request: auth_pb2.LookupUsersRequest,
                          context: grpc.aio.ServicerContext) -> auth_pb2.UserList:
        try:
            registry().zone_by_id(request.zone_id)
        except KeyError:
            raise AppError(404, "zone.not_found", f"zone {request.zone_id} does not exist") from None
        if len(request.emails) + len(request.user_ids) > MAX_LOOKUP:
            raise AppError(400, "request.too_many", f"at most {MAX_LOOKUP} emails and ids per call")
        try:
            ids = [uuid.UUID(i) for i in request.user_ids]
        except ValueError:
            raise AppError(400, "request.invalid_uuid", "user_ids must be UUIDs") from None
        emails = sorted({e.strip().lower() for e in request.emails if e.strip()})
        if not emails and not ids:
            return auth_pb2.UserList()
        async with scoped_transaction(self.res.db(), request.zone_id, "directory") as s:
            rows = await accounts.directory(s, request.zone_id, emails, ids)
        return auth_pb2.UserList(users=[auth_pb2.User(id=str(r.id), zone_id=r.zone_id, email=r.email,
                                                      display_name=r.display_name) for r in rows])


def registrar_for(verifier: TokenVerifier) -> Callable[[Resources], Registrar]:
    """The same verifier as the HTTP side (auth's own key table, no HTTP call to itself)."""
    def registrar(res: Resources) -> Registrar:
        return lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(res, verifier), server)

    return registrar
