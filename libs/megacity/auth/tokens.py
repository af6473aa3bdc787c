"""Access tokens: EdDSA (Ed25519) JWTs with a `kid`, 15-minute lifetime, claims
`sub, zone_id, org_id, role, permissions, jti, exp, iat` (+ `iss`, and `sid`: the session the
token belongs to, so revoking a session or all of a user's sessions reaches its access tokens).

Auth signs with its one active key; every service verifies locally against the JWKS, which
also lists passive (rotated-out) keys until their last tokens have expired.
"""
from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm

from megacity.auth.permissions import allows, permissions_for
from megacity.db.tenant import TenantContext

ALGORITHM = "EdDSA"
ACCESS_TOKEN_TTL_SECONDS = 15 * 60
ISSUER = "megacity-auth"
REQUIRED_CLAIMS = ["sub", "zone_id", "role", "jti", "exp", "iat", "iss"]


@dataclass(frozen=True)
class Principal:
    """The verified caller of a request."""

    user_id: uuid.UUID
    zone_id: int
    org_id: uuid.UUID | None
    role: str
    permissions: frozenset[str]
    jti: str
    iat: int
    exp: int
    sid: str | None = None

    def can(self, permission: str) -> bool:
        return allows(self.permissions, permission)

    def tenant(self) -> TenantContext:
        """The database tenant context of this caller (drives RLS)."""
        return TenantContext(zone_id=self.zone_id, org_id=self.org_id, role=self.role, user_id=self.user_id)

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        return cls(
            user_id=uuid.UUID(claims["sub"]), zone_id=int(claims["zone_id"]),
            org_id=uuid.UUID(claims["org_id"]) if claims.get("org_id") else None, role=str(claims["role"]),
            permissions=frozenset(claims.get("permissions") or permissions_for(claims["role"])),
            jti=str(claims["jti"]), iat=int(claims["iat"]), exp=int(claims["exp"]),
            sid=str(claims["sid"]) if claims.get("sid") else None)


@dataclass(frozen=True)
class SigningKey:
    """One Ed25519 key with its key id. Private PEM is what auth stores (encrypted)."""

    kid: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(kid=uuid.uuid4().hex[:16], private_key=Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, kid: str, pem: bytes) -> SigningKey:
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing keys are Ed25519")
        return cls(kid=kid, private_key=key)

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def public_jwk(self) -> dict[str, Any]:
        jwk = json.loads(OKPAlgorithm.to_jwk(self.private_key.public_key()))
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


def issue_access_token(key: SigningKey, *, user_id: uuid.UUID, zone_id: int, org_id: uuid.UUID | None, role: str,
                       sid: str | None = None, now: int | None = None,
                       ttl: int = ACCESS_TOKEN_TTL_SECONDS) -> tuple[str, dict[str, Any]]:
    """Sign an access token; returns (token, claims)."""
    iat = int(now if now is not None else time.time())
    claims = {"sub": str(user_id), "zone_id": zone_id, "org_id": str(org_id) if org_id else None, "role": role,
              "permissions": list(permissions_for(role)), "jti": uuid.uuid4().hex, "iat": iat, "exp": iat + ttl,
              "iss": ISSUER, "sid": sid}
    token = jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
    return token, claims
