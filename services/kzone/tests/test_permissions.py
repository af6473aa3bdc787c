"""K-Zone's permission table (the docstring of services/kzone/permissions.py) is what the role map
grants: each `kzone:*` permission is held by exactly the roles the table names, and K-Zone's
routes ask only for `kzone:*` permissions."""
from __future__ import annotations

import re

from megacity.auth.permissions import ROLE_PERMISSIONS, allows
from services.kzone import permissions as perm
from services.kzone.main import build

_ROW = re.compile(r"^\| [^|]+ \| `(?P<permission>kzone:[a-z_]+)` \| (?P<roles>[a-z_, ]+) \|$")


def _table() -> dict[str, set[str]]:
    rows = [_ROW.match(line) for line in (perm.__doc__ or "").splitlines()]
    return {m["permission"]: {r.strip() for r in m["roles"].split(",")} for m in rows if m}


def test_the_documented_table_is_the_role_map() -> None:
    table = _table()
    assert set(table) == {perm.CONTENT_READ, perm.CONTENT_CREATE, perm.CONTENT_UPDATE, perm.CONTENT_DELETE,
                          perm.AI_JOB_CREATE, perm.AI_JOB_READ, perm.MEDIA_UPLOAD}
    for permission, roles in table.items():
        holders = {role for role, granted in ROLE_PERMISSIONS.items() if allows(granted, permission)}
        assert holders == roles, permission


def test_kzone_borrows_no_other_resource() -> None:
    names = [v for k, v in vars(perm).items() if k.isupper() and isinstance(v, str)]
    assert names and all(n.startswith("kzone:") for n in names)
    described = " ".join(op.get("description", "") for path in build().app.openapi()["paths"].values()
                         for op in path.values())
    assert "`exam:" not in described and "`attempt:" not in described
