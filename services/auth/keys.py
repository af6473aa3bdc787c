"""Signing keys: one active Ed25519 key signs access tokens; rotated-out keys stay passive (still
published in the JWKS, still verifying) until their last token has long expired, then retire.

A rotation is announced before it happens: `rotate` publishes a `next` key in the JWKS, and it
becomes active only after `publish_lead_seconds` (default 15 min, longer than verifiers keep a
JWKS), so every verifier already holds the new key when the first token signed by it arrives —
no verifier ever meets an unknown `kid` from a routine rotation (its refetch on an unknown kid
is limited to one per 5 s, which someone spraying made-up kids could keep spent). `rotate --now`
is for a compromised key: the published next key (or a new one) signs at once.

Keys live in `auth.signing_keys` with the private half encrypted by the PII keys. Each replica
caches them and re-reads every `key_reload_seconds` (promoting a due next key, under a lock), so
a rotation done by any replica or by the CLI reaches all of them.

    python -m services.auth.keys rotate         # publish the next key; it signs after the lead time
    python -m services.auth.keys rotate --now   # sign with a new key at once (the old one stays passive)
    python -m services.auth.keys list
"""
from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.auth.tokens import ALGORITHM, SigningKey
from megacity.db import TenantContext, set_tenant, system_transaction
from megacity.pii import PiiCipher
from megacity.zones import registry
from services.auth import audit_log
from services.auth.db_scope import set_scope

_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('auth:signing_keys'))")


@dataclass(frozen=True)
class KeySet:
    active: SigningKey
    public: list[dict[str, Any]]  # JWKS entries: active first, then next, then passive
    statuses: dict[str, str]  # kid -> active | next | passive


async def _insert(session: AsyncSession, cipher: PiiCipher, status: str) -> SigningKey:
    key = SigningKey.generate()
    await session.execute(text(
        "INSERT INTO auth.signing_keys (kid, algorithm, status, private_key_encrypted, public_jwk)"
        " VALUES (:kid, :alg, :status, :priv, CAST(:jwk AS jsonb))"),
        {"kid": key.kid, "alg": ALGORITHM, "status": status, "priv": cipher.encrypt(key.private_pem()),
         "jwk": json.dumps(key.public_jwk())})
    return key


async def ensure_active_key(session: AsyncSession, cipher: PiiCipher) -> None:
    """Create the first key if there is none (replicas starting together: one wins the lock)."""
    if (await session.execute(text("SELECT 1 FROM auth.signing_keys WHERE status = 'active'"))).first():
        return
    await session.execute(_LOCK)
    if not (await session.execute(text("SELECT 1 FROM auth.signing_keys WHERE status = 'active'"))).first():
        await _insert(session, cipher, "active")


async def _active_kid(session: AsyncSession) -> str | None:
    return (await session.execute(text("SELECT kid FROM auth.signing_keys WHERE status = 'active'"))).scalar()


async def _next_kid(session: AsyncSession) -> str | None:
    return (await session.execute(text("SELECT kid FROM auth.signing_keys WHERE status = 'next'"))).scalar()


async def _activate(session: AsyncSession, kid: str, passive_retention_seconds: int) -> None:
    """`kid` signs from now on; the active key turns passive; long-passive keys retire (and
    their private half is forgotten). Caller holds the lock."""
    await session.execute(text(
        "UPDATE auth.signing_keys SET status = 'retired', retired_at = now(), private_key_encrypted = NULL"
        " WHERE status = 'passive' AND deactivated_at < now() - make_interval(secs => :keep)"),
        {"keep": passive_retention_seconds})
    await session.execute(text(
        "UPDATE auth.signing_keys SET status = 'passive', deactivated_at = now() WHERE status = 'active'"))
    await session.execute(text("UPDATE auth.signing_keys SET status = 'active' WHERE kid = :kid"), {"kid": kid})


async def _audit_every_zone(session: AsyncSession, action: str, details: dict[str, Any]) -> None:
    """Signing keys serve every zone: one auth audit entry per zone, in the transaction of the
    change (each under its own zone's context, as RLS wants). Call it last in the transaction."""
    for zone in registry().zones:
        await set_tenant(session, TenantContext(zone_id=zone.id))
        await set_scope(session, "service")
        await audit_log.record(session, zone_id=zone.id, action=action, details=details)


async def schedule_rotation(session: AsyncSession, cipher: PiiCipher) -> str:
    """Publish the next key (or return the one already published). Returns its kid."""
    await session.execute(_LOCK)
    kid = await _next_kid(session)
    if kid is None:
        kid = (await _insert(session, cipher, "next")).kid
        await _audit_every_zone(session, "auth.signing_key.published", {"by": "key-rotate", "kid": kid})
    return kid


async def rotate_keys(session: AsyncSession, cipher: PiiCipher, passive_retention_seconds: int) -> str:
    """Rotate at once (a compromised key): the published next key if there is one (verifiers may
    already hold it), else a new key, signs from now on. Returns its kid."""
    await session.execute(_LOCK)
    previous = await _active_kid(session)
    kid = await _next_kid(session) or (await _insert(session, cipher, "next")).kid
    await _activate(session, kid, passive_retention_seconds)
    await _audit_every_zone(session, "auth.signing_key.rotated", {"by": "key-rotate", "kid": kid, "previous_kid": previous})
    return kid


