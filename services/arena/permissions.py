"""Who may do what in arena: its own `arena:*` permissions in the platform's role map
(megacity.roles).

| action | permission | roles |
|---|---|---|
| play: queue, matches, own profile, notebook, appeals | `arena:play` | student, teacher, org_admin |
| read the org's and the zone's shared questions | `arena:question_read` | teacher, org_admin |
| write questions and categories, import CSV/xlsx | `arena:question_write` | teacher, org_admin (org rows); zone/super admin (shared) |
| fair-play review, cheater marks, appeal decisions | `arena:moderate` | org_admin, zone_admin, super_admin |

zone_admin and super_admin hold `*`.
"""
from __future__ import annotations

PLAY = "arena:play"
QUESTION_READ = "arena:question_read"
QUESTION_WRITE = "arena:question_write"
MODERATE = "arena:moderate"
