"""Job progress in Redis only (seed 004): what a polling client sees while a long job runs.

- One hash per job under the tenant namespace: `z:{zone}:o:{org}:job:{job_id}`.
- While running, every update slides the TTL to 6 h; a finished job keeps its last state for
  `finished_ttl` (24 h), then the DB-backed detail endpoint of the owning service is the truth.
- Only small fields live here: a value of 10 KB or more is refused (payloads go to the DB).
- A finished job may leave a small `result` object (counts, ids) for its page to show, and a
  failed one a stable `error_code` next to its English `error` text, so nobody has to parse text.
- Every update is also published on a per-job channel so SSE clients get pushes, not polls.
- Reading progress never touches PostgreSQL.

The router (`/api/v1/jobs/{job_id}/progress` and `/events`) is mounted by every public service,
so the same URL answers on every zone's api host whichever service runs the job.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from megacity.auth.dependencies import authenticate, current_principal
from megacity.auth.org_scope import ADMIN_ROLES, ORG_ID, acting_org
from megacity.auth.tokens import Principal
from megacity.errors import AppError
from megacity.http_app import problem_response
from megacity.redis_keys import RedisKeys
from megacity.runtime import Resources, resources

RUNNING_TTL_SECONDS = 6 * 3600
FINISHED_TTL_SECONDS = 24 * 3600
MAX_VALUE_BYTES = 10 * 1024
STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED = ("succeeded", "failed", "cancelled")
# An open progress stream re-checks its token (revocation, expiry, zone) at least this often and
# on every event: logging out or revoking a session ends the stream within seconds.
REVALIDATE_SECONDS = 3.0
HEARTBEAT_SECONDS = 15.0


class PayloadTooLarge(ValueError):
    """Something ≥ 10 KB was about to go into Redis; store it in the database instead."""


class JobProgress:
    def __init__(self, redis: Any, keys: RedisKeys, *, running_ttl: int = RUNNING_TTL_SECONDS,
                 finished_ttl: int = FINISHED_TTL_SECONDS) -> None:
        self.redis = redis
        self.keys = keys
        self.running_ttl = running_ttl
        self.finished_ttl = finished_ttl

    def key(self, zone_id: int, org_id: uuid.UUID | str, job_id: uuid.UUID | str) -> str:
        return self.keys.tenant(zone_id, org_id, "job", job_id)

    @staticmethod
    def _encode(fields: dict[str, Any]) -> dict[str, str]:
        out = {}
        for name, value in fields.items():
            if value is None:
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            if len(text.encode()) >= MAX_VALUE_BYTES:
                raise PayloadTooLarge(f"job field {name!r} is {len(text)} bytes; keep it in the database")
            out[name] = text
        return out

    async def _write(self, key: str, fields: dict[str, Any], ttl: int) -> None:
        encoded = self._encode({**fields, "updated_at": time.time()})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=encoded)
            pipe.expire(key, ttl)
            pipe.publish(key, json.dumps(encoded))
            await pipe.execute()

    async def create(self, zone_id: int, org_id: uuid.UUID | str, job_id: uuid.UUID | str, *, kind: str,
                     owner: uuid.UUID | str | None = None, total: int | None = None) -> None:
        await self._write(self.key(zone_id, org_id, job_id), {
            "job_id": str(job_id), "kind": kind, "status": "queued", "step": "queued", "processed": 0,
            "total": total, "progress": 0.0, "errors": 0, "owner": str(owner) if owner else None,
            "created_at": time.time()}, self.running_ttl)

    async def update(self, zone_id: int, org_id: uuid.UUID | str, job_id: uuid.UUID | str, *,
                     step: str | None = None, processed: int | None = None, total: int | None = None,
                     errors: int | None = None, progress: float | None = None) -> None:
        """Record progress; `progress` (0–100) is derived from processed/total when not given."""
        if progress is None and processed is not None and total:
            progress = round(100.0 * processed / total, 1)
        await self._write(self.key(zone_id, org_id, job_id), {
            "status": "running", "step": step, "processed": processed, "total": total, "errors": errors,
            "progress": progress}, self.running_ttl)

    async def finish(self, zone_id: int, org_id: uuid.UUID | str, job_id: uuid.UUID | str, *,
                     status: str = "succeeded", error: str | None = None, errors: int | None = None,
                     step: str | None = None, result: dict[str, Any] | None = None,
                     error_code: str | None = None) -> None:
        """The last state; `result` is the job's outcome as fields (JSON, under 10 KB), e.g. its totals;
        `error_code` a failure's stable code (e.g. `dependency.auth_unavailable`) for pages to word.
        Written once per job id: a None field is left out, so it cannot clear an earlier write."""
        if status not in FINISHED:
            raise ValueError(f"finish status must be one of {FINISHED}")
        await self._write(self.key(zone_id, org_id, job_id), {
            "status": status, "step": step or status, "error": error, "error_code": error_code, "errors": errors,
            "progress": 100.0 if status == "succeeded" else None, "result": result,
            "finished_at": time.time()}, self.finished_ttl)

    async def get(self, zone_id: int, org_id: uuid.UUID | str, job_id: uuid.UUID | str) -> dict[str, Any] | None:
        raw = await self.redis.hgetall(self.key(zone_id, org_id, job_id))
        return _decode(raw) if raw else None

    async def watch(self, zone_id: int, org_id: uuid.UUID | str, job_id: uuid.UUID | str,
                    heartbeat: float = 15.0) -> AsyncIterator[dict[str, Any]]:
        """Current state, then each update, until the job finishes (for SSE)."""
        key = self.key(zone_id, org_id, job_id)
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(key)
            state = await self.get(zone_id, org_id, job_id)
            if state is None:
                return
            yield state
            while state.get("status") not in FINISHED:
                msg = await pubsub.get_message(ignore_subscribe_messages=True, timeout=heartbeat)
                if msg is None:
                    yield {}  # heartbeat keeps proxies from closing an idle stream
                    continue
                state = {**state, **_decode(json.loads(msg["data"]))}
                yield state


def _decode(raw: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, text in raw.items():
        try:
            out[name] = json.loads(text)
        except (TypeError, ValueError):
            out[name] = text
    return out


class ProgressOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"job_id": "5b0c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3", "kind": "roster_import", "status": "running",
         "step": "inserting", "processed": 1200, "total": 5000, "progress": 24.0, "errors": 3, "error": None,
         "error_code": None, "result": None},
        {"job_id": "7d1e2f30-4a5b-4c6d-8e7f-901a2b3c4d5e", "kind": "roster_provision", "status": "succeeded",
         "step": "done: 36 students, 70 new accounts, 70 codes for the activation sheet", "processed": 36,
         "total": 36, "progress": 100.0, "errors": 0, "error": None, "error_code": None,
         "result": {"students": 36, "accounts_created": 70, "accounts_linked": 1, "accounts_existing": 0,
                    "codes_issued": 70, "memberships_added": 71, "links_approved": 36}}]})

    job_id: str
    kind: str
    status: str
    step: str | None = None
    processed: int | None = None
    total: int | None = None
    progress: float | None = None
    errors: int | None = None
    error: str | None = None
    error_code: str | None = Field(
        None, description="A failed job's stable code (e.g. `dependency.auth_unavailable`, `job.interrupted`, "
                          "`job.internal`) next to `error`, its English text; null otherwise or when the job "
                          "leaves none.")
    result: dict[str, Any] | None = Field(
        None, description="A finished job's outcome as fields (which ones depend on `kind`; e.g. a "
                          "`roster_provision` job's totals); null while it runs or when the job leaves none.")


router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def _progress_store(res: Resources) -> JobProgress:
    return JobProgress(res.redis, res.keys)


async def _visible_state(job_id: uuid.UUID, principal: Principal, res: Resources,
                         org_id: uuid.UUID | None) -> tuple[JobProgress, uuid.UUID, dict[str, Any]]:
    """The job's state if the caller may see it: its org's jobs only (zone-level callers name
    the org with ?org_id=), and another user's job only for admins. Anything else, a zone-level
    caller who named no org included, is 404: a job id alone never confirms that it exists."""
    try:
        org = acting_org(principal, org_id)
    except AppError:
        raise AppError(404, "job.not_found", "no such job") from None
    store = _progress_store(res)
    state = await store.get(principal.zone_id, org, job_id)
    owner = state.get("owner") if state else None
    if state is None or (owner and owner != str(principal.user_id) and principal.role not in ADMIN_ROLES):
        raise AppError(404, "job.not_found", "no such job")
    return store, org, state


@router.get("/{job_id}/progress", response_model=ProgressOut, summary="Progress of a long job (Redis only)",
            description="Answered from Redis alone — no database query — so it can be polled cheaply. "
                        "A finished job may carry `result`, its outcome as fields (e.g. a `roster_provision` "
                        "job's totals: students, accounts_created, accounts_linked, accounts_existing, "
                        "codes_issued, memberships_added, links_approved). Another org's job, or another "
                        "user's job for a non-admin, is 404.",
            responses={**problem_response(404, "job.not_found", "No such job in your org"),
                       **problem_response(401, "auth.token_missing", "An access token is required")})
async def get_progress(job_id: uuid.UUID, org_id: uuid.UUID | None = ORG_ID,
                       principal: Principal = Depends(current_principal),
                       res: Resources = Depends(resources)) -> ProgressOut:
    _, _, state = await _visible_state(job_id, principal, res, org_id)
    return ProgressOut.model_validate(state)


@router.get("/{job_id}/events", summary="Progress pushed as Server-Sent Events until the job finishes",
            description="`event: progress` with the same fields as `/progress` (the last one with the finished "
                        "job's `result`, if it leaves one), on every change, until the job "
                        "finishes; a comment line keeps idle proxies open. The token is checked again at least "
                        f"every {REVALIDATE_SECONDS:g} s: once it is revoked (logout, session revoked) or expires, "
                        "the stream sends `event: error` with the problem's `status` and `code` "
                        "(e.g. `auth.token_revoked`, `auth.token_expired`) and ends; reconnect with a fresh token.",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {"example":
                       'event: progress\ndata: {"status":"running","progress":24.0}\n\n'
                       'event: progress\ndata: {"status":"succeeded","progress":100.0,'
                       '"result":{"students":36,"accounts_created":70}}\n\n'
                       'event: error\ndata: {"status":401,"code":"auth.token_revoked"}\n\n'}}},
                       **problem_response(404, "job.not_found", "No such job in your org"),
                       **problem_response(401, "auth.token_missing", "An access token is required")})
async def stream_progress(job_id: uuid.UUID, request: Request, org_id: uuid.UUID | None = ORG_ID,
                          principal: Principal = Depends(current_principal),
                          res: Resources = Depends(resources)) -> StreamingResponse:
    store, org, _ = await _visible_state(job_id, principal, res, org_id)

    async def events() -> AsyncIterator[str]:
        quiet = 0.0
        async for state in store.watch(principal.zone_id, org, job_id, heartbeat=REVALIDATE_SECONDS):
            if await request.is_disconnected():
                return
            try:
                await authenticate(request)
            except AppError as err:
                yield f"event: error\ndata: {json.dumps({'status': err.status, 'code': err.code, 'detail': err.detail})}\n\n"
                return
            if not state:
                quiet += REVALIDATE_SECONDS
                if quiet >= HEARTBEAT_SECONDS:
                    quiet = 0.0
                    yield ": heartbeat\n\n"
                continue
            quiet = 0.0
            public = ProgressOut.model_validate(state).model_dump()
            yield f"event: progress\ndata: {json.dumps(public)}\n\n"
        await asyncio.sleep(0)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
