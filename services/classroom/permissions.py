"""Who may do what in classroom: its own `classroom:*` permissions in the platform's role map
(megacity.roles).

| action | permission | roles |
|---|---|---|
| run sessions (start, end, lock, kick, mute, hide, report) | `classroom:session_run` | teacher (own classes), org_admin, super_admin |
| read the problem bank | `classroom:problem_read` | teacher, org_admin, super_admin |
| write problems, import CSV/xlsx | `classroom:problem_write` | teacher (shared or its classes), org_admin, super_admin |
| the org's moderation word lists | `classroom:moderation` | org_admin, super_admin |

Participants are anonymous: a participant token (services/classroom/participant_tokens.py)
scoped to one session, never an access token.
"""
from __future__ import annotations

import uuid

from megacity.auth.tokens import Principal
from megacity.errors import AppError

SESSION_RUN = "classroom:session_run"
PROBLEM_READ = "classroom:problem_read"
PROBLEM_WRITE = "classroom:problem_write"
MODERATION = "classroom:moderation"


def org_of(principal: Principal) -> uuid.UUID:
    """The caller's org: classroom data always belongs to one."""
    if principal.org_id is None:
        raise AppError(403, "classroom.org_required", "this action needs a token scoped to an org")
    return principal.org_id
