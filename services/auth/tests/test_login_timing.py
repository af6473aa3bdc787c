"""At the production Argon2id cost, an unknown email takes as long as a wrong password (the
unknown case verifies against a dummy hash), so timing does not reveal which accounts exist."""
from __future__ import annotations

import statistics
import time

import pytest


@pytest.fixture
def auth_overrides() -> dict:
    from services.auth.settings import AuthSettings

    defaults = AuthSettings.model_fields
    return {name: defaults[name].default for name in ("argon2_time_cost", "argon2_memory_kib", "argon2_parallelism")}


async def test_unknown_email_costs_as_much_as_a_wrong_password(env) -> None:
    accounts = [f"real{i}@example.com" for i in range(3)]
    for email in accounts:
        await env.register(email)
    unknown, wrong = [], []
    for i in range(6):  # interleaved, so machine noise hits both alike
        start = time.perf_counter()
        resp = await env.login(f"ghost{i}@example.com", password="Wrong-pass-1", address=f"192.0.2.{i + 1}")
        unknown.append(time.perf_counter() - start)
        assert resp.status_code == 401
        start = time.perf_counter()
        resp = await env.login(accounts[i % 3], password="Wrong-pass-1", address=f"192.0.2.{i + 101}")
        wrong.append(time.perf_counter() - start)
        assert resp.status_code == 401
    u, w = statistics.median(unknown), statistics.median(wrong)
    assert w > 0.01, f"Argon2id at production cost should take well over 10 ms, took {w * 1000:.1f} ms"
    assert 0.5 < u / w < 2.0, f"unknown {u * 1000:.1f} ms vs wrong password {w * 1000:.1f} ms"
