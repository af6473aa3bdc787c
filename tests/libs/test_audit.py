"""megacity.audit's input rules (what reaches the outbox is tested per service, in each
service's tests/test_audit.py): a malformed action, a secret- or PII-looking key anywhere in a
summary are refused before any write; a summary over its size budget is clipped, never refused."""
from __future__ import annotations

import uuid
from typing import Any

import pytest

from megacity.audit import MAX_SUMMARY_BYTES, MAX_SUMMARY_STRING, AuditActor, _check_summary, record_audit, summary_bytes
from megacity.db import TenantContext
from megacity.events.streams import AUDIT_FILTER, audit_event_type

ACTOR = AuditActor(user_id=uuid.uuid4(), role="org_admin")


async def _record(**kw: Any) -> None:
    args = {"schema": "tenant", "actor": ACTOR, "zone_id": 1, "org_id": uuid.uuid4(), "target_type": "membership",
            "target_id": uuid.uuid4(), "action": "tenant.member.role_changed", **kw}
    await record_audit(None, **args)  # type: ignore[arg-type]  # refused before the session is used


@pytest.mark.parametrize("action", ["member.changed", "Tenant.member.x", "tenant..x", "tenant.member.x.>", "tenant"])
async def test_malformed_actions_are_refused(action: str) -> None:
    with pytest.raises(ValueError, match="bad audit action"):
        await _record(action=action)


@pytest.mark.parametrize("summary", [{"password": "x"}, {"user": {"email": "a@b.c"}}, {"rows": [{"parent_phone": "1"}]},
                                     {"api_token": "t"}, {"Secret": 1}])
async def test_secret_or_pii_keys_are_refused(summary: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="must not hold"):
        await _record(after=summary)
    with pytest.raises(ValueError, match="must not hold"):
        await _record(before=summary)


def test_long_korean_text_is_clipped_not_refused() -> None:
    """Size never fails the audited change: 700 Korean characters (6 bytes each as a JSON escape,
    3 as stored) are clipped to MAX_SUMMARY_STRING, and the summary is marked truncated."""
    description = "한국어 설명입니다 " * 70  # 700 characters
    out = _check_summary("after", {"name": "문항 은행", "description": description, "tags": ["태그"] * 20})
    assert out is not None and out["truncated"] is True
    assert out["name"] == "문항 은행" and out["tags"] == ["태그"] * 20
    assert len(out["description"]) == MAX_SUMMARY_STRING and out["description"].endswith("…")
    assert summary_bytes(out) <= MAX_SUMMARY_BYTES
    small = {"name": "문항 은행", "tags": ["태그"] * 20}
    assert _check_summary("after", small) == small  # a summary within budget is kept as it is


def test_a_copied_row_is_trimmed_to_the_budget() -> None:
    for row in ({"items": ["x" * 100] * 100}, {f"k{i}": "값" * 199 for i in range(100)},
                {"rows": [{"a": "가" * 150, "b": list(range(50))} for _ in range(100)]}):
        out = _check_summary("after", row)
        assert out is not None and out["truncated"] is True and summary_bytes(out) <= MAX_SUMMARY_BYTES


def test_subjects_and_actors() -> None:
    assert audit_event_type("tenant.member.role_changed") == "audit.tenant.member.role_changed"
    assert AUDIT_FILTER == "audit.>"
    job = AuditActor.from_context(TenantContext(zone_id=1, role="org_admin", user_id=ACTOR.user_id))
    assert (job.user_id, job.role, job.kind) == (ACTOR.user_id, "org_admin", "user")
    system = AuditActor.from_context(TenantContext(zone_id=1, role="zone_admin"))
    assert (system.user_id, system.kind) == (None, "system")
