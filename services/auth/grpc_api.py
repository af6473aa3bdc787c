"""AuthService gRPC: token introspection, the user directory, and roster provisioning
(accounts and their activation codes, `provisioning.py`) for other services."""
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
from services.auth import accounts, provisioning
from services.auth.db_scope import scoped_transaction
from services.auth.state import AuthState

SERVICE_NAME = auth_pb2.DESCRIPTOR.services_by_name["AuthService"].full_name
MAX_LOOKUP = 1000


class AuthServicer(auth_pb2_grpc.AuthServiceServicer):
    def __init__(self, res: Resources, verifier: TokenVerifier, state: AuthState | None = None) -> None:
        self.res = res
        self.verifier = verifier
        self.state = state

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


    # --- roster provisioning (tenant) ---------------------------------------------------------

    def _auth_state(self) -> AuthState:
        if self.state is None:
            raise AppError(501, "grpc.not_implemented", "provisioning needs the auth service state")
        return self.state

    async def ProvisionAccounts(self, request: auth_pb2.ProvisionAccountsRequest,
                                context: grpc.aio.ServicerContext) -> auth_pb2.ProvisionAccountsResponse:
        _zone(request.zone_id)
        org_id = _uuid(request.org_id, "org_id")
        people = [provisioning.Person(p.external_key, p.display_name, p.email or None, p.reissue,
                                    _uuid(p.user_id, "user_id") if p.user_id else None,
                                    p.previous_external_key or None) for p in request.people]
        done = await provisioning.provision_accounts(self.res, self._auth_state(), request.zone_id, org_id, people,
                                                   _optional_uuid(request.requested_by))
        return auth_pb2.ProvisionAccountsResponse(accounts=[auth_pb2.ProvisionedAccount(
            external_key=a.external_key, user_id=str(a.user_id), login_id=a.login_id, outcome=_OUTCOMES[a.outcome],
            code_issued=a.code_issued) for a in done])

    async def TakeActivationCodes(self, request: auth_pb2.TakeActivationCodesRequest,
                                  context: grpc.aio.ServicerContext) -> auth_pb2.ActivationCodeList:
        _zone(request.zone_id)
        org_id = _uuid(request.org_id, "org_id")
        user_ids = [_uuid(u, "user_ids") for u in request.user_ids]
        codes = await provisioning.take_activation_codes(self.res, self._auth_state(), request.zone_id, org_id,
                                                       user_ids, _optional_uuid(request.requested_by))
        return auth_pb2.ActivationCodeList(codes=[auth_pb2.ActivationCode(
            user_id=str(c.user_id), login_id=c.login_id, code=c.code, expires_at=int(c.expires_at.timestamp()))
            for c in codes])


_OUTCOMES = {provisioning.CREATED: auth_pb2.PROVISION_OUTCOME_CREATED,
             provisioning.EXISTING: auth_pb2.PROVISION_OUTCOME_EXISTING,
             provisioning.LINKED: auth_pb2.PROVISION_OUTCOME_LINKED}


def _zone(zone_id: int) -> None:
    try:
        registry().zone_by_id(zone_id)
    except KeyError:
        raise AppError(404, "zone.not_found", f"zone {zone_id} does not exist") from None


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise AppError(400, "request.invalid_uuid", f"{field} must be a UUID") from None


def _optional_uuid(value: str) -> uuid.UUID | None:
    return _uuid(value, "requested_by") if value else None


def registrar_for(verifier: TokenVerifier, state: AuthState | None = None) -> Callable[[Resources], Registrar]:
    """The same verifier as the HTTP side (auth's own key table, no HTTP call to itself); `state`
    (cipher, hasher) for provisioning."""
    def registrar(res: Resources) -> Registrar:
        return lambda server: auth_pb2_grpc.add_AuthServiceServicer_to_server(AuthServicer(res, verifier, state),
                                                                              server)

    return registrar
