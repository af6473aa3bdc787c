"""The seven roles and their permissions (seed 001 §3.2.2). One map, evaluated in one place.

A permission is `resource:action`; `resource:*` grants every action on the resource and `*`
grants everything.
"""
from __future__ import annotations

from collections.abc import Iterable

from megacity.roles import MFA_REQUIRED_ROLES, ROLES

__all__ = ["MFA_REQUIRED_ROLES", "ROLES", "ROLE_PERMISSIONS", "allows", "permissions_for"]

# K-Zone's own actions (services/kzone/permissions.py says which endpoint needs which).
_KZONE_CONTENT_ALL = ("kzone:content_read", "kzone:content_create", "kzone:content_update", "kzone:content_delete")

ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "super_admin": ("*",),
    "zone_admin": ("zone:*", "org:read", "org:create", "user:*", "exam:*", "report:*", *_KZONE_CONTENT_ALL),
    "org_admin": ("org:read", "org:update", "user:read", "user:create", "user:update", "exam:*", "class:*",
                  "report:read", *_KZONE_CONTENT_ALL),
    "teacher": ("exam:create", "exam:read", "exam:update", "item:create", "item:read", "item:update",
                "student:read", "attempt:read", "report:read",
                "kzone:content_read", "kzone:content_create", "kzone:content_update", "kzone:job_read"),
    "student": ("exam:read", "attempt:create", "attempt:read", "profile:read", "profile:update",
                "kzone:content_read", "kzone:job_create", "kzone:job_read"),
    "parent": ("student:read", "attempt:read", "report:read", "kzone:job_read"),
    "guest": ("exam:read", "kzone:content_read"),
}
assert tuple(ROLE_PERMISSIONS) == ROLES, "every role, and only those, has permissions"


def permissions_for(role: str) -> tuple[str, ...]:
    try:
        return ROLE_PERMISSIONS[role]
    except KeyError:
        raise ValueError(f"unknown role {role!r}") from None


def allows(granted: Iterable[str], needed: str) -> bool:
    """Whether a set of granted permissions covers `needed` (exact, `resource:*` or `*`)."""
    resource, _, action = needed.partition(":")
    if not resource or not action:
        raise ValueError(f"permission must be resource:action, got {needed!r}")
    granted = set(granted)
    return "*" in granted or needed in granted or f"{resource}:*" in granted
