"""Participant tokens: what an anonymous participant holds to reconnect as itself (same seat,
nickname and points) however many times it drops. HS256 with a key derived from the service
secret (never the platform's access-token keys), scoped to one session and one participant, and
expiring no later than the session can live. A token is necessary, not sufficient: the session
and participant rows are checked on every use (ended session, kick, ban)."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

import jwt

from megacity.errors import AppError

TYPE = "mc-classroom-participant"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class ParticipantClaims:
    zone_id: int
    org_id: uuid.UUID
    session_id: uuid.UUID
    participant_id: uuid.UUID
    mode: str


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"classroom participant tokens v1", hashlib.sha256).digest()


def issue(secret: str, claims: ParticipantClaims, expires_at: dt.datetime) -> str:
    return jwt.encode({"typ": TYPE, "z": claims.zone_id, "o": str(claims.org_id), "sid": str(claims.session_id),
                       "pid": str(claims.participant_id), "mode": claims.mode,
                       "iat": int(dt.datetime.now(dt.UTC).timestamp()), "exp": int(expires_at.timestamp())},
                      _key(secret), algorithm=ALGORITHM)


def is_participant_token(token: str) -> bool:
    """Whether a bearer token is ours (HS256, our type) rather than an access token from auth."""
    try:
        return jwt.get_unverified_header(token).get("alg") == ALGORITHM
    except jwt.PyJWTError:
        return False


def invalid(detail: str = "the participant token is invalid or has expired; join again") -> AppError:
    return AppError(401, "classroom.participant_token_invalid", detail)


def verify(secret: str, token: str) -> ParticipantClaims:
    try:
        c = jwt.decode(token, _key(secret), algorithms=[ALGORITHM], options={"require": ["exp", "iat"]})
        if c.get("typ") != TYPE:
            raise invalid()
        return ParticipantClaims(zone_id=int(c["z"]), org_id=uuid.UUID(c["o"]), session_id=uuid.UUID(c["sid"]),
                                 participant_id=uuid.UUID(c["pid"]), mode=str(c.get("mode", "live")))
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise invalid() from None
