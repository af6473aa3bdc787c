"""The real JWKS fetch: every service that verifies access tokens (auth, tenant, exam, kzone)
gets auth's keys over HTTP from auth's own `/.well-known/jwks.json` — no test mint installed,
no key handed over in process. Each service is started with `jwks_url` pointing at the running
auth service, receives a token auth issued at login, and must verify it: the token is accepted
(whatever the route then decides, it is not a 401/503), the verifier now holds auth's key id,
auth counted the JWKS request it served, and a token signed by a key auth never published is
refused as `auth.unknown_key`."""
from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from megacity.auth.tokens import SigningKey, issue_access_token
from megacity.auth.verifier import JwksCache, TokenVerifier, http_jwks_fetcher
from megacity.telemetry_testing import sample_value
from megacity.testing import run_service
from services.auth.tests.conftest import bearer

JWKS_PATH = "/.well-known/jwks.json"

# One authenticated read per verifying service.
READS = {"tenant": "/api/v1/orgs", "exam": "/api/v1/exams", "kzone": "/api/v1/kzone/contents"}


def jwks_served() -> float:
    """JWKS answers auth has given (its own request metrics; auth's host is an address: no zone)."""
    return sample_value("mc_http_requests_total", {
        "service": "auth", "method": "GET", "route": JWKS_PATH, "status": "200", "zone": "none"}) or 0.0


def stranger_token(kid_of_auth: str) -> str:
    """A well-formed token for the same user claims, signed by a key auth never published."""
    key = SigningKey.generate()
    assert key.kid != kid_of_auth
    return issue_access_token(key, user_id=uuid.uuid4(), zone_id=1, org_id=None, role="guest")[0]


def overrides_for(service: str, tmp_path: Path) -> dict[str, Any]:
    if service == "kzone":
        return {"object_backend": "fs", "object_root": str(tmp_path / "objects")}
    return {}


async def test_auth_jwks_endpoint_verifies_its_own_tokens_over_http(env) -> None:
    """What every other service does, with the library's verifier against auth's endpoint."""
    user_id, tokens = await env.user("reader@example.com")
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    served = jwks_served()
    verifier = TokenVerifier(JwksCache(http_jwks_fetcher(f"http://127.0.0.1:{env.auth.http_port}{JWKS_PATH}")))
    principal = await verifier.verify(tokens["access_token"], env.redis, env.auth.resources.keys)
    assert (principal.user_id, principal.role, principal.zone_id) == (user_id, "guest", 1)
    assert verifier.jwks.cached(kid) is not None
    assert jwks_served() == served + 1


@pytest.mark.parametrize("service", sorted(READS))
async def test_service_fetches_auth_keys_over_http(env, service: str, tmp_path: Path) -> None:
    _, tokens = await env.user(f"{service}-reader@example.com")
    access = tokens["access_token"]
    kid = jwt.get_unverified_header(access)["kid"]
    served = jwks_served()
    jwks_url = f"http://127.0.0.1:{env.auth.http_port}{JWKS_PATH}"
    async with run_service(service, env.db, env.namespace, jwks_url=jwks_url, **overrides_for(service, tmp_path)) as rt:
        assert getattr(rt.app.state, "token_verifier", None) is None  # nothing installed: it must fetch
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=30) as client:
            resp = await client.get(READS[service], headers=bearer(access))
            assert resp.status_code not in (401, 503), resp.text
            assert rt.app.state.token_verifier.jwks.cached(kid) is not None
            assert jwks_served() >= served + 1
            refused = await client.get(READS[service], headers=bearer(stranger_token(kid)))
            assert refused.status_code == 401 and refused.json()["code"] == "auth.unknown_key", refused.text
