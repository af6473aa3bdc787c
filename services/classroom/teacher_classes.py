"""Whether the caller may act on a class: org admins on any class of their org, a teacher on the
classes tenant says it is assigned to (`megacity.tenant_lookups`, asked on every request; tenant
down is 503 `dependency.tenant_unavailable`). Call with no transaction open."""
from __future__ import annotations

import uuid

from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.roles import ADMIN_ROLES
from megacity.runtime import Resources
from megacity.tenant_lookups import teacher_class_ids

__all__ = ["ensure_teaches", "not_your_class", "teacher_class_ids"]


def not_your_class(class_id: uuid.UUID) -> AppError:
    """Another org's class and a class that is not the teacher's look the same."""
    return AppError(404, "classroom.not_your_class", f"class {class_id} does not exist in your org or is not yours")


async def ensure_teaches(res: Resources, principal: Principal, org_id: uuid.UUID, class_id: uuid.UUID) -> None:
    """Admins of the org may act on any of its classes; a teacher only on one it is assigned to."""
    if principal.role in ADMIN_ROLES:
        return
    if class_id not in await teacher_class_ids(res, principal.zone_id, org_id, principal.user_id):
        raise not_your_class(class_id)
