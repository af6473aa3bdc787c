"""Access tokens end-to-end through auth's own HTTP API (`/users/me`): every classic attack is a
401, a zone-A token on a zone-B host is a 403, and key rotation keeps old tokens valid."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from megacity.auth.tokens import SigningKey, issue_access_token
from services.auth.tests.conftest import bearer, host, jwt_parts


def _b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def _code(env, token: str, zone_id: int = 1, status: int = 401) -> str:
    resp = await env.me(token, zone_id)
    assert resp.status_code == status, resp.text
    if status == 401:
        assert resp.headers["www-authenticate"] == "Bearer"
    return resp.json()["code"]


async def test_token_attacks_are_401(env) -> None:
    user_id, tokens = await env.user("victim@example.com")
    good = tokens["access_token"]
    assert (await env.me(good)).status_code == 200
    header, payload, _ = jwt_parts(good)
    h, p, sig = good.split(".")
    key = await env.auth.app.state.auth.keyring.active()
    assert header == {"alg": "EdDSA", "kid": key.kid, "typ": "JWT"}

    # alg=none, with and without a signature part
    assert await _code(env, f"{_b64({**header, 'alg': 'none'})}.{p}.") == "auth.token_invalid"
    assert await _code(env, f"{_b64({**header, 'alg': 'none'})}.{p}.{sig}") == "auth.token_invalid"
    # HS256 "signed" with the public key (PEM and raw bytes): the algorithm-confusion attack
    public = key.private_key.public_key()
    for secret in (public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo),
                   public.public_bytes(Encoding.Raw, PublicFormat.Raw)):
        hs = _b64({**header, "alg": "HS256"})
        mac = hmac.new(secret, f"{hs}.{p}".encode(), hashlib.sha256).digest()
        assert await _code(env, f"{hs}.{p}.{_b64(mac)}") == "auth.token_invalid"
    # expired (right key, right claims, 1 h old)
    expired, _ = issue_access_token(key, user_id=user_id, zone_id=1, org_id=None, role="guest",
                                    now=int(time.time()) - 3600)
    assert await _code(env, expired) == "auth.token_expired"
    # a key auth never published
    stranger = SigningKey.generate()
    forged, _ = issue_access_token(stranger, user_id=user_id, zone_id=1, org_id=None, role="super_admin")
    assert await _code(env, forged) == "auth.unknown_key"
    # stranger's signature under the real kid
    relabelled = f"{_b64({**jwt_parts(forged)[0], 'kid': key.kid})}.{forged.split('.')[1]}.{forged.split('.')[2]}"
    assert await _code(env, relabelled) == "auth.token_invalid"
    # tampered payload: promote ourselves, keep the signature
    tampered = f"{h}.{_b64({**payload, 'role': 'super_admin', 'permissions': ['*']})}.{sig}"
    assert await _code(env, tampered) == "auth.token_invalid"
    # garbage and missing
    assert await _code(env, "not.a.jwt") == "auth.token_invalid"
    resp = await env.client.get("/api/v1/users/me", headers=host())
    assert resp.status_code == 401 and resp.json()["code"] == "auth.token_missing"
    # revoked jti: log out, the same token is refused
    assert (await env.client.post("/api/v1/auth/logout", headers=bearer(good))).status_code == 204
    assert await _code(env, good) == "auth.token_revoked"


async def test_zone_a_token_on_zone_b_host_is_403(env) -> None:
    _, tokens = await env.user("traveller@example.com", zone_id=1)
    assert await _code(env, tokens["access_token"], zone_id=2, status=403) == "auth.zone_mismatch"
    # and a refresh token of zone A does not exist on zone B
    resp = await env.client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]},
                                 headers=host(2))
    assert resp.status_code == 401 and resp.json()["code"] == "auth.refresh_invalid"
    # the same email is a different account per zone
    await env.register("traveller@example.com", zone_id=2)
    other = await env.tokens("traveller@example.com", zone_id=2)
    assert (await env.me(other["access_token"], 2)).json()["id"] != (await env.me(tokens["access_token"])).json()["id"]
    # a host no zone serves
    for path in ("/api/v1/users/me", "/api/v1/admin/audit-logs"):
        resp = await env.client.get(path, headers={**bearer(tokens["access_token"]), "Host": "api.example.org"})
        assert resp.status_code == 404 and resp.json()["code"] == "zone.unknown_host"


async def test_token_claims_and_jwks(env) -> None:
    _, tokens = await env.user("claims@example.com")
    header, claims, _ = jwt_parts(tokens["access_token"])
    assert {"sub", "zone_id", "org_id", "role", "permissions", "jti", "exp", "iat", "sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900 and claims["sid"] == tokens["session_id"]
    jwks = await env.client.get("/.well-known/jwks.json", headers=host())
    assert jwks.status_code == 200 and "max-age" in jwks.headers["cache-control"]
    keys = jwks.json()["keys"]
    assert [k["kid"] for k in keys] == [header["kid"]]
    assert keys[0]["kty"] == "OKP" and keys[0]["alg"] == "EdDSA" and "d" not in keys[0]


async def test_key_rotation_is_published_before_it_signs_and_keeps_old_tokens(env) -> None:
    ring = env.auth.app.state.auth.keyring
    _, before = await env.user("rotate@example.com")
    old_kid = jwt_parts(before["access_token"])[0]["kid"]

    async def published() -> list[str]:
        return [k["kid"] for k in (await env.client.get("/.well-known/jwks.json", headers=host())).json()["keys"]]

    new_kid = await ring.rotate()  # scheduled: published now, signs after the lead time
    assert new_kid != old_kid and await published() == [old_kid, new_kid]  # active first, then next
    during = await env.tokens("rotate@example.com")
    assert jwt_parts(during["access_token"])[0]["kid"] == old_kid
    assert await ring.rotate() == new_kid  # rotating again while one is pending changes nothing

    ring.publish_lead_seconds = ring.min_forced_reload_seconds = 0  # the lead time has passed:
    await ring.reload(force=True)  # the next reload promotes it
    assert await published() == [new_kid, old_kid]  # active first, then passive
    after = await env.tokens("rotate@example.com")
    assert jwt_parts(after["access_token"])[0]["kid"] == new_kid
    for tokens in (before, during, after):
        assert (await env.me(tokens["access_token"])).status_code == 200
    rows = await env.auth_sql("SELECT kid, status, private_key_encrypted FROM auth.signing_keys ORDER BY created_at")
    assert [(r.kid, r.status) for r in rows] == [(old_kid, "passive"), (new_kid, "active")]
    assert all(b"PRIVATE KEY" not in r.private_key_encrypted.encode() for r in rows)

    urgent = await ring.rotate(now=True)  # a compromised key: the replacement signs at once
    assert (await ring.active()).kid == urgent and await published() == [urgent, new_kid, old_kid]


async def test_introspect_token_over_grpc(env) -> None:
    from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
    from megacity.grpc.client import make_channel

    _, tokens = await env.user("introspect@example.com")
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        ok = await stub.IntrospectToken(auth_pb2.IntrospectTokenRequest(token=tokens["access_token"]), timeout=5)
        assert ok.active and ok.role == "guest" and ok.zone_id == 1 and ok.sid == tokens["session_id"]
        bad = await stub.IntrospectToken(auth_pb2.IntrospectTokenRequest(token="x.y.z"), timeout=5)
        assert not bad.active




async def test_me_answers_with_the_documented_shape_from_db_and_from_cache(env) -> None:
    from services.auth.users.schemas import MeOut

    user_id, tokens = await env.user("shape@example.com")
    token = tokens["access_token"]
    cold, warm = await env.me(token), await env.me(token)  # profile read from the table, then from the cache
    assert cold.status_code == warm.status_code == 200, cold.text
    assert cold.json() == warm.json()
    assert set(cold.json()) == set(MeOut.model_fields)
    me = MeOut.model_validate(cold.json())
    claims = jwt_parts(token)[1]
    assert (me.id, me.zone, me.zone_id, me.role, me.session_id) == (user_id, "univ", 1, "guest", claims["sid"])
    assert me.permissions == sorted(me.permissions) and cold.json()["created_at"].endswith("Z")
