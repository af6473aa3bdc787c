"""Classes of an org (grade + name, unique per org). Org admins manage them (`class:*`); the org
is the caller's own, zone-level callers name it with `?org_id=`."""
