"""Drops cached item-bank versions when the exam service announces a change.

Every CAT replica must see every `exam.item_bank.changed` event (each holds its own cache), so
this is a plain NATS subscription per process, not a shared durable consumer; a missed event
costs nothing but memory, because sessions always name the exact bank version they use.
Event data: {"item_bank_id": str, "item_bank_version": int}; zone_id and org_id come from the
envelope. Versions older than the announced one are dropped.
"""
from __future__ import annotations

import asyncio
import json
from typing import Any

from megacity.events.streams import subject
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.cat.engine.bank import BankCache

log = get_logger("cat.bank_events")
EVENT_TYPE = "exam.item_bank.changed"


def apply_event(cache: BankCache, body: bytes) -> int:
    """Apply one event body (the platform's JSON envelope); returns how many versions were dropped."""
    doc = json.loads(body)
    data = doc.get("data") or {}
    bank_id = data.get("item_bank_id") or data.get("bank_id")
    version = data.get("item_bank_version", data.get("version"))
    if doc.get("zone_id") is None or not doc.get("org_id") or not bank_id:
        raise ValueError("item_bank.changed event without zone_id, org_id or item_bank_id")
    return cache.invalidate(int(doc["zone_id"]), str(doc["org_id"]), str(bank_id),
                            int(version) if version is not None else None)


class BankChangeListener:
    """A runtime worker: subscribe while running, unsubscribe on stop."""

    def __init__(self, res: Resources, cache: BankCache) -> None:
        self.res = res
        self.cache = cache
        self._stop = asyncio.Event()

    async def _on_message(self, msg: Any) -> None:
        try:
            dropped = apply_event(self.cache, msg.data)
            log.info("item bank cache invalidated", dropped=dropped)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignored malformed item_bank.changed event", error=str(exc))

    async def run(self) -> None:
        nc = self.res.nats
        if nc is None:
            return
        sub = await nc.subscribe(subject(self.res.settings.events_namespace, EVENT_TYPE), cb=self._on_message)
        try:
            await self._stop.wait()
        finally:
            try:
                await sub.unsubscribe()
            except Exception:  # noqa: BLE001 - the connection may already be draining
                pass

    def stop(self) -> None:
        self._stop.set()
