"""Who may act on which org, as exam's modules import it: the shared rule in
`megacity.auth.org_scope` (org-bound callers act on their token's org; zone-level callers name
one with `?org_id=`; another org's rows do not exist for the request, so their ids answer 404).
"""
from __future__ import annotations

from megacity.auth.org_scope import DENIED, ORG_ID, ORG_REQUIRED, ORG_SCOPE, STAFF_ROLES, ZONE_ROLES, acting_org, is_staff, org_context

__all__ = ["DENIED", "ORG_ID", "ORG_REQUIRED", "ORG_SCOPE", "STAFF_ROLES", "ZONE_ROLES", "acting_org", "is_staff",
           "org_context"]

