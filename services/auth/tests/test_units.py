"""Small pure pieces: the password policy, cursors, role choice, OpenAPI."""
from __future__ import annotations

import pytest

from megacity.errors import AppError
from megacity.pagination import Keyset
from services.auth.audit.service import AUDIT_KEYSET
from services.auth.memberships import Membership, choose
from services.auth.passwords import policy_violations


def test_password_policy() -> None:
    assert policy_violations("Correct-Horse-9") == []
    assert "at least 8 characters" in policy_violations("Aa1!")
    assert policy_violations("Correct-Horse-9@x.io", "correct-horse-9@x.io") == ["must not be the email address"]
    assert len(policy_violations("x" * 300)) >= 2


def test_audit_cursor_round_trip_and_garbage() -> None:
    assert AUDIT_KEYSET.decode(AUDIT_KEYSET.encode([42], "secret-" * 3), "secret-" * 3) == (42,)
    forged = Keyset("auth.audit_logs", id=int).encode([42], "another-secret-entirely")
    for bad in ("%%%", "eyJiZWZvcmUiOi0xfQ", "bnVsbA", forged):
        with pytest.raises(AppError) as err:
            AUDIT_KEYSET.decode(bad, "secret-" * 3)
        assert err.value.code == "request.invalid_cursor"


def test_role_choice() -> None:
    import uuid

    a = uuid.uuid4()
    assert choose("zone_admin", [Membership(a, "teacher")], None).role == "zone_admin"
    assert choose(None, [], None).role == "guest"
    assert choose(None, [Membership(a, "student"), Membership(a, "org_admin")], None).role == "org_admin"


def test_every_endpoint_is_documented_with_examples_and_problems() -> None:
    from services.auth.main import build
    from services.auth.settings import Settings

    spec = build(Settings(environment="test")).app.openapi()
    ours = {p: ops for p, ops in spec["paths"].items() if p.startswith(("/api/v1/auth", "/api/v1/users",
                                                                         "/api/v1/admin", "/.well-known"))}
    # ... /api/v1/auth/activate (roster accounts) and account recovery (reset, verification,
    # recovery codes, my sessions: 7 paths) included
    assert len(ours) == 19
    for path, ops in ours.items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            errors = {s: r for s, r in op["responses"].items() if s.startswith(("4", "5"))}
            assert errors, (method, path)
            for status, resp in errors.items():
                content = resp["content"]["application/problem+json"]
                assert "example" in content or "examples" in content, (method, path, status)
    schemas = spec["components"]["schemas"]
    for name in ("RegisterIn", "LoginIn", "TokenResponse", "MfaChallengeResponse", "MeOut", "AuditPage",
                 "ResetRequestIn", "ResetRequestedOut", "ResetConfirmIn", "VerificationOut", "VerifyEmailIn",
                 "RecoveryCodesIn", "RecoveryCodesOut", "RecoveryCodesStatusOut", "DevicesOut"):
        assert schemas[name].get("examples"), name
