"""Item bank versions, shared by the features that change a bank's items (items, item import) or
the bank itself (item banks): the bank row locked against concurrent bumps, and the bump — a
new version in the caller's transaction plus `exam.item_bank.changed` in the outbox, so that
CAT replicas drop their cached copy of the old version. Lock order is always bank, then items.
"""
from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.events.outbox import add_event

EVENT_BANK_CHANGED = "exam.item_bank.changed"
BANK_COLUMNS = "id, name, description, scaling_constant, version, item_count, created_at, updated_at"


@dataclass(frozen=True)
class BankRow:
    """One row of `exam.item_banks`."""

    id: uuid.UUID
    name: str
    description: str
    scaling_constant: float
    version: int
    item_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


def bank_not_found(bank_id: uuid.UUID, status: int = 404) -> AppError:
    return AppError(status, "item_bank.not_found", f"item bank {bank_id} does not exist in your org")


async def lock_bank(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, *,
                    status: int = 404) -> BankRow:
    """The bank row, locked against concurrent version bumps (FOR UPDATE); `status` is the error
    status when it does not exist (404 in a path, 422 when named in a body)."""
    row = (await s.execute(text(f"SELECT {BANK_COLUMNS} FROM exam.item_banks WHERE zone_id = :z AND org_id = :o"
                                " AND id = :b FOR UPDATE"), {"z": zone_id, "o": org_id, "b": bank_id})).first()
    if row is None:
        raise bank_not_found(bank_id, status)
    return BankRow(**row._mapping)


async def bump_version(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, change: str,
                       item_ids: Sequence[uuid.UUID] = (), *, actor: Principal | None = None) -> int:
    """Bump the bank's version (recounting active items) and queue exam.item_bank.changed, in
    the caller's transaction; with an `actor`, also the platform audit record
    (`exam.item_bank.<change>`, e.g. exam.item_bank.item_created). Returns the new version."""
    version: int = (await s.execute(text(
        "UPDATE exam.item_banks SET version = version + 1, updated_at = now(),"
        " item_count = (SELECT count(*) FROM exam.items i WHERE i.zone_id = :z AND i.org_id = :o AND i.bank_id = :b"
        "  AND i.status = 'active')"
        " WHERE zone_id = :z AND org_id = :o AND id = :b RETURNING version"),
        {"z": zone_id, "o": org_id, "b": bank_id})).scalar_one()
    await add_event(s, "exam", EVENT_BANK_CHANGED, {
        "item_bank_id": str(bank_id), "item_bank_version": version, "change": change,
        "item_ids": [str(i) for i in item_ids[:100]], "items_changed": len(item_ids)}, zone_id=zone_id, org_id=org_id)
    if actor is not None:
        await record_audit(s, schema="exam", actor=actor, zone_id=zone_id, org_id=org_id, target_type="item_bank",
                           target_id=bank_id, action=f"exam.item_bank.{change.replace('.', '_')}",
                           before={"version": version - 1},
                           after={"version": version, "item_ids": [str(i) for i in item_ids[:20]],
                                  "items_changed": len(item_ids)})
    return version
