"""The seven roles (seed 001 §3.2.2) and the groups the platform reasons about, defined once.

Permissions per role live in `megacity.auth.permissions`; row visibility per role in the RLS
policies (`megacity.db.rls`). Everything else imports these names instead of spelling roles.
"""
from __future__ import annotations

ROLES = ("super_admin", "zone_admin", "org_admin", "teacher", "student", "parent", "guest")
# Held in auth.users.platform_role; such a token is zone-level (no org) and names the org it acts on.
PLATFORM_ROLES = ("zone_admin", "super_admin")
ZONE_ROLES = PLATFORM_ROLES
ADMIN_ROLES = ("org_admin", *ZONE_ROLES)
STAFF_ROLES = ("teacher", *ADMIN_ROLES)
# Roles that must pass a second factor (TOTP) before they get a token.
MFA_REQUIRED_ROLES = frozenset({"super_admin", "zone_admin", "org_admin"})
