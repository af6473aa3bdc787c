"""Emailed one-time links (`auth.account_tokens`): password reset and email verification.

A token is 256 random bits with a prefix naming its purpose; only its SHA-256 is stored, so a
database copy opens no account. Issuing one replaces the user's older live tokens of the same
purpose (the newest mail is the one that works); using one stamps it used in the transaction
of the change it allows (single use, serialised by the row lock). A link also dies when the
account is no longer active, when its address changed, and (password reset) when the password
changed after it was sent.
"""
from __future__ import annotations

import enum
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.errors import AppError

Purpose = Literal["password_reset", "email_verification"]
PREFIXES: dict[str, str] = {"password_reset": "pwr_", "email_verification": "emv_"}


def new_token(purpose: Purpose) -> str:
    return PREFIXES[purpose] + secrets.token_urlsafe(32)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class TokenState(enum.Enum):
    LIVE = "live"
    UNKNOWN = "unknown"
    USED = "used"
    REPLACED = "replaced"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TokenRow:
    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    state: TokenState


async def issue(s: AsyncSession, *, zone_id: int, user_id: uuid.UUID, purpose: Purpose, email: str,
                ttl_seconds: int) -> str:
    """A new token (returned in clear once); the user's older live ones of this purpose die."""
    await s.execute(text(
        "UPDATE auth.account_tokens SET replaced_at = now() WHERE zone_id = :z AND user_id = :u AND purpose = :p"
        " AND used_at IS NULL AND replaced_at IS NULL"), {"z": zone_id, "u": user_id, "p": purpose})
    token = new_token(purpose)
    await s.execute(text(
        "INSERT INTO auth.account_tokens (zone_id, user_id, purpose, token_hash, email, expires_at)"
        " VALUES (:z, :u, :p, :h, :e, now() + make_interval(secs => :ttl))"),
        {"z": zone_id, "u": user_id, "p": purpose, "h": token_hash(token), "e": email, "ttl": ttl_seconds})
    return token


async def lock(s: AsyncSession, zone_id: int, purpose: Purpose, token: str) -> TokenRow | None:
    """The token's row, locked (FOR UPDATE), with its state; None when no such token exists or
    its account is not active. The email is the one the link was sent to: a changed address
    makes the link unusable, and so does a password changed after a reset link was sent."""
    if not token.startswith(PREFIXES[purpose]) or len(token) > 100:
        return None
    row = (await s.execute(text(
        "SELECT t.id, t.user_id, t.email, t.used_at, t.replaced_at, t.expires_at <= now() AS expired,"
        " u.email AS current_email, u.status, u.password_changed_at > t.created_at AS password_changed"
        " FROM auth.account_tokens t JOIN auth.users u ON u.zone_id = t.zone_id AND u.id = t.user_id"
        " WHERE t.zone_id = :z AND t.purpose = :p AND t.token_hash = :h FOR UPDATE OF t"),
        {"z": zone_id, "p": purpose, "h": token_hash(token)})).first()
    if row is None or row.status != "active":
        return None
    if row.used_at is not None:
        state = TokenState.USED
    elif (row.replaced_at is not None or row.email != row.current_email
          or (purpose == "password_reset" and row.password_changed)):
        state = TokenState.REPLACED
    elif row.expired:
        state = TokenState.EXPIRED
    else:
        state = TokenState.LIVE
    return TokenRow(row.id, row.user_id, row.email, state)


Problem = tuple[int, str, str]


async def lock_live(s: AsyncSession, zone_id: int, purpose: Purpose, token: str, *, invalid: Problem,
                    errors: dict[TokenState, Problem]) -> TokenRow:
    """`lock`, for a flow that needs the link live: `invalid` (400) for an unknown link, the
    flow's 410 of `errors` for a used, replaced or expired one."""
    row = await lock(s, zone_id, purpose, token)
    if row is None:
        raise AppError(*invalid)
    if row.state is not TokenState.LIVE:
        raise AppError(*errors[row.state])
    return row


async def use(s: AsyncSession, token_id: uuid.UUID) -> None:
    await s.execute(text("UPDATE auth.account_tokens SET used_at = now() WHERE id = :id AND used_at IS NULL"),
                    {"id": token_id})
