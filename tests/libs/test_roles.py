"""The permission map (`megacity.roles.ROLE_PERMISSIONS`) grants what the product promises
(issue #13): each grant is checked, and so is a role that must not hold it."""
from __future__ import annotations

import pytest

from megacity.auth.permissions import allows
from megacity.roles import ROLE_PERMISSIONS, ROLES

# (role, permission): granted; the student column says a student must not hold it.
GRANTS = [
    ("org_admin", "org:audit"),  # org admins read their org's platform audit
    ("org_admin", "item:create"),  # org admins manage item banks and items in their org
    ("org_admin", "item:read"),
    ("org_admin", "item:update"),
    ("teacher", "class:read"),  # teachers read their classes
    ("zone_admin", "org:update"),  # zone admins update (rename) orgs
    ("zone_admin", "zone:update"),  # ... and their plan and status
    ("teacher", "classroom:session_run"),  # teachers run live sessions for their classes (issue #14)
    ("teacher", "classroom:problem_write"),
    ("org_admin", "classroom:session_run"),
    ("org_admin", "classroom:moderation"),  # the org's word lists
]


@pytest.mark.parametrize(("role", "permission"), GRANTS)
def test_role_holds_grant_and_student_does_not(role: str, permission: str) -> None:
    assert allows(ROLE_PERMISSIONS[role], permission)
    assert not allows(ROLE_PERMISSIONS["student"], permission)
    assert not allows(ROLE_PERMISSIONS["guest"], permission)


def test_map_covers_every_role_and_keeps_the_lines() -> None:
    assert tuple(ROLE_PERMISSIONS) == ROLES
    assert allows(ROLE_PERMISSIONS["super_admin"], "anything:goes")
    assert not allows(ROLE_PERMISSIONS["teacher"], "class:create")  # reading is not managing
    assert not allows(ROLE_PERMISSIONS["zone_admin"], "class:create")  # classes are the org's
    assert not allows(ROLE_PERMISSIONS["org_admin"], "zone:update")  # plan and status are zone decisions
    assert not allows(ROLE_PERMISSIONS["parent"], "class:read")
    assert not allows(ROLE_PERMISSIONS["student"], "report:read")
    assert not allows(ROLE_PERMISSIONS["teacher"], "classroom:moderation")  # word lists are the org admin's
    assert not allows(ROLE_PERMISSIONS["zone_admin"], "classroom:session_run")  # classes are the org's
