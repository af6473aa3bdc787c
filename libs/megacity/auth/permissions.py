"""Evaluating the seven roles' permissions; the map itself is product data in megacity.roles.

A permission is `resource:action`; `resource:*` grants every action on the resource and `*`
grants everything.
"""
from __future__ import annotations

from collections.abc import Iterable

from megacity.roles import MFA_REQUIRED_ROLES, ROLE_PERMISSIONS, ROLES

__all__ = ["MFA_REQUIRED_ROLES", "ROLES", "ROLE_PERMISSIONS", "allows", "permissions_for"]


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
