"""megacity.rate_limit against real Redis, and through a real service (exam, run_service): the
sliding window per account and per org, all-or-none counting, 429 `rate_limit.exceeded` with
Retry-After and RateLimit-* fields (draft-07), the tenant-namespaced keys, fail-open when Redis
is unreachable, and the 429 in every operation's OpenAPI."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from megacity.rate_limit import (
    DRAFT,
    EXCEEDED,
    Quota,
    SlidingWindowLimiter,
    _retry_after_ms,
    account_quotas,
)
from megacity.redis_client import make_redis
from megacity.redis_keys import InvalidKeyError, RedisKeys
from megacity.telemetry_testing import sample_value
from megacity.testing import TestDatabase, TokenMint, run_service

HOST = "api.univprepai.com"


def _keys(namespace: str) -> RedisKeys:
    return RedisKeys(namespace)


async def test_admits_up_to_the_limit_then_refuses_with_retry_after(redis_client, namespace) -> None:
    limiter = SlidingWindowLimiter(redis_client, service="test")
    quota = Quota("account", _keys(namespace).zone(1, "rl", "acct", "u1"), 5)
    remaining = []
    for _ in range(5):
        decision = await limiter.hit([quota])
        assert decision is not None and decision.allowed
        remaining.append(decision.closest.remaining)
    assert remaining == [4, 3, 2, 1, 0]
    refused = await limiter.hit([quota])
    assert refused is not None and not refused.allowed
    err = refused.error()
    assert err.status == 429 and err.code == EXCEEDED and "account" in err.detail
    # At most window + window / limit: five requests early in one bucket weigh 5·(60−t)/60 in the
    # next, which admits a sixth only 12 s into it (test_retry_after_arithmetic has the exact cases).
    assert 1 <= err.extra["retry_after"] <= 60 + 60 // 5
    headers = refused.headers()
    assert headers["Retry-After"] == str(err.extra["retry_after"]) == headers["RateLimit-Reset"]
    assert headers["RateLimit-Limit"] == "5" and headers["RateLimit-Remaining"] == "0"
    assert headers["RateLimit-Policy"] == '5;w=60;comment="account"'
    # a refusal is not counted: the bucket holds the five admitted requests only
    assert sum(int(v) for v in (await redis_client.hgetall(quota.key)).values()) == 5
    assert 60 < await redis_client.pttl(quota.key) <= 120_000


async def test_every_quota_admits_or_none_counts(redis_client, namespace) -> None:
    """The org ceiling refuses: the account's quota is not charged for the refused request."""
    limiter = SlidingWindowLimiter(redis_client, service="test")
    keys = _keys(namespace)
    org = uuid.uuid4()
    quotas = account_quotas(keys, zone_id=1, user_id=uuid.uuid4(), org_id=org, per_account=100, per_org=3)
    for _ in range(3):
        assert (await limiter.hit(quotas)).allowed  # type: ignore[union-attr]
    refused = await limiter.hit(quotas)
    assert refused is not None and not refused.allowed
    assert refused.closest.quota.scope == "org" and "org" in refused.error().detail
    policy = refused.headers()["RateLimit-Policy"]
    assert policy == '100;w=60;comment="account", 3;w=60;comment="org"'
    counts = [sum(int(v) for v in (await redis_client.hgetall(q.key)).values()) for q in quotas]
    assert counts == [3, 3]
    # another account of the same org meets the same ceiling; one of another org does not
    other = account_quotas(keys, zone_id=1, user_id=uuid.uuid4(), org_id=org, per_account=100, per_org=3)
    assert not (await limiter.hit(other)).allowed  # type: ignore[union-attr]
    elsewhere = account_quotas(keys, zone_id=1, user_id=uuid.uuid4(), org_id=uuid.uuid4(), per_account=100,
                               per_org=3)
    assert (await limiter.hit(elsewhere)).allowed  # type: ignore[union-attr]


async def test_the_previous_bucket_still_counts(redis_client, namespace) -> None:
    """A sliding window, not a fixed one: requests of the previous minute weigh in."""
    limiter = SlidingWindowLimiter(redis_client, service="test", window_seconds=3600)
    quota = Quota("account", _keys(namespace).zone(1, "rl", "acct", "busy"), 10)
    seconds, _ = await redis_client.time()
    bucket = seconds // 3600
    await redis_client.hset(quota.key, str(bucket - 1), 1_000_000)
    refused = await limiter.hit([quota])
    after, _ = await redis_client.time()  # read after the hit: a second may pass in between
    assert refused is not None and not refused.allowed
    assert refused.closest.reset > 3600 - (after % 3600) - 1  # not before the next bucket


def test_retry_after_arithmetic() -> None:
    window = 60_000
    # full current bucket: wait for the next one and for this one's weight to fall below the limit
    assert _retry_after_ms(10, 0, 10, 15_000, window) == pytest.approx(45_000 + 60_000 * 0.1)
    # room in this bucket but the previous one weighs too much: wait until its share shrinks
    assert _retry_after_ms(10, 20, 0, 0, window) == pytest.approx(60_000 - 9 * 60_000 / 20)
    assert _retry_after_ms(10, 0, 3, 1_000, window) == 0.0


