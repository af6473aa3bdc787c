"""LookupUsers: other services (tenant) find a zone's users by email or id over gRPC."""
from __future__ import annotations

import pytest

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.errors import AppError
from megacity.grpc.client import call, make_channel


async def test_lookup_users_by_email_and_id_within_one_zone(env) -> None:
    kim = await env.register("kim@example.com")
    lee = await env.register("lee@example.com")
    await env.register("kim@example.com", zone_id=2)
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        found = await call(stub.LookupUsers, auth_pb2.LookupUsersRequest(
            zone_id=1, emails=[" KIM@example.com", "nobody@example.com"], user_ids=[str(lee)]), peer="auth", timeout=5)
        assert [(u.id, u.zone_id, u.email, u.display_name) for u in found.users] == [
            (str(kim), 1, "kim@example.com", "kim"), (str(lee), 1, "lee@example.com", "lee")]
        assert not (await call(stub.LookupUsers, auth_pb2.LookupUsersRequest(zone_id=3, emails=["kim@example.com"]),
                               peer="auth", timeout=5)).users
        assert not (await call(stub.LookupUsers, auth_pb2.LookupUsersRequest(zone_id=1), peer="auth", timeout=5)).users
        for request, code in ((auth_pb2.LookupUsersRequest(zone_id=1, user_ids=["nope"]), "request.invalid_uuid"),
                              (auth_pb2.LookupUsersRequest(zone_id=99, emails=["a@b.c"]), "zone.not_found"),
                              (auth_pb2.LookupUsersRequest(zone_id=1, emails=["a@b.c"] * 1001), "request.too_many")):
            with pytest.raises(AppError) as err:
                await call(stub.LookupUsers, request, peer="auth", timeout=5)
            assert err.value.code == code
