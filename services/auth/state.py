"""The auth service's own typed per-process objects (on `app.state.auth`), next to the shared
`Resources`: settings, cipher, password hasher, signing-key ring, brute-force guard and the
registration quota. Everything is made in `create`; the two Redis-backed limits get their
client when the runtime starts (`start`, an on_start hook) and refuse use before that."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from megacity.errors import dependency_unavailable
from megacity.pii import PiiCipher
from megacity.runtime import Resources
from services.auth.brute_force import AddressQuota, BruteForceGuard
from services.auth.keys import KeyRing
from services.auth.passwords import Hasher
from services.auth.settings import AuthSettings


@dataclass
class AuthState:
    settings: AuthSettings
    cipher: PiiCipher
    hasher: Hasher
    keyring: KeyRing
    _guard: BruteForceGuard | None = field(default=None, repr=False)
    _register_quota: AddressQuota | None = field(default=None, repr=False)

    @classmethod
    def create(cls, settings: AuthSettings) -> AuthState:
        cipher = PiiCipher(settings.pii_key_list)
        return cls(settings=settings, cipher=cipher,
                   hasher=Hasher(time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib,
                                 parallelism=settings.argon2_parallelism),
                   keyring=KeyRing(cipher, reload_seconds=settings.key_reload_seconds,
                                   passive_retention_seconds=settings.passive_key_retention_seconds,
                                   publish_lead_seconds=settings.key_publish_lead_seconds))

    async def start(self, res: Resources) -> None:
        """Runtime on_start hook: keys from the database, Redis-backed limits."""
        await self.keyring.start(res.db())
        s = self.settings
        self._guard = BruteForceGuard(res.redis, res.keys, max_failures=s.login_max_failures,
                                      window=s.login_window_seconds, block=s.login_block_seconds,
                                      address_max_failures=s.login_address_max_failures,
                                      address_attempts=s.login_per_address_per_minute)
        self._register_quota = AddressQuota(res.redis, res.keys, "register", s.register_per_minute)

    @property
    def guard(self) -> BruteForceGuard:
        if self._guard is None:
            raise dependency_unavailable("redis")
        return self._guard

    @property
    def register_quota(self) -> AddressQuota:
        if self._register_quota is None:
            raise dependency_unavailable("redis")
        return self._register_quota


async def auth_state(request: Request) -> AuthState:
    """FastAPI dependency (async: no thread-pool hop)."""
    state: AuthState = request.app.state.auth
    return state


# `st: AuthStateDep` in a route instead of repeating `Depends(auth_state)`.
AuthStateDep = Annotated[AuthState, Depends(auth_state)]
