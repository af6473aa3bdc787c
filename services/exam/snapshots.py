"""Frozen item-bank versions: the IRT parameters (and enemy sets) of every active item of a bank
at one version, written once, when the first attempt uses that version. CAT's LoadBank and the
fixed-form scorer read them, so an attempt is scored with exactly the parameters it was given
under, whatever happens to the items later. Item text stays in `items`.

Snapshots never change, so each process keeps the last few parsed ones in memory.
"""
from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from mcproto.cat.v1 import cat_pb2 as pb
from megacity.irt import ItemParams

_MODELS = {"logistic": pb.ITEM_MODEL_LOGISTIC, "grm": pb.ITEM_MODEL_GRM, "gpcm": pb.ITEM_MODEL_GPCM}
_CACHE: OrderedDict[tuple, Snapshot] = OrderedDict()
_CACHE_SIZE = 32


@dataclass
class Snapshot:
    bank_id: uuid.UUID
    version: int
    scaling_constant: float
    items: list[dict[str, Any]]
    enemy_sets: list[list[str]]
    _params: dict[str, ItemParams] | None = field(default=None, repr=False)

    @property
    def params(self) -> dict[str, ItemParams]:
        if self._params is None:
            self._params = {it["id"]: ItemParams.from_json(it) for it in self.items}
        return self._params

    def load_request(self, tenant: pb.Tenant) -> pb.LoadBankRequest:
        items = []
        for it in self.items:
            msg = pb.Item(item_id=it["id"], model=_MODELS[it["model"]], a=it["a"], content_area=it.get("area") or "",
                          thresholds=it.get("thresholds") or [])
            if it["model"] == "logistic":
                msg.b, msg.c, msg.d = it["b"], it.get("c") or 0.0, it.get("d", 1.0)
            items.append(msg)
        return pb.LoadBankRequest(tenant=tenant, item_bank_id=str(self.bank_id), item_bank_version=self.version,
                                  items=items, enemy_sets=[pb.EnemySet(item_ids=s) for s in self.enemy_sets],
                                  scaling_constant=self.scaling_constant)


def _remember(key: tuple, snap: Snapshot) -> Snapshot:
    _CACHE[key] = snap
    _CACHE.move_to_end(key)
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return snap


def _key(zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, version: int) -> tuple:
    return (zone_id, str(org_id), str(bank_id), int(version))


async def _build(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID) -> tuple[int, Snapshot | None]:
    """Under a share lock on the bank row (no version bump can interleave): the current version,
    and its snapshot written now if it did not exist."""
    bank = (await s.execute(text(
        "SELECT version, scaling_constant FROM exam.item_banks WHERE zone_id = :z AND org_id = :o AND id = :b FOR SHARE"),
        {"z": zone_id, "o": org_id, "b": bank_id})).one()
    if (await s.execute(text(
            "SELECT 1 FROM exam.item_bank_snapshots WHERE zone_id = :z AND org_id = :o AND bank_id = :b AND version = :v"),
            {"z": zone_id, "o": org_id, "b": bank_id, "v": bank.version})).first() is not None:
        return bank.version, None
    rows = (await s.execute(text(
        "SELECT id, model, a, b, c, d, thresholds, content_area, max_score, enemy_tags FROM exam.items"
        " WHERE zone_id = :z AND org_id = :o AND bank_id = :b AND status = 'active' ORDER BY id"),
        {"z": zone_id, "o": org_id, "b": bank_id})).all()
    items: list[dict[str, Any]] = []
    tags: dict[str, list[str]] = {}
    for r in rows:
        doc: dict[str, Any] = {"id": str(r.id), "model": r.model, "a": r.a, "area": r.content_area,
                               "max_score": r.max_score}
        if r.model == "logistic":
            doc.update(b=r.b, c=r.c, d=r.d)
        else:
            doc["thresholds"] = list(r.thresholds or [])
        items.append(doc)
        for tag in r.enemy_tags or ():
            tags.setdefault(tag, []).append(str(r.id))
    enemies = [ids for _, ids in sorted(tags.items()) if len(ids) > 1]
    await s.execute(text(
        "INSERT INTO exam.item_bank_snapshots (zone_id, org_id, bank_id, version, scaling_constant, item_count, items,"
        " enemy_sets) VALUES (:z, :o, :b, :v, :d, :n, CAST(:items AS jsonb), CAST(:enemies AS jsonb))"
        " ON CONFLICT DO NOTHING"),
        {"z": zone_id, "o": org_id, "b": bank_id, "v": bank.version, "d": bank.scaling_constant, "n": len(items),
         "items": json.dumps(items), "enemies": json.dumps(enemies)})
    snap = Snapshot(bank_id, bank.version, bank.scaling_constant, items, enemies)
    return bank.version, _remember(_key(zone_id, org_id, bank_id, bank.version), snap)


async def current_version(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID) -> int:
    """The bank's current version, with its snapshot guaranteed to exist (built if needed)."""
    version = (await s.execute(text("SELECT version FROM exam.item_banks WHERE zone_id = :z AND org_id = :o AND id = :b"),
                               {"z": zone_id, "o": org_id, "b": bank_id})).scalar_one()
    if _key(zone_id, org_id, bank_id, version) in _CACHE:
        return version
    if (await s.execute(text(
            "SELECT 1 FROM exam.item_bank_snapshots WHERE zone_id = :z AND org_id = :o AND bank_id = :b AND version = :v"),
            {"z": zone_id, "o": org_id, "b": bank_id, "v": version})).first() is not None:
        return version
    version, _ = await _build(s, zone_id, org_id, bank_id)
    return version


async def load(s: AsyncSession, zone_id: int, org_id: uuid.UUID, bank_id: uuid.UUID, version: int) -> Snapshot:
    key = _key(zone_id, org_id, bank_id, version)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    row = (await s.execute(text(
        "SELECT scaling_constant, items, enemy_sets FROM exam.item_bank_snapshots"
        " WHERE zone_id = :z AND org_id = :o AND bank_id = :b AND version = :v"),
        {"z": zone_id, "o": org_id, "b": bank_id, "v": version})).one()
    items = row.items if isinstance(row.items, list) else json.loads(row.items)
    enemies = row.enemy_sets if isinstance(row.enemy_sets, list) else json.loads(row.enemy_sets)
    return _remember(key, Snapshot(bank_id, version, row.scaling_constant, items, enemies))