async def promote_due_key(session: AsyncSession, publish_lead_seconds: float, passive_retention_seconds: int
                          ) -> str | None:
    """Activate the next key once it has been published for `publish_lead_seconds`."""
    due = text("SELECT kid FROM auth.signing_keys WHERE status = 'next'"
               " AND created_at <= now() - make_interval(secs => :lead)")
    if (await session.execute(due, {"lead": publish_lead_seconds})).first() is None:
        return None
    await session.execute(_LOCK)
    kid = (await session.execute(due, {"lead": publish_lead_seconds})).scalar()
    if kid is not None:
        previous = await _active_kid(session)
        await _activate(session, kid, passive_retention_seconds)
        await _audit_every_zone(session, "auth.signing_key.activated",
                                {"by": "key-promote", "kid": kid, "previous_kid": previous})
    return kid


async def load_keys(session: AsyncSession, cipher: PiiCipher) -> KeySet:
    rows = (await session.execute(text(
        "SELECT kid, status, private_key_encrypted, public_jwk FROM auth.signing_keys"
        " WHERE status IN ('active', 'next', 'passive')"
        " ORDER BY status = 'active' DESC, status = 'next' DESC, created_at DESC"))).all()
    if not rows or rows[0].status != "active":
        raise RuntimeError("no active signing key; the service creates one at start")
    active = SigningKey.from_pem(rows[0].kid, cipher.decrypt_bytes(rows[0].private_key_encrypted))
    return KeySet(active=active, public=[dict(r.public_jwk) for r in rows], statuses={r.kid: r.status for r in rows})


class KeyRing:
    """This replica's cached view of the signing keys."""

    def __init__(self, cipher: PiiCipher, *, reload_seconds: float = 30.0, passive_retention_seconds: int = 86400,
                 publish_lead_seconds: float = 900.0, min_forced_reload_seconds: float = 1.0) -> None:
        self.cipher = cipher
        self.reload_seconds = reload_seconds
        self.passive_retention_seconds = passive_retention_seconds
        self.publish_lead_seconds = publish_lead_seconds
        self.min_forced_reload_seconds = min_forced_reload_seconds
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._keys: KeySet | None = None
        self._loaded_at = 0.0
        self._lock = asyncio.Lock()

    async def start(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        async with system_transaction(sessions) as session:
            await ensure_active_key(session, self.cipher)
        await self.reload(force=True)

    async def reload(self, *, force: bool = False) -> KeySet:
        async with self._lock:
            age = time.monotonic() - self._loaded_at
            if self._keys is not None and age < (self.min_forced_reload_seconds if force else self.reload_seconds):
                return self._keys
            if self._sessions is None:
                raise RuntimeError("KeyRing.start() has not run")
            async with system_transaction(self._sessions) as session:
                await promote_due_key(session, self.publish_lead_seconds, self.passive_retention_seconds)
                self._keys = await load_keys(session, self.cipher)
            self._loaded_at = time.monotonic()
            return self._keys

    async def keys(self) -> KeySet:
        if self._keys is not None and time.monotonic() - self._loaded_at < self.reload_seconds:
            return self._keys
        return await self.reload()

    async def active(self) -> SigningKey:
        return (await self.keys()).active

    async def jwks(self) -> dict[str, Any]:
        return {"keys": (await self.keys()).public}

    async def jwks_fresh(self) -> dict[str, Any]:
        """For the local verifier's refetch on an unknown kid: read the table again."""
        return {"keys": (await self.reload(force=True)).public}

    async def rotate(self, *, now: bool = False) -> str:
        """Publish the next key (it signs after the lead time), or with `now` sign with it at once."""
        if self._sessions is None:
            raise RuntimeError("KeyRing.start() has not run")
        async with system_transaction(self._sessions) as session:
            if now:
                kid = await rotate_keys(session, self.cipher, self.passive_retention_seconds)
            else:
                kid = await schedule_rotation(session, self.cipher)
        self._loaded_at = 0.0
        await self.reload(force=True)
        return kid


async def _cli(command: str, now: bool) -> None:
    from megacity.db import make_engine, make_sessionmaker
    from services.auth.settings import Settings

    settings = Settings()
    if not settings.database_url:
        raise SystemExit("AUTH_DATABASE_URL is not set")
    engine = make_engine(settings.database_url, pool_size=1)
    ring = KeyRing(PiiCipher(settings.pii_key_list), passive_retention_seconds=settings.passive_key_retention_seconds,
                   publish_lead_seconds=settings.key_publish_lead_seconds)
    try:
        await ring.start(make_sessionmaker(engine))
        if command == "rotate":
            kid = await ring.rotate(now=now)
            print(f"new active key {kid}" if now else
                  f"next key {kid} published; it signs from {settings.key_publish_lead_seconds:.0f} s after it was "
                  "published (replicas promote it on their next key reload)")
        keys = await ring.keys()
        for jwk in keys.public:
            print(f"{jwk['kid']}  {keys.statuses[jwk['kid']]}")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.auth.keys", description="Signing-key rotation.")
    parser.add_argument("command", choices=["rotate", "list"])
    parser.add_argument("--now", action="store_true",
                        help="rotate: sign with the new key at once (a compromised key), instead of after the lead time")
    args = parser.parse_args(argv)
    asyncio.run(_cli(args.command, args.now))


if __name__ == "__main__":
    main()
