"""Operator commands (run where AUTH_DATABASE_URL and AUTH_PII_KEYS are set):

    python -m services.auth.admin create-super-admin --zone univ --email root@example.com \\
        [--display-name "Ops"] [--role zone_admin]       # password: $AUTH_ADMIN_PASSWORD or stdin
    python -m services.auth.admin rotate-pii              # re-encrypt PII under the first key

`create-super-admin` makes the first admin of a zone (who then grants zone_admin over the API);
an existing account with that email is promoted instead. Both commands write the audit log.
Variables: AUTH_DATABASE_URL (the auth app role's URL), AUTH_PII_KEYS (outside development),
AUTH_ENVIRONMENT, AUTH_ADMIN_PASSWORD (else the password is read from stdin), AUTH_ARGON2_*.

`ensure_account` is the development demo seed's way in (`scripts/demo_seed.py`): the same
account rows and audit entries, with a known TOTP secret already turned on.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.db import TenantContext, tenant_transaction
from megacity.pii import PiiCipher
from megacity.roles import PLATFORM_ROLES
from megacity.zones import registry
from services.auth import accounts, audit_log
from services.auth.mfa import queries as mfa_queries
from services.auth.passwords import Hasher, check_policy
from services.auth.users import queries as users_queries

BATCH = 500


async def create_admin(sessions: async_sessionmaker[AsyncSession], hasher: Hasher, *, zone_key: str, email: str,
                       password: str, display_name: str, role: str = "super_admin") -> tuple[uuid.UUID, bool]:
    """Create (or promote) an admin; returns (user id, created)."""
    if role not in PLATFORM_ROLES:
        raise ValueError(f"role must be one of {PLATFORM_ROLES}")
    zone = registry().zone(zone_key)
    email = accounts.normalize_email(email)
    check_policy(password, email)
    password_hash = await hasher.hash(password)
    async with tenant_transaction(sessions, TenantContext(zone_id=zone.id, role="super_admin")) as s:
        existing = await accounts.by_email(s, zone.id, email)
        if existing is None:
            user = await accounts.create(s, zone_id=zone.id, email=email, password_hash=password_hash,
                                      display_name=display_name, phone_encrypted=None, platform_role=role)
            user_id, created = user.id, True
        else:
            await users_queries.set_platform_role(s, zone.id, existing.id, role)
            user_id, created = existing.id, False
        await audit_log.record(s, zone_id=zone.id, action=f"admin.{role}.{'created' if created else 'granted'}",
                           user_id=user_id, details={"by": "cli", "email": email})
    return user_id, created


async def ensure_account(sessions: async_sessionmaker[AsyncSession], *, zone_key: str, email: str,
                         password_hash: str, display_name: str, platform_role: str | None = None,
                         totp_secret_encrypted: str | None = None) -> tuple[uuid.UUID, bool]:
    """The account with this email, created if missing (with the platform role and, when given,
    TOTP already on); an existing one is left exactly as it is. Returns (user id, created)."""
    if platform_role is not None and platform_role not in PLATFORM_ROLES:
        raise ValueError(f"platform_role must be one of {PLATFORM_ROLES}")
    zone = registry().zone(zone_key)
    email = accounts.normalize_email(email)
    async with tenant_transaction(sessions, TenantContext(zone_id=zone.id, role="super_admin")) as s:
        existing = await accounts.by_email(s, zone.id, email)
        if existing is not None:
            return existing.id, False
        user = await accounts.create(s, zone_id=zone.id, email=email, password_hash=password_hash,
                                     display_name=display_name, phone_encrypted=None, platform_role=platform_role)
        if totp_secret_encrypted is not None:
            await mfa_queries.set_mfa_secret(s, user.id, totp_secret_encrypted)
            await accounts.enable_mfa(s, user.id)
        await audit_log.record(s, zone_id=zone.id, action="admin.account.created", user_id=user.id,
                               details={"by": "demo_seed", "email": email, "platform_role": platform_role,
                                        "mfa": totp_secret_encrypted is not None})
    return user.id, True


async def rotate_pii(sessions: async_sessionmaker[AsyncSession], cipher: PiiCipher) -> int:
    """Re-encrypt every encrypted column under the current first key, in batches. Returns rows."""
    total = 0
    for zone in registry().zones:
        total += await _rotate_zone_pii(sessions, cipher, zone.id)
    async with sessions() as s, s.begin():
        keys = (await s.execute(text("SELECT kid, private_key_encrypted FROM auth.signing_keys"
                                     " WHERE private_key_encrypted IS NOT NULL FOR UPDATE"))).all()
        for k in keys:
            await s.execute(text("UPDATE auth.signing_keys SET private_key_encrypted = :p WHERE kid = :kid"),
                            {"kid": k.kid, "p": cipher.rotate(k.private_key_encrypted)})
    return total + len(keys)


async def _rotate_zone_pii(sessions: async_sessionmaker[AsyncSession], cipher: PiiCipher, zone_id: int) -> int:
    """One zone's users: RLS bounds every context, a super admin's included, to one zone."""
    total, after = 0, uuid.UUID(int=0)
    while True:
        async with tenant_transaction(sessions, TenantContext(zone_id=zone_id, role="super_admin")) as s:
            rows = (await s.execute(text(
                "SELECT id, phone_encrypted, mfa_secret_encrypted FROM auth.users WHERE id > :after"
                " AND (phone_encrypted IS NOT NULL OR mfa_secret_encrypted IS NOT NULL) ORDER BY id LIMIT :n"),
                {"after": after, "n": BATCH})).all()
            for r in rows:
                await s.execute(text("UPDATE auth.users SET phone_encrypted = :p, mfa_secret_encrypted = :m"
                                     " WHERE id = :id"),
                                {"id": r.id, "p": cipher.rotate(r.phone_encrypted) if r.phone_encrypted else None,
                                 "m": cipher.rotate(r.mfa_secret_encrypted) if r.mfa_secret_encrypted else None})
            if len(rows) < BATCH:  # the zone's last batch: its audit entry commits with it
                await audit_log.record(s, zone_id=zone_id, action="auth.pii.key_rotated",
                                       details={"by": "pii-rotate", "rows": total + len(rows)})
        total += len(rows)
        if len(rows) < BATCH:
            return total
        after = rows[-1].id


def _password() -> str:
    if os.environ.get("AUTH_ADMIN_PASSWORD"):
        return os.environ["AUTH_ADMIN_PASSWORD"]
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


async def _run(args: argparse.Namespace) -> None:
    from megacity.db import make_engine, make_sessionmaker
    from services.auth.settings import Settings

    settings = Settings()
    if not settings.database_url:
        raise SystemExit("AUTH_DATABASE_URL is not set")
    engine = make_engine(settings.database_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    cipher = PiiCipher(settings.pii_key_list)
    try:
        if args.command == "create-super-admin":
            hasher = Hasher(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                            parallelism=settings.argon2_parallelism)
            user_id, created = await create_admin(sessions, hasher, zone_key=args.zone, email=args.email,
                                                  password=_password(), display_name=args.display_name,
                                                  role=args.role)
            print(f"{'created' if created else 'promoted'} {args.role} {user_id} in zone {args.zone}")
        else:
            print(f"re-encrypted {await rotate_pii(sessions, cipher)} rows under the first AUTH_PII_KEYS key")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.auth.admin", description="Auth operator commands.")
    sub = parser.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-super-admin", help="create or promote a zone's admin")
    create.add_argument("--zone", required=True, choices=[z.key for z in registry().zones])
    create.add_argument("--email", required=True)
    create.add_argument("--display-name", default="Administrator")
    create.add_argument("--role", default="super_admin", choices=list(PLATFORM_ROLES))
    sub.add_parser("rotate-pii", help="re-encrypt PII and private keys under the first AUTH_PII_KEYS key")
    args = parser.parse_args(argv)
    from megacity.errors import AppError

    try:
        asyncio.run(_run(args))
    except AppError as err:
        raise SystemExit(f"error: {err.code}: {err.detail}") from None


if __name__ == "__main__":
    main()
