"""The seven roles (seed 001 §3.2.2), the groups the platform reasons about, and what each role
may do (`ROLE_PERMISSIONS`), defined once.

The permission map is product data: it says what the product lets each role do, and every
grant below is checked by tests/libs/test_roles.py (a grant and a role that must not have it).
`megacity.auth.permissions` evaluates it; row visibility per role is the RLS policies'
(`megacity.db.rls`), and per-class scoping of teachers is tenant's teacher↔class assignment.
Everything else imports these names instead of spelling roles.
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

# K-Zone's own actions (services/kzone/permissions.py says which endpoint needs which).
_KZONE_CONTENT_ALL = ("kzone:content_read", "kzone:content_create", "kzone:content_update", "kzone:content_delete")

# Live classroom sessions (services/classroom/permissions.py): teachers run sessions for their
# classes and keep problems; org admins also set the org's moderation word lists.
_CLASSROOM_TEACHER = ("classroom:session_run", "classroom:problem_read", "classroom:problem_write")

# Arena quiz battles (services/arena/permissions.py): students and staff play; teachers and org
# admins keep the org's questions; org and zone admins review fair play and appeals.
_ARENA_AUTHOR = ("arena:play", "arena:question_read", "arena:question_write")

# A permission is `resource:action`; `resource:*` grants every action on the resource, `*` all.
ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "super_admin": ("*",),
    # Zone admins run the zone: its orgs (create, read, rename: `org:update`; plan and status are
    # `zone:update`), its users, exams and reports. Classes are each org's own business.
    "zone_admin": ("zone:*", "org:read", "org:create", "org:update", "user:*", "exam:*", "item:*", "attempt:read",
                   "report:*", *_KZONE_CONTENT_ALL, "arena:*"),
    # Org admins run their org: its classes, members, exams, item banks and items, and read every
    # attempt and report in it, and its platform audit (`org:audit`; zone admins: `zone:audit`).
    "org_admin": ("org:read", "org:update", "org:audit", "user:read", "user:create", "user:update", "exam:*", "item:*",
                  "class:*", "attempt:read", "report:read", *_KZONE_CONTENT_ALL, "classroom:*", "arena:*"),
    # Teachers write exams and items and read their classes (tenant narrows every class and roster
    # read to the classes a teacher is assigned to), their students, attempts and reports.
    "teacher": ("exam:create", "exam:read", "exam:update", "item:create", "item:read", "item:update",
                "class:read", "student:read", "attempt:read", "report:read",
                "kzone:content_read", "kzone:content_create", "kzone:content_update", "kzone:job_read",
                *_CLASSROOM_TEACHER, *_ARENA_AUTHOR),
    "student": ("exam:read", "attempt:create", "attempt:read", "profile:read", "profile:update",
                "kzone:content_read", "kzone:job_create", "kzone:job_read", "arena:play"),
    "parent": ("student:read", "attempt:read", "report:read", "kzone:job_read"),
    "guest": ("exam:read", "kzone:content_read"),
}
assert tuple(ROLE_PERMISSIONS) == ROLES, "every role, and only those, has permissions"
