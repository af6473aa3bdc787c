"""Every public API service answers what its OpenAPI says (issue #9): a schemathesis run against the
OpenAPI that auth, tenant, exam, kzone, classroom and arena serve (not web: HTML pages, see
tests/api/conftest.py), over real HTTP with the zone's `Host`, as a
teacher, an org admin and a student holding real tokens from the real auth service
(tests/api/conftest.py starts the mesh and seeds it).

Each generated request (schemathesis' examples, coverage and fuzzing phases; valid and invalid
inputs) is sent once per role (classroom: also as a participant holding the token an anonymous
join returns), and every answer must pass:
  - not_a_server_error: no 5xx;
  - status_code_conformance: the status is documented for the operation;
  - content_type_conformance: the Content-Type is the documented one for that status;
  - response_schema_conformance: the body matches the documented schema.
A failure names the operation (subtest), the role and a curl line that reproduces it.

Bounded: MAX_EXAMPLES generated cases per operation, no shrinking, no example database. One
pytest test per service.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import ApiMesh

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Generated cases per operation (each sent as every role), besides examples and coverage cases;
# MC_API_MAX_EXAMPLES raises it for a longer local hunt.
MAX_EXAMPLES = int(os.environ.get("MC_API_MAX_EXAMPLES", "8"))
REQUEST_TIMEOUT = 20.0

# Left out, with the reason:
#  - GET /api/v1/jobs/{job_id}/events is Server-Sent Events: for a job that exists the response
#    never ends, which a request/response client cannot read. Its JSON sibling
#    GET /api/v1/jobs/{job_id}/progress (same lookup, same errors) is exercised.
#  - POST /api/v1/kzone/tutor/ask needs the inference service, which is not in this mesh (503
#    by design there); its SSE answers are tested in services/kzone/tests/test_tutor.py.
#  - GET /api/v1/classroom/sessions/{code}/ws is a WebSocket: a plain GET answers 426 by design,
#    whatever the input (the doc operation only carries the protocol's description). The socket
#    is exercised through the edge in tests/integration/test_classroom_edge.py.
#  - GET /api/v1/arena/ws likewise (tests/integration/test_arena_edge.py plays a match through it).
EXCLUDED_PATHS = ("/api/v1/jobs/{job_id}/events", "/api/v1/kzone/tutor/ask", "/api/v1/classroom/sessions/{code}/ws",
                  "/api/v1/arena/ws")
# Run last: a successful logout revokes that role's token, after which the role only sees 401s.
RUN_LAST = ("/api/v1/auth/logout",)


def _mix_known_ids(known: dict[str, list[str]]):
    """A flatmap hook: each generated parameter that names a seeded row (`org_id`, `exam_id`, …)
    is kept or replaced by a real id, so that some requests reach real rows."""

    def mix(context: Any, params: dict[str, Any] | None) -> st.SearchStrategy:
        if not params:
            return st.just(params)
        return st.fixed_dictionaries({name: st.sampled_from([value, *known[name]]) if known.get(name) else st.just(value)
                                      for name, value in params.items()})

    return mix


@pytest.fixture
def api_schema(api_mesh: ApiMesh) -> Iterator[schemathesis.BaseSchema]:
    raw = httpx.get(f"{api_mesh.base_url}/openapi.json", timeout=REQUEST_TIMEOUT).raise_for_status().json()
    paths = raw["paths"]
    raw["paths"] = {p: paths[p] for p in sorted(paths, key=lambda p: p in RUN_LAST) if p not in EXCLUDED_PATHS}
    config = schemathesis.Config.from_dict({
        "base-url": api_mesh.base_url, "request-timeout": REQUEST_TIMEOUT,
        # Failure reports hide credentials but keep request bodies whole (e.g. an item's `answer_key`).
        "output": {"sanitization": {"keys-to-sanitize": ["authorization", "cookie", "set-cookie", "password"],
                                    "sensitive-markers": ["token", "secret"]}}})
    schema = schemathesis.openapi.from_dict(raw, config=config)
    schema.hook("flatmap_path_parameters")(_mix_known_ids(api_mesh.known_ids))
    schema.hook("flatmap_query")(_mix_known_ids(api_mesh.known_ids))
    yield schema
    print(api_mesh.summary())
    # Not a run of refusals: every role's token got it through to some 2xx answers (classroom: its
    # staff and its participant; see NO_ACCESS).
    assert all(api_mesh.authorized[role] for role in api_mesh.expected_access), api_mesh.summary()


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_public_api_conforms_to_its_openapi(case: schemathesis.Case, api_mesh: ApiMesh) -> None:
    api_mesh.operations.add(case.operation.label)
    needs_token = "401" in case.operation.definition.raw["responses"]
    for role in api_mesh.roles:
        response = case.call(headers=api_mesh.headers(role), timeout=REQUEST_TIMEOUT)
        api_mesh.answers[role, response.status_code] += 1
        api_mesh.authorized[role] += needs_token and 200 <= response.status_code < 300
        try:
            case.validate_response(response, checks=CHECKS, headers=api_mesh.headers(role))
        except FailureGroup as exc:
            exc.add_note(f"{api_mesh.service}: called as {role} on {api_mesh.host}")
            raise
