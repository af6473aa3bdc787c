"""Which permission of the platform's role map (megacity.auth.permissions, seed 001 §3.2.2)
guards which K-Zone action. The map has no K-Zone resources, so K-Zone maps onto it:

| K-Zone action | permission | roles that hold it |
|---|---|---|
| read the catalogue (list, search, get), content media | `exam:read` | super_admin, zone_admin, org_admin, teacher, student, guest |
| create catalogue entries, upload content media | `exam:create` | super_admin, zone_admin, org_admin, teacher |
| edit catalogue entries | `exam:update` | super_admin, zone_admin, org_admin, teacher |
| delete catalogue entries | `exam:delete` | super_admin, zone_admin, org_admin |
| submit an AI job (voice analysis, pose detection, tutor feedback): a learner's attempt | `attempt:create` | super_admin, student |
| read an AI job's detail and result | `attempt:read` | super_admin, teacher, student, parent |

On top of the permission, an AI job (and its progress, via the shared router) is visible to its
owner and to staff of the same org (teacher, org_admin, zone_admin, super_admin); everyone else
gets 404, exactly as for a job id that does not exist. Row-level security keeps other orgs out.
The signed object URL (`GET /api/v1/kzone/objects/...`) needs no token: its signature is the
credential, valid for 7 days.
"""
from __future__ import annotations

from megacity import roles

CONTENT_READ = "exam:read"
CONTENT_CREATE = "exam:create"
CONTENT_UPDATE = "exam:update"
CONTENT_DELETE = "exam:delete"
MEDIA_UPLOAD = "exam:create"
AI_JOB_CREATE = "attempt:create"
AI_JOB_READ = "attempt:read"

# Roles that see every job of their org (others see only their own).
STAFF_ROLES = frozenset(roles.STAFF_ROLES)