def test_keys_live_in_the_callers_tenant_namespace() -> None:
    keys = RedisKeys("p")
    org, user = uuid.uuid4(), uuid.uuid4()
    account, per_org = account_quotas(keys, zone_id=3, user_id=user, org_id=org, per_account=300, per_org=6000)
    assert account.key == f"p:z:3:o:{org}:rl:acct:{user}" and account.limit == 300
    assert per_org.key == f"p:z:3:o:{org}:rl:org" and per_org.limit == 6000
    (admin,) = account_quotas(keys, zone_id=3, user_id=user, org_id=None, per_account=300, per_org=6000)
    assert admin.key == f"p:z:3:rl:acct:{user}" and admin.scope == "account"
    with pytest.raises(InvalidKeyError):
        account_quotas(keys, zone_id=0, user_id=user, org_id=org, per_account=1, per_org=1)


async def test_redis_down_fails_open_with_a_metric() -> None:
    dead = make_redis("redis://127.0.0.1:1/0")
    try:
        limiter = SlidingWindowLimiter(dead, service="fail-open-test")
        before = sample_value("mc_rate_limit_fail_open_total", {"service": "fail-open-test"}) or 0.0
        assert await limiter.hit([Quota("account", "k", 1)]) is None
        assert await limiter.hit([Quota("account", "k", 1)]) is None
        after = sample_value("mc_rate_limit_fail_open_total", {"service": "fail-open-test"})
        assert after == before + 2
    finally:
        await dead.aclose()


# -- through a real service ------------------------------------------------------------------------

@pytest.fixture
async def exam(test_db: TestDatabase, namespace: str, token_mint: TokenMint) -> AsyncIterator[httpx.AsyncClient]:
    async with run_service("exam", test_db, namespace, expiry_sweep_seconds=3600, rate_limit_account_per_minute=3,
                           rate_limit_org_per_minute=5) as rt:
        token_mint.install(rt.app)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=20) as client:
            yield client


def _as(mint: TokenMint, org: uuid.UUID | None, role: str = "student") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint.token(zone_id=1, role=role, org_id=org)}", "Host": HOST}


async def test_service_limits_each_account_then_the_org(exam: httpx.AsyncClient, token_mint: TokenMint) -> None:
    org = uuid.uuid4()
    first, second = _as(token_mint, org), _as(token_mint, org)
    for left in (2, 1, 0):
        resp = await exam.get("/api/v1/exams", headers=first)
        assert resp.status_code == 200, resp.text
        assert resp.headers["RateLimit-Remaining"] == str(left) and resp.headers["RateLimit-Limit"] == "3"
        assert resp.headers["RateLimit-Policy"] == '3;w=60;comment="account", 5;w=60;comment="org"'
    refused = await exam.get("/api/v1/exams", headers=first)
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == EXCEEDED and "account" in body["detail"] and body["instance"] == "/api/v1/exams"
    assert int(refused.headers["Retry-After"]) >= 1 and refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["x-served-by"] == "exam"  # counted in the service's metrics like any answer
    # a classmate has its own account quota, until the org's ceiling (5) is reached
    for _ in range(2):
        assert (await exam.get("/api/v1/exams", headers=second)).status_code == 200
    org_refused = await exam.get("/api/v1/exams", headers=second)
    assert org_refused.status_code == 429 and "org" in org_refused.json()["detail"]
    # another org is not touched, and neither is a caller without a token or with a bad one
    assert (await exam.get("/api/v1/exams", headers=_as(token_mint, uuid.uuid4()))).status_code == 200
    anonymous = await exam.get("/api/v1/exams", headers={"Host": HOST})
    assert anonymous.status_code == 401 and "RateLimit-Limit" not in anonymous.headers
    forged = await exam.get("/api/v1/exams", headers={"Authorization": "Bearer not.a.token", "Host": HOST})
    assert forged.status_code == 401 and forged.json()["code"] == "auth.token_invalid"
    assert (await exam.get("/healthz", headers=first)).status_code == 200


async def test_every_operation_documents_the_429(exam: httpx.AsyncClient) -> None:
    spec = (await exam.get("/openapi.json")).json()
    operations = [(path, op) for path, ops in spec["paths"].items() for op in ops.values()]
    assert len(operations) > 10
    for path, op in operations:
        if path in ("/healthz", "/readyz"):
            assert "429" not in op["responses"], path
            continue
        answer = op["responses"]["429"]
        content = answer["content"]["application/problem+json"]
        codes = [content["example"]["code"]] if "example" in content else [
            e["value"]["code"] for e in content["examples"].values()]
        assert EXCEEDED in codes, path
        assert {"Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                "RateLimit-Policy"} <= set(answer["headers"]), path
        assert DRAFT in answer["headers"]["RateLimit-Policy"]["description"]
