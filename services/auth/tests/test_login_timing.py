"""An unknown email must not be told apart from a wrong password, not even by timing: the
unknown case still runs a full Argon2id verify, against a dummy hash made with the same
(production) parameters as real hashes. Asserted by what runs, not by a stopwatch: every login
attempt calls the verify exactly once, the unknown email's verify uses a hash of the same
algorithm and cost as the stored one, and both answers are the same. (The wall-clock equality is
a property of that: Argon2 time depends only on its parameters.)"""
from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def auth_overrides() -> dict:
    from services.auth.settings import AuthSettings

    defaults = AuthSettings.model_fields
    return {name: defaults[name].default for name in ("argon2_time_cost", "argon2_memory_kib", "argon2_parallelism")}


def argon2_parameters(encoded: str) -> tuple[str, str, str]:
    """`$argon2id$v=19$m=65536,t=3,p=4$salt$hash` -> (algorithm, version, cost)."""
    _, algorithm, version, cost, _salt, _hash = encoded.split("$")
    return algorithm, version, cost


class CountingArgon2:
    """argon2's PasswordHasher (slotted: its methods cannot be patched), with `verify` recorded."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.verified: list[str] = []

    def verify(self, hash_: str, password: str) -> bool:
        self.verified.append(hash_)
        return bool(self.real.verify(hash_, password))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


async def test_unknown_email_runs_the_same_hash_verify_as_a_wrong_password(env, monkeypatch) -> None:
    await env.register("real@example.com")
    [stored] = await env.auth_sql("SELECT password_hash FROM auth.users WHERE email = 'real@example.com'")
    hasher = env.auth.app.state.auth.hasher
    counting = CountingArgon2(hasher._ph)  # the service's own argon2 PasswordHasher, every call counted
    monkeypatch.setattr(hasher, "_ph", counting)
    unknown = await env.login("ghost@example.com", password="Wrong-pass-1", address="192.0.2.1")
    wrong = await env.login("real@example.com", password="Wrong-pass-1", address="192.0.2.2")

    assert (unknown.status_code, wrong.status_code) == (401, 401)
    assert unknown.json() == wrong.json() and unknown.json()["code"] == "auth.invalid_credentials"
    assert sorted(unknown.headers.keys()) == sorted(wrong.headers.keys())
    verified = counting.verified
    assert len(verified) == 2  # one full verify per attempt, unknown email included
    dummy, real = verified
    assert real == stored.password_hash and dummy != real
    assert argon2_parameters(dummy) == argon2_parameters(real) == ("argon2id", "v=19", "m=65536,t=3,p=4")
