"""Redis-only job progress: TTLs, the 10 KB rule, tenant isolation and the HTTP/SSE endpoints."""
from __future__ import annotations

import json
import uuid

import httpx
import pytest

from megacity.auth.verifier import deny_sessions
from megacity.job_progress import FINISHED_TTL_SECONDS, RUNNING_TTL_SECONDS, JobProgress, PayloadTooLarge
from megacity.redis_keys import RedisKeys
from megacity.testing import run_service


async def test_lifecycle_and_ttls(redis_client, namespace) -> None:
    store = JobProgress(redis_client, RedisKeys(namespace))
    org, job = uuid.uuid4(), uuid.uuid4()
    await store.create(1, org, job, kind="roster_import", total=200)
    key = store.key(1, org, job)
    assert key == f"{namespace}:z:1:o:{org}:job:{job}"
    assert 0 < await redis_client.ttl(key) <= RUNNING_TTL_SECONDS
    await store.update(1, org, job, step="inserting", processed=50, total=200, errors=1)
    state = await store.get(1, org, job)
    assert (state["status"], state["progress"], state["errors"]) == ("running", 25.0, 1)
    await store.finish(1, org, job, errors=1)
    assert RUNNING_TTL_SECONDS < await redis_client.ttl(key) <= FINISHED_TTL_SECONDS
    assert (await store.get(1, org, job))["status"] == "succeeded"
    assert await store.get(1, uuid.uuid4(), job) is None  # another org's namespace has nothing
    with pytest.raises(PayloadTooLarge):
        await store.update(1, org, job, step="x" * 10_240)
    with pytest.raises(ValueError):
        await store.finish(1, org, job, status="running")
    # A finished job may leave its outcome as fields (`result`): small, like every field here.
    await store.finish(1, org, job, result={"students": 36, "accounts_created": 70})
    assert (await store.get(1, org, job))["result"] == {"students": 36, "accounts_created": 70}
    with pytest.raises(PayloadTooLarge):
        await store.finish(1, org, job, result={"ids": ["x" * 40] * 300})
    # A failed job may leave a stable code next to its English text (`error_code`).
    failed = uuid.uuid4()
    await store.finish(1, org, failed, status="failed", error="dependency.auth_unavailable: auth did not answer",
                       error_code="dependency.auth_unavailable")
    state = await store.get(1, org, failed)
    assert (state["status"], state["error_code"]) == ("failed", "dependency.auth_unavailable")


async def test_progress_endpoint_is_tenant_scoped(test_db, namespace, token_mint, redis_client) -> None:
    org_a, org_b, owner = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with run_service("tenant", test_db, namespace) as rt:
        token_mint.install(rt.app)
        store = JobProgress(redis_client, RedisKeys(namespace))
        job = uuid.uuid4()
        await store.create(1, org_a, job, kind="roster_import", owner=owner, total=10)
        await store.update(1, org_a, job, processed=4, total=10)
        host = {"Host": "api.univprepai.com"}
        url = f"/api/v1/jobs/{job}/progress"

        def auth(**kw) -> dict:
            return {**host, "Authorization": f"Bearer {token_mint.token(zone_id=1, **kw)}"}

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}") as client:
            resp = await client.get(url, headers=auth(role="teacher", org_id=org_a, user_id=owner))
            assert resp.status_code == 200 and resp.json()["progress"] == 40.0 and resp.json()["result"] is None
            assert resp.json()["error_code"] is None
            assert (await client.get(url, headers=auth(role="org_admin", org_id=org_a))).status_code == 200
            for headers in (auth(role="teacher", org_id=org_a), auth(role="org_admin", org_id=org_b)):
                resp = await client.get(url, headers=headers)
                assert resp.status_code == 404 and resp.json()["code"] == "job.not_found"
            # Zone-level admins name the org; without it, or naming another org, the job is 404.
            resp = await client.get(url, params={"org_id": str(org_a)}, headers=auth(role="zone_admin"))
            assert resp.status_code == 200 and resp.json()["job_id"] == str(job)
            resp = await client.get(url, headers=auth(role="zone_admin"))
            assert resp.status_code == 404 and resp.json()["code"] == "job.not_found"
            resp = await client.get(url, params={"org_id": str(org_b)}, headers=auth(role="zone_admin"))
            assert resp.status_code == 404
            resp = await client.get(url, params={"org_id": str(org_b)}, headers=auth(role="teacher", org_id=org_a,
                                                                                    user_id=owner))
            assert resp.status_code == 404
            resp = await client.get(url, headers=host)
            assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
            other_zone = {"Host": "api.mpcstudy.com",
                          "Authorization": f"Bearer {token_mint.token(zone_id=1, role='org_admin', org_id=org_a)}"}
            resp = await client.get(url, headers=other_zone)
            assert resp.status_code == 403 and resp.json()["code"] == "auth.zone_mismatch"

            await store.finish(1, org_a, job, result={"students": 10, "accounts_linked": 2})
            done = await client.get(url, headers=auth(role="org_admin", org_id=org_a))
            assert done.json()["result"] == {"students": 10, "accounts_linked": 2}, done.text
            async with client.stream("GET", f"/api/v1/jobs/{job}/events",
                                     headers=auth(role="org_admin", org_id=org_a)) as stream:
                body = "".join([chunk async for chunk in stream.aiter_text()])
            assert stream.status_code == 200 and '"status": "succeeded"' in body
            last = json.loads([line for line in body.splitlines() if line.startswith("data:")][-1][5:])
            assert last["result"] == {"students": 10, "accounts_linked": 2}  # the SSE event carries it too


async def test_stream_ends_when_its_token_is_revoked(test_db, namespace, token_mint, redis_client) -> None:
    """Issue #9: an SSE stream kept sending after logout. The stream re-checks its token."""
    org, owner, job, sid = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
    keys = RedisKeys(namespace)
    async with run_service("tenant", test_db, namespace) as rt:
        token_mint.install(rt.app)
        store = JobProgress(redis_client, keys)
        await store.create(1, org, job, kind="roster_import", owner=owner, total=10)
        token = token_mint.token(zone_id=1, role="teacher", org_id=org, user_id=owner, sid=sid)
        headers = {"Host": "api.univprepai.com", "Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30) as client:
            async with client.stream("GET", f"/api/v1/jobs/{job}/events", headers=headers) as stream:
                lines = stream.aiter_lines()
                assert stream.status_code == 200
                assert await anext(lines) == "event: progress"
                await deny_sessions(redis_client, keys, 1, [sid])  # what logout / session revocation writes
                rest = [line async for line in lines]  # ends: the server closes the stream
        events = [line for line in rest if line.startswith("event:")]
        assert events[-1] == "event: error", rest
        error = json.loads(next(line for line in reversed(rest) if line.startswith("data:"))[5:])
        assert error["status"] == 401 and error["code"] == "auth.token_revoked"
