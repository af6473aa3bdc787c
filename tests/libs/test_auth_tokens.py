"""Local token verification against real Redis: every classic token attack gets a 401."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from megacity.auth.permissions import ROLE_PERMISSIONS, allows
from megacity.auth.tokens import Principal, SigningKey, issue_access_token
from megacity.auth.verifier import JwksCache, TokenVerifier, deny_sessions, deny_token
from megacity.errors import AppError
from megacity.redis_keys import RedisKeys


class KeyRing:
    """What auth publishes: the active key plus passive ones."""

    def __init__(self) -> None:
        self.keys = [SigningKey.generate()]
        self.fetches = 0

    async def jwks(self) -> dict:
        self.fetches += 1
        return {"keys": [k.public_jwk() for k in self.keys]}


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing()


@pytest.fixture
def verifier(ring: KeyRing) -> TokenVerifier:
    return TokenVerifier(JwksCache(ring.jwks, min_refetch_seconds=0))


def _token(key: SigningKey, **kw) -> tuple[str, dict]:
    args = {"user_id": uuid.uuid4(), "zone_id": 1, "org_id": uuid.uuid4(), "role": "teacher", "sid": "s1"} | kw
    return issue_access_token(key, **args)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def _code(verifier: TokenVerifier, token: str, redis, keys: RedisKeys) -> str:
    with pytest.raises(AppError) as err:
        await verifier.verify(token, redis, keys)
    assert err.value.status == 401
    return err.value.code


async def test_valid_token_gives_principal(ring, verifier, redis_client, namespace) -> None:
    token, claims = _token(ring.keys[0])
    p = await verifier.verify(token, redis_client, RedisKeys(namespace))
    assert (p.zone_id, p.role, str(p.user_id), p.sid) == (1, "teacher", claims["sub"], "s1")
    assert p.can("exam:create") and not p.can("org:update")
    assert p.tenant().org_id == p.org_id


async def test_token_attacks_are_401(ring, verifier, redis_client, namespace) -> None:
    keys = RedisKeys(namespace)
    key = ring.keys[0]
    good, claims = _token(key)
    header, payload, sig = good.split(".")

    none_token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': key.kid})}.{payload}."
    assert await _code(verifier, none_token, redis_client, keys) == "auth.token_invalid"

    public_pem = key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs_header = _b64({"alg": "HS256", "typ": "JWT", "kid": key.kid})
    mac = hmac.new(public_pem, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
    hs_token = f"{hs_header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert await _code(verifier, hs_token, redis_client, keys) == "auth.token_invalid"

    expired, _ = _token(key, now=int(time.time()) - 3600)
    assert await _code(verifier, expired, redis_client, keys) == "auth.token_expired"

    stranger, _ = _token(SigningKey.generate())
    assert await _code(verifier, stranger, redis_client, keys) == "auth.unknown_key"

    tampered_payload = _b64({**claims, "role": "super_admin"})
    assert await _code(verifier, f"{header}.{tampered_payload}.{sig}", redis_client, keys) == "auth.token_invalid"

    assert await _code(verifier, "not.a.jwt", redis_client, keys) == "auth.token_invalid"

    principal = await verifier.verify(good, redis_client, keys)
    await deny_token(redis_client, keys, principal)
    assert await _code(verifier, good, redis_client, keys) == "auth.token_revoked"

    other, _ = _token(key, sid="family-2")
    await deny_sessions(redis_client, keys, 1, ["family-2"])
    assert await _code(verifier, other, redis_client, keys) == "auth.token_revoked"


async def test_unknown_kid_refetches_jwks_once_for_rotation(ring, redis_client, namespace) -> None:
    verifier = TokenVerifier(JwksCache(ring.jwks, min_refetch_seconds=60))
    keys = RedisKeys(namespace)
    old, _ = _token(ring.keys[0])
    await verifier.verify(old, redis_client, keys)
    assert ring.fetches == 1
    ring.keys.insert(0, SigningKey.generate())  # rotation: new active key, old one stays passive
    new, _ = _token(ring.keys[0])
    # Within the refetch window an unknown kid is refused without hammering auth ...
    assert await _code(verifier, new, redis_client, keys) == "auth.unknown_key"
    assert ring.fetches == 1
    verifier.jwks._min_refetch = 0
    # ... after it, one refetch picks up the new key; the passive key still verifies.
    assert (await verifier.verify(new, redis_client, keys)).role == "teacher"
    assert (await verifier.verify(old, redis_client, keys)).role == "teacher"
    assert ring.fetches == 2


async def test_remembered_token_is_trusted_only_while_its_key_is_published(ring, redis_client, namespace) -> None:
    verifier = TokenVerifier(JwksCache(ring.jwks, ttl_seconds=0.3, min_refetch_seconds=0))
    keys = RedisKeys(namespace)
    token, _ = _token(ring.keys[0])
    await verifier.verify(token, redis_client, keys)
    for _ in range(3):  # remembered: no signature work, no JWKS fetch
        await verifier.verify(token, redis_client, keys)
    assert ring.fetches == 1
    ring.keys = [SigningKey.generate()]  # the key is withdrawn (say, it leaked)
    await asyncio.sleep(0.35)  # the published JWKS is past its TTL: the next check refetches
    assert await _code(verifier, token, redis_client, keys) == "auth.unknown_key"
    assert ring.fetches > 1


def test_permission_map_follows_the_seed() -> None:
    assert set(ROLE_PERMISSIONS) == {"super_admin", "zone_admin", "org_admin", "teacher", "student", "parent", "guest"}
    assert allows(ROLE_PERMISSIONS["super_admin"], "anything:goes")
    assert allows(ROLE_PERMISSIONS["zone_admin"], "exam:delete")
    assert not allows(ROLE_PERMISSIONS["zone_admin"], "class:create")
    assert allows(ROLE_PERMISSIONS["org_admin"], "class:create")
    assert not allows(ROLE_PERMISSIONS["student"], "report:read")
    assert allows(ROLE_PERMISSIONS["parent"], "report:read")
    assert allows(ROLE_PERMISSIONS["guest"], "exam:read") and not allows(ROLE_PERMISSIONS["guest"], "exam:create")
    with pytest.raises(ValueError):
        allows([], "nocolon")


def test_principal_from_claims_rejects_garbage() -> None:
    with pytest.raises((ValueError, KeyError)):
        Principal.from_claims({"sub": "not-a-uuid", "zone_id": 1, "role": "teacher", "jti": "x", "iat": 1, "exp": 2})
