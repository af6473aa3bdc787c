"""The exam side of an adaptive attempt's CAT session (CatService over gRPC).

The session id is the attempt id; its bank version, settings and seed are stored with the
attempt, so the session can always be rebuilt: PostgreSQL holds every response, CAT's Redis
state is a cache of it. Recovery rules, applied on every call:
- `cat.bank_not_loaded` (a fresh CAT replica, or its cache was invalidated): LoadBank from the
  attempt's frozen bank snapshot, then retry once;
- `cat.session_not_found` (Redis flushed or expired) or `cat.item_not_administered` (CAT's
  state is behind ours): StartSession with every stored response as `prior_responses`, submit
  what CAT still lacks, then ask for the next item — the same item as before, given the seed.
Call it with no database transaction open: a call waits on the network, and LoadBank reads the
snapshot in a short transaction of its own.
"""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from mcproto.cat.v1 import cat_pb2 as pb
from mcproto.cat.v1 import cat_pb2_grpc
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.grpc.client import call
from megacity.runtime import Resources
from services.exam import snapshots
from services.exam.cat_settings import CatSettingsIn

T = TypeVar("T")
Answered = Sequence[tuple[str, int]]
_REBUILD = ("cat.session_not_found", "cat.item_not_administered")


class CatAttempt(Protocol):
    """What a CAT session is rebuilt from: the attempt's id, frozen bank version, settings, seed."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def bank_id(self) -> uuid.UUID: ...

    @property
    def bank_version(self) -> int: ...

    @property
    def seed(self) -> int: ...

    @property
    def cat_settings(self) -> Any: ...


@lru_cache(maxsize=256)
def _settings_proto(settings_json: str) -> pb.CatSettings:
    """An exam's CAT settings as the proto, parsed once per distinct settings (never mutate it)."""
    return CatSettingsIn.model_validate_json(settings_json).to_proto()


def cat_unavailable(err: AppError) -> bool:
    """CAT (or the way to it) failed, as opposed to refusing the request."""
    return err.status >= 500


class CatSession:
    def __init__(self, res: Resources, zone_id: int, org_id: uuid.UUID, attempt: CatAttempt) -> None:
        self.res = res
        self.zone_id = zone_id
        self.org_id = org_id
        self.attempt_id = str(attempt.id)
        self.bank_id = attempt.bank_id
        self.bank_version = int(attempt.bank_version)
        self.seed = int(attempt.seed)
        self.settings = _settings_proto(json.dumps(attempt.cat_settings or {}, sort_keys=True)
                                        if not isinstance(attempt.cat_settings, str) else attempt.cat_settings)
        self.tenant = pb.Tenant(zone_id=zone_id, org_id=str(org_id))
        self.stub = cat_pb2_grpc.CatServiceStub(res.channel("cat"))

    async def _rpc(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        """One call; a lost compare-and-set race in CAT (`cat.concurrent_update`, e.g. a double
        click) is retried, the calls being idempotent."""
        for tries in range(3):
            try:
                return await call(method, request, peer="cat", timeout=self.res.settings.grpc_deadline_seconds)
            except AppError as err:
                if err.code != "cat.concurrent_update" or tries == 2:
                    raise
                await asyncio.sleep(0.01 * (tries + 1))
        raise AssertionError("unreachable")

    async def load_bank(self) -> None:
        ctx = TenantContext(zone_id=self.zone_id, org_id=self.org_id)
        async with tenant_transaction(self.res.db(), ctx) as s:
            snap = await snapshots.load(s, self.zone_id, self.org_id, self.bank_id, self.bank_version)
        await self._rpc(self.stub.LoadBank, snap.load_request(self.tenant))

    async def _with_bank(self, method: Callable[..., Awaitable[T]], request: Any) -> T:
        try:
            return await self._rpc(method, request)
        except AppError as err:
            if err.code != "cat.bank_not_loaded":
                raise
        await self.load_bank()
        return await self._rpc(method, request)

    def _responses(self, answered: Answered) -> list[pb.Response]:
        return [pb.Response(item_id=i, score=v) for i, v in answered]

    async def start(self, answered: Answered = ()) -> pb.SessionState:
        """Start the session, or (same bank, settings and seed) get the existing one unchanged."""
        return await self._with_bank(self.stub.StartSession, pb.StartSessionRequest(
            tenant=self.tenant, session_id=self.attempt_id, item_bank_id=str(self.bank_id),
            item_bank_version=self.bank_version, settings=self.settings, seed=self.seed,
            prior_responses=self._responses(answered)))

    async def next_item(self) -> pb.NextItemResponse:
        return await self._with_bank(self.stub.NextItem, pb.NextItemRequest(tenant=self.tenant,
                                                                            session_id=self.attempt_id))

    async def sync(self, answered: Answered) -> pb.NextItemResponse:
        """Bring CAT's session to every stored response (rebuilding it if lost); the next item."""
        state = await self.start(answered)
        known = {r.item_id for r in state.responses}
        missing = [(i, v) for i, v in answered if i not in known]
        if missing and not state.finished:
            await self._with_bank(self.stub.SubmitResponses, pb.SubmitResponsesRequest(
                tenant=self.tenant, session_id=self.attempt_id, responses=self._responses(missing)))
        return await self.next_item()

    async def advance(self, new: Answered, answered: Callable[[], Awaitable[Answered]]) -> pb.NextItemResponse:
        """Record new responses (θ updated once for the batch) and get the next item; `answered`
        loads every stored response, needed only when the session has to be rebuilt."""
        try:
            await self._with_bank(self.stub.SubmitResponses, pb.SubmitResponsesRequest(
                tenant=self.tenant, session_id=self.attempt_id, responses=self._responses(new)))
        except AppError as err:
            if err.code == "cat.session_finished":
                return await self.next_item()
            if err.code not in _REBUILD:
                raise
            return await self.sync(await answered())
        return await self.next_item()

    async def finish(self, answered: Answered) -> pb.SessionState:
        """End the session (idempotent) and return its final state."""
        request = pb.FinishRequest(tenant=self.tenant, session_id=self.attempt_id)
        try:
            return await self._with_bank(self.stub.Finish, request)
        except AppError as err:
            if err.code not in _REBUILD:
                raise
        await self.start(answered)
        return await self._with_bank(self.stub.Finish, request)
