"""Who may do what in K-Zone: its own `kzone:*` permissions in the platform's role map
(megacity.auth.permissions, seed 001 §3.2.2), and the row rules on top of them.

| K-Zone action | permission | roles that hold it |
|---|---|---|
| read the catalogue (list, search, get), media | `kzone:content_read` | super_admin, zone_admin, org_admin, teacher, student, guest |
| create catalogue entries, upload content media | `kzone:content_create` | super_admin, zone_admin, org_admin, teacher |
| edit catalogue entries | `kzone:content_update` | super_admin, zone_admin, org_admin, teacher |
| delete catalogue entries | `kzone:content_delete` | super_admin, zone_admin, org_admin |
| submit an AI job (voice, pose, tutor feedback): a learner's attempt | `kzone:job_create` | super_admin, student |
| read an AI job's detail and result, cancel it | `kzone:job_read` | super_admin, teacher, student, parent |

(tests/test_permissions.py holds the role map to this table.) On top of the permission, an AI
job (and its progress, via the shared router) and an AI job's input media are visible to their
owner and to staff of the same org (teacher, org_admin, zone_admin, super_admin); everyone else
gets 404, exactly as for an id that does not exist. Row-level security keeps other orgs out.
Creating anything (content, uploads, AI jobs) needs a token scoped to an org (`org_of`).
The signed object URL (`GET /api/v1/kzone/objects/...`) needs no token: its signature is the
credential, valid for 7 days.
"""
from __future__ import annotations

import uuid

from megacity import roles
from megacity.auth.tokens import Principal
from megacity.errors import AppError

CONTENT_READ = "kzone:content_read"
CONTENT_CREATE = "kzone:content_create"
CONTENT_UPDATE = "kzone:content_update"
CONTENT_DELETE = "kzone:content_delete"
MEDIA_UPLOAD = CONTENT_CREATE
AI_JOB_CREATE = "kzone:job_create"
AI_JOB_READ = "kzone:job_read"

# Roles that see every job of their org (others see only their own).
STAFF_ROLES = frozenset(roles.STAFF_ROLES)


def org_of(principal: Principal) -> uuid.UUID:
    """The caller's org; K-Zone data always belongs to one (zone-level callers must act in an org)."""
    if principal.org_id is None:
        raise AppError(403, "kzone.org_required", "this action needs a token scoped to an org")
    return principal.org_id


def sees_owned(principal: Principal, owner_id: uuid.UUID) -> bool:
    """Whether the caller may see a row owned by `owner_id` in its org: the owner, or staff."""
    return owner_id == principal.user_id or principal.role in STAFF_ROLES
