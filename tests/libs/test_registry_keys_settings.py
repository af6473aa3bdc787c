"""Zone registry, Redis key builder, settings and the error mapping: pure functions, no servers."""
from __future__ import annotations

import uuid

import grpc
import pytest
from pydantic import ValidationError

from megacity.errors import AppError
from megacity.redis_keys import InvalidKeyError, RedisKeys
from megacity.settings import settings_class
from megacity.zones import registry


def test_registry_has_nine_zones_with_five_hosts_each() -> None:
    reg = registry()
    assert [z.key for z in reg.zones] == ["univ", "college", "skill", "medi", "major", "kzone", "kzone-ai",
                                          "mpc", "dreamseed"]
    assert len(reg.host_routes()) == 9 * 5
    assert set(reg.services) == {"auth", "tenant", "exam", "cat", "kzone", "inference", "classroom", "arena", "web"}
    # www./app. and the admin console are the pages service's; it is public (behind the edge).
    assert reg.pages_service == "web" and reg.services["web"].public
    assert {r.prefix: r.kind for r in reg.host_routes() if r.zone.key == "univ"} == {
        "www": "pages", "app": "pages", "api": "api", "static": "objects", "admin": "admin"}


def test_registry_refuses_an_unknown_host_kind_or_pages_service() -> None:
    data = registry().model_dump()
    for bad in ({"host_prefixes": {**data["host_prefixes"], "www": "frontend"}},
                {"pages_service": "nowhere"}, {"pages_service": "cat"}):  # cat is not public
        with pytest.raises(ValidationError):
            type(registry()).model_validate({**data, **bad})


@pytest.mark.parametrize("host, zone, kind", [
    ("api.univprepai.com", "univ", "api"),
    ("API.My-KTube.ai:443", "kzone-ai", "api"),
    ("admin.dreamseedai.com.", "dreamseed", "admin"),
    ("static.mpcstudy.com", "mpc", "objects"),
    ("www.mediprepai.com", "medi", "pages"),
    ("app.my-ktube.com:8443", "kzone", "pages"),
])
def test_host_resolution(host: str, zone: str, kind: str) -> None:
    route = registry().resolve_host(host)
    assert route is not None and route.zone.key == zone and route.kind == kind


@pytest.mark.parametrize("host", [None, "", "api.evil.com", "univprepai.com", "x.api.univprepai.com", "[::1]:80"])
def test_unknown_hosts(host: str | None) -> None:
    assert registry().resolve_host(host) is None


def test_path_ownership_longest_prefix_wins() -> None:
    reg = registry()
    univ, kzai, portal = reg.zone("univ"), reg.zone("kzone-ai"), reg.zone("dreamseed")
    assert reg.service_for_path(univ, "/api/v1/auth/login") == "auth"
    assert reg.service_for_path(univ, "/api/v1/admin/audit-logs") == "auth"
    assert reg.service_for_path(univ, "/api/v1/exams/123") == "exam"
    assert reg.service_for_path(univ, "/api/v1/examsX") == "exam"  # not a prefix match; falls to the zone default
    assert reg.service_for_path(kzai, "/api/v1/kzone/voice/analyze") == "kzone"
    assert reg.service_for_path(kzai, "/anything") == "kzone"
    # classroom owns its prefix on every zone's api host, the kzone zones included.
    for zone in (univ, kzai, portal):
        assert reg.service_for_path(zone, "/api/v1/classroom/sessions/ABCD2345/ws") == "classroom"
    assert reg.service_for_path(univ, "/api/v1/classroomX") != "classroom"
    for zone in (univ, kzai, portal):
        assert reg.service_for_path(zone, "/api/v1/arena/ws") == "arena"
    assert reg.service_for_path(portal, "/anything") == "tenant"


def test_key_builder_requires_tenant_namespace() -> None:
    keys = RedisKeys()
    org = uuid.uuid4()
    assert keys.tenant(3, org, "job", "abc", "progress") == f"z:3:o:{org}:job:abc:progress"
    assert RedisKeys("t1").zone(3, "leaderboard") == "t1:z:3:leaderboard"
    for bad_zone in (0, -1, None, "3", True):
        with pytest.raises(InvalidKeyError):
            keys.tenant(bad_zone, org, "x")  # type: ignore[arg-type]
    for bad_org in (None, "", "a:b", "a b", "*"):
        with pytest.raises(InvalidKeyError):
            keys.tenant(1, bad_org, "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidKeyError):
        keys.tenant(1, org)
    with pytest.raises(InvalidKeyError):
        keys.tenant(1, org, "job", "x:y")
    with pytest.raises(InvalidKeyError):
        keys.zone(1)


def test_settings_fail_fast_and_refuse_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    Exam = settings_class("exam")
    s = Exam()
    assert (s.http_port, s.grpc_port) == (8103, 9103)
    assert s.peer_target("tenant") == "127.0.0.1:9102"
    monkeypatch.setenv("EXAM_GRPC_PEER_TEMPLATE", "{service}:{port}")
    assert Exam().peer_target("cat") == "cat:9104"
    monkeypatch.setenv("EXAM_ENVIRONMENT", "production")
    monkeypatch.setenv("EXAM_DATABASE_URL", "postgresql://mc_exam_app:s3cr3t-long-password@db/megacity")
    with pytest.raises(ValidationError, match="placeholder"):
        Exam()
    monkeypatch.setenv("EXAM_SECRET_KEY", "changeme")
    with pytest.raises(ValidationError, match="placeholder"):
        Exam()
    monkeypatch.setenv("EXAM_SECRET_KEY", "a-real-secret-of-enough-length")
    assert Exam().environment == "production"
    monkeypatch.setenv("EXAM_HTTP_PORT", "not-a-port")
    with pytest.raises(ValidationError):
        Exam()
    with pytest.raises(ValueError, match="unknown service"):
        settings_class("nope")()


def test_error_maps_between_http_and_grpc() -> None:
    err = AppError(404, "org.not_found", "no such org")
    assert err.grpc_status == grpc.StatusCode.NOT_FOUND
    assert err.problem("/x") == {"type": "about:blank", "title": "Not Found", "status": 404, "code": "org.not_found",
                                 "detail": "no such org", "instance": "/x"}
    assert AppError(503, "dependency.db_unavailable").grpc_status == grpc.StatusCode.UNAVAILABLE
