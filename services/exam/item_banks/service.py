"""Item banks: named pools of items with a version. Every change to a bank's items (create,
update, retire, import) or to its scaling constant bumps the version in the same transaction
and queues `exam.item_bank.changed` {item_bank_id, item_bank_version, change, item_ids} in the
outbox (`bank_versions`), so CAT replicas drop their cached copy of the old version.
"""
from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from megacity.audit import record_audit
from megacity.auth.org_scope import acting_org, org_context
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from services.exam.bank_versions import BankRow, bank_not_found, bump_version, lock_bank
from services.exam.item_banks import queries
from services.exam.item_banks.schemas import BankIn, BankPatch


def _audit_summary(fields: dict[str, object]) -> dict[str, object]:
    """What the audit keeps of a bank change: free text (the description) only as "it changed"."""
    out = {k: v for k, v in fields.items() if k != "description"}
    if "description" in fields:
        out["description_changed"] = True
    return out


async def create_bank(res: Resources, principal: Principal, body: BankIn, org_id: uuid.UUID | None = None) -> BankRow:
    org = acting_org(principal, org_id)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            bank = await queries.insert_bank(s, principal.zone_id, org, name=body.name, description=body.description,
                                             scaling_constant=body.scaling_constant, created_by=principal.user_id)
            await record_audit(s, schema="exam", actor=principal, zone_id=principal.zone_id, org_id=org,
                               target_type="item_bank", target_id=bank.id, action="exam.item_bank.created",
                               after={"name": bank.name, "scaling_constant": bank.scaling_constant})
            return bank
    except IntegrityError:
        raise AppError(409, "item_bank.exists", f"an item bank named {body.name!r} exists in your org") from None


async def list_banks(res: Resources, principal: Principal, org_id: uuid.UUID | None = None) -> list[BankRow]:
    """The org's banks by name (at most 1000)."""
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        return await queries.list_banks(s, principal.zone_id, org)


async def get_bank(res: Resources, principal: Principal, bank_id: uuid.UUID, org_id: uuid.UUID | None = None) -> BankRow:
    org = acting_org(principal, org_id)
    async with tenant_transaction(res.db(), org_context(principal, org)) as s:
        row = await queries.get_bank(s, principal.zone_id, org, bank_id)
    if row is None:
        raise bank_not_found(bank_id)
    return row


async def update_bank(res: Resources, principal: Principal, bank_id: uuid.UUID, body: BankPatch,
                      org_id: uuid.UUID | None = None) -> BankRow:
    """Rename a bank or change its scaling constant. A new D changes every item's model, so it
    bumps the bank version (`bank.scaling_constant`); the same D again, a name or a description
    does not."""
    org = acting_org(principal, org_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    try:
        async with tenant_transaction(res.db(), org_context(principal, org)) as s:
            current = await lock_bank(s, principal.zone_id, org, bank_id)
            if changes:
                await queries.update_bank(s, principal.zone_id, org, bank_id, name=changes.get("name"),
                                          description=changes.get("description"),
                                          scaling_constant=changes.get("scaling_constant"))
                if "scaling_constant" in changes and changes["scaling_constant"] != current.scaling_constant:
                    await bump_version(s, principal.zone_id, org, bank_id, "bank.scaling_constant")
                await record_audit(s, schema="exam", actor=principal, zone_id=principal.zone_id, org_id=org,
                                   target_type="item_bank", target_id=bank_id, action="exam.item_bank.updated",
                                   before=_audit_summary({k: getattr(current, k) for k in changes}),
                                   after=_audit_summary(changes))
            row = await queries.get_bank(s, principal.zone_id, org, bank_id)
    except IntegrityError:
        raise AppError(409, "item_bank.exists", "an item bank with that name exists in your org") from None
    assert row is not None  # locked above
    return row
