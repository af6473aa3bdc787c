"""Queued AI jobs: one JetStream pull consumer per job kind whose model this replica serves.

- In flight per kind: at most the model's concurrency limit (a local semaphore, and the
  consumer's `max_ack_pending` on the server); jobs share the model's slots with RPCs but are
  never refused (they already wait in JetStream).
- A running job keeps its lease with `msg.in_progress()` every ack_wait/3; a process that dies
  stops renewing it, and JetStream redelivers the job after `ack_wait` to any replica.
- The result is published to `<ns>.events.ai.result.<kind>` with `Nats-Msg-Id: {job_id}:result`,
  so a job finished twice (crash after publishing, before acking) is stored once by JetStream's
  duplicate window; kzone's consumer also dedupes on that id. The job is acked only after the
  result is published.
- Failures: a 4xx AppError (the job's own input; not 429, which is pressure: the GPU out of
  memory) gives a "failed" result at once; anything
  else is nak'ed with the next backoff delay, and after `job_max_deliver` deliveries the job
  gets a "failed" result and a copy goes to the dead-letter subject (`<ns>.dlq.ai.job.<kind>`).
  Deliveries are counted here (server max_deliver is unlimited), as megacity.events does.
- Progress: the job's Redis hash (created by kzone, megacity.job_progress) gets steps such as
  transcribing/scoring/feedback; only an existing, unfinished hash is updated.
"""
from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import Any

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from megacity.errors import AppError
from megacity.events import envelope
from megacity.events.streams import dlq_stream, dlq_subject, ensure_streams, events_filter, events_stream, subject
from megacity.job_progress import FINISHED, JobProgress
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.inference import metrics
from services.inference.job_handlers import KIND_MODEL, Job, JobHandlers
from services.inference.models import InferenceState
from services.inference.objects import ObjectStore

log = get_logger("inference.jobs")
tracer = trace.get_tracer("inference.jobs")


def durable_name(kind: str) -> str:
    return f"inference-ai-job-{kind}"


def result_msg_id(job_id: str) -> str:
    return f"{job_id}:result"


def _header_value(value: str, limit: int = 1024) -> str:
    return " ".join(value.split())[:limit]


class JobWorker:
    """A runtime Worker (megacity.runtime.Worker): `run()` until `stop()`."""

    def __init__(self, res: Resources, state: InferenceState, store: ObjectStore) -> None:
        self.res = res
        self.state = state
        self.settings = state.settings
        self.namespace = self.settings.events_namespace
        self.handlers = JobHandlers(state, store)
        self.progress = JobProgress(res.redis, res.keys) if res.redis is not None else None
        self.kinds = [k for k, m in KIND_MODEL.items() if m in state.gates] if self.settings.jobs_enabled else []
        self._stopping = asyncio.Event()
        self._active: set[asyncio.Task] = set()
        self._subs: dict[str, Any] = {}

    @property
    def _js(self) -> JetStreamContext:
        js = self.res.js
        assert js is not None  # run() consumes only when the runtime has JetStream
        return js

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        if not self.kinds or self.res.js is None:
            await self._stopping.wait()
            return
        loops = [asyncio.create_task(self._consume(kind), name=f"inference-jobs-{kind}") for kind in self.kinds]
        loops.append(asyncio.create_task(self._report_depth(), name="inference-jobs-depth"))
        try:
            await self._stopping.wait()
            # Draining: take nothing new, let running jobs finish (the runtime bounds this wait).
            await asyncio.gather(*loops[:-1], return_exceptions=True)
            if self._active:
                await asyncio.gather(*list(self._active), return_exceptions=True)
        finally:
            for task in [*loops, *self._active]:
                task.cancel()  # jobs cancelled here nak their message so another replica takes it
            await asyncio.gather(*loops, *self._active, return_exceptions=True)
            for sub in self._subs.values():
                with contextlib.suppress(Exception):
                    await sub.unsubscribe()

    # -- consuming --------------------------------------------------------------------------
    async def _subscribe(self, kind: str) -> Any:
        if kind in self._subs:
            return self._subs[kind]
        js, name = self._js, durable_name(kind)
        limit = self.state.gates[KIND_MODEL[kind]].limit
        await ensure_streams(js, self.namespace)
        config = ConsumerConfig(
            name=name, durable_name=name, filter_subject=events_filter(self.namespace, f"ai.job.{kind}"),
            ack_policy=AckPolicy.EXPLICIT, ack_wait=self.settings.job_ack_wait_seconds,
            max_deliver=-1,  # counted here, so a job only leaves with a result or via the DLQ
            max_ack_pending=self.settings.job_max_ack_pending or limit, deliver_policy=DeliverPolicy.ALL)
        try:
            await js.add_consumer(events_stream(self.namespace), config)
        except Exception as exc:  # noqa: BLE001 - an existing consumer with another config: keep it
            log.warning("could not create or update the job consumer; binding to the existing one",
                        consumer=name, error=str(exc))
        self._subs[kind] = await js.pull_subscribe_bind(durable=name, stream=events_stream(self.namespace))
        return self._subs[kind]

    async def _consume(self, kind: str) -> None:
        limit = self.state.gates[KIND_MODEL[kind]].limit
        slots = asyncio.Semaphore(limit)
        failures = 0
        while not self._stopping.is_set():
            try:
                sub = await self._subscribe(kind)
                while not self._stopping.is_set():
                    await slots.acquire()
                    if self._stopping.is_set():
                        slots.release()
                        break
                    try:
                        msgs = await sub.fetch(1, timeout=1.0)
                    except TimeoutError:
                        slots.release()
                        continue
                    except BaseException:
                        slots.release()
                        raise
                    for msg in msgs:
                        task = asyncio.create_task(self._handle(kind, msg), name=f"inference-job-{kind}")
                        self._active.add(task)
                        task.add_done_callback(self._done(slots))
                    if not msgs:
                        slots.release()
                    failures = 0
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - NATS trouble: rebind with backoff, never crash the service
                failures += 1
                log.exception("job consumer failed; retrying", kind=kind, attempt=failures)
                sub = self._subs.pop(kind, None)
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), min(30.0, 0.5 * 2 ** failures))

    def _done(self, slots: asyncio.Semaphore):
        def callback(task: asyncio.Task) -> None:
            self._active.discard(task)
            slots.release()
            if not task.cancelled() and task.exception() is not None:
                log.error("job handler crashed", exc_info=task.exception())

        return callback

    async def _report_depth(self) -> None:
        while True:
            for kind, sub in list(self._subs.items()):
                with contextlib.suppress(Exception):
                    info = await sub.consumer_info()
                    metrics.JOB_QUEUE_DEPTH.labels(kind).set(info.num_pending)
            await asyncio.sleep(5.0)

    # -- one job ----------------------------------------------------------------------------
    async def _handle(self, kind: str, msg: Msg) -> None:
        meta = msg.metadata
        delivered = meta.num_delivered
        headers = dict(msg.headers or {})
        msg_id = headers.get(envelope.MSG_ID) or f"{meta.stream}:{meta.sequence.stream}"
        parent = propagate.extract(headers, context=Context())
        with tracer.start_as_current_span(
            f"{msg.subject} process", context=parent, kind=SpanKind.CONSUMER,
            attributes={"messaging.system": "nats", "messaging.operation.type": "process",
                        "messaging.destination.name": msg.subject, "messaging.message.id": msg_id,
                        "messaging.consumer.group.name": durable_name(kind), "megacity.delivered": delivered},
        ) as span:
            try:
                event = envelope.decode(msg.data, msg_id=msg_id, subject=msg.subject, headers=headers,
                                        delivered=delivered)
                job = Job.from_payload(event.payload, kind)
            except (ValueError, KeyError, TypeError, AppError) as exc:
                span.set_status(Status(StatusCode.ERROR, "bad job"))
                await self._dead_letter(msg, headers, msg_id, delivered, f"bad job message: {exc}")
                metrics.JOBS.labels(kind, "rejected").inc()
                return
            span.set_attribute("megacity.job_id", job.job_id)
            if delivered > self.settings.job_max_deliver:
                # Earlier attempts ended without an outcome (the process died each time).
                await self._give_up(msg, headers, msg_id, job, delivered, "delivery limit reached", span)
                return
            if await self._cancelled_by_owner(job):
                await self._finish(msg, job, "cancelled", None, {"code": "inference.job_cancelled",
                                                                 "detail": "the job was cancelled"}, delivered, 0.0)
                return
            await self._run(msg, headers, msg_id, job, delivered, span)

    async def _run(self, msg: Msg, headers: dict[str, str], msg_id: str, job: Job, delivered: int, span: Any) -> None:
        started = time.perf_counter()
        deadline = time.monotonic() + self.settings.job_timeout_seconds
        heartbeat = asyncio.create_task(self._keep_lease(msg))
        metrics.JOBS_IN_FLIGHT.labels(job.kind).inc()

        async def progress(step: str, percent: float) -> None:
            await self._progress(job, step, percent)

        try:
            result = await self.handlers.run(job, progress, deadline)
        except AppError as err:
            # 429 (the GPU out of memory, a full gate) is pressure, not bad input: retried later.
            if 400 <= err.status < 500 and err.status not in (429, 499):
                span.set_status(Status(StatusCode.ERROR, err.code))
                await self._finish(msg, job, "failed", None, {"code": err.code, "detail": err.detail}, delivered,
                                   time.perf_counter() - started)
                return
            await self._retry_or_give_up(msg, headers, msg_id, job, delivered, f"{err.code}: {err.detail}", span)
            return
        except asyncio.CancelledError:
            # Draining or killed task: hand the job back at once for another replica.
            with contextlib.suppress(BaseException):
                await asyncio.shield(msg.nak())
            raise
        except Exception as exc:  # noqa: BLE001 - a model or storage failure: retry with backoff
            span.record_exception(exc)
            await self._retry_or_give_up(msg, headers, msg_id, job, delivered, f"{type(exc).__name__}: {exc}", span)
            return
        finally:
            heartbeat.cancel()
            metrics.JOBS_IN_FLIGHT.labels(job.kind).dec()
        await self._finish(msg, job, "succeeded", result, None, delivered, time.perf_counter() - started)

    async def _keep_lease(self, msg: Msg) -> None:
        interval = max(0.2, self.settings.job_ack_wait_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    async def _retry_or_give_up(self, msg: Msg, headers: dict[str, str], msg_id: str, job: Job, delivered: int,
                                error: str, span: Any) -> None:
        span.set_status(Status(StatusCode.ERROR, error[:100]))
        if delivered >= self.settings.job_max_deliver:
            await self._give_up(msg, headers, msg_id, job, delivered, error, span)
            return
        backoff = self.settings.job_backoff_seconds or [1.0]
        delay = backoff[min(delivered, len(backoff)) - 1]
        log.warning("job failed; will retry", job_id=job.job_id, kind=job.kind, delivered=delivered,
                    retry_in=delay, error=error)
        metrics.JOBS.labels(job.kind, "retried").inc()
        await self._progress(job, "retrying", None)
        await msg.nak(delay=delay)

    async def _give_up(self, msg: Msg, headers: dict[str, str], msg_id: str, job: Job, delivered: int, error: str,
                       span: Any) -> None:
        span.set_status(Status(StatusCode.ERROR, "gave up"))
        log.error("job failed for good", job_id=job.job_id, kind=job.kind, delivered=delivered, error=error)
        if not await self._dead_letter(msg, headers, msg_id, delivered, error, term=False):
            return
        await self._finish(msg, job, "failed", None, {"code": "inference.job_failed", "detail": error[:1000]},
                           delivered, 0.0, ack=False)
        with contextlib.suppress(Exception):
            await msg.term()

    async def _dead_letter(self, msg: Msg, headers: dict[str, str], msg_id: str, delivered: int, error: str,
                           term: bool = True) -> bool:
        consumer = durable_name(msg.subject.rsplit(".", 1)[-1])
        dlq_headers = {**headers, envelope.MSG_ID: f"{consumer}:{msg_id}", "Mc-Original-Msg-Id": msg_id,
                       "Mc-Original-Subject": msg.subject, "Mc-Consumer": consumer, "Mc-Delivered": str(delivered),
                       "Mc-Error": _header_value(error)}
        try:
            await self._js.publish(dlq_subject(self.namespace, msg.subject), msg.data,
                                   stream=dlq_stream(self.namespace), headers=dlq_headers)
        except Exception:  # noqa: BLE001 - keep the job; try again later
            log.exception("DLQ publish failed; the job stays queued", msg_id=msg_id)
            await msg.nak(delay=self.settings.job_backoff_seconds[-1] if self.settings.job_backoff_seconds else 30)
            return False
        if term:
            await msg.term()
        return True

    async def _finish(self, msg: Msg, job: Job, status: str, result: dict[str, Any] | None,
                      error: dict[str, str] | None, delivered: int, elapsed: float, ack: bool = True) -> None:
        """Publish the result (deduplicated by Nats-Msg-Id), then ack. A failed publish leaves
        the job unacked, to be retried."""
        payload: dict[str, Any] = {"job_id": job.job_id, "zone_id": job.zone_id, "org_id": job.org_id,
                                   "kind": job.kind, "status": status, "attempt": delivered,
                                   "elapsed_ms": round(elapsed * 1000)}
        if result is not None:
            payload["result"] = result
        if error is not None:
            payload["error"] = error
        if status == "succeeded":
            # Before publishing: once kzone has the result it finishes the hash, and a later
            # update would turn a finished job back into a running one.
            await self._progress(job, "publishing", 95.0)
        try:
            await self._publish_result(job, payload)
        except Exception:  # noqa: BLE001
            log.exception("result publish failed; the job will be retried", job_id=job.job_id)
            with contextlib.suppress(Exception):
                await msg.nak(delay=self.settings.job_backoff_seconds[0] if self.settings.job_backoff_seconds else 1)
            return
        metrics.JOBS.labels(job.kind, status).inc()
        if ack:
            await msg.ack()

    async def _publish_result(self, job: Job, payload: dict[str, Any]) -> None:
        event_type = f"ai.result.{job.kind}"
        full_subject = subject(self.namespace, event_type)
        msg_id = result_msg_id(job.job_id)
        with tracer.start_as_current_span(
            f"{full_subject} publish", kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "nats", "messaging.operation.type": "publish",
                        "messaging.destination.name": full_subject, "messaging.message.id": msg_id},
        ):
            headers = {envelope.MSG_ID: msg_id}
            propagate.inject(headers)
            body = envelope.encode(event_id=msg_id, event_type=event_type, payload=payload, zone_id=job.zone_id,
                                   org_id=job.org_id, occurred_at=dt.datetime.now(dt.UTC))
            ack = await self._js.publish(full_subject, body, stream=events_stream(self.namespace),
                                         headers=headers)
            if getattr(ack, "duplicate", False):
                log.info("result already published (JetStream dedupe)", job_id=job.job_id)

    # -- progress (best effort: Redis trouble never fails a job) ------------------------------
    async def _state(self, job: Job) -> dict[str, Any] | None:
        if self.progress is None:
            return None
        try:
            return await self.progress.get(job.zone_id, job.org_id, job.job_id)
        except Exception:  # noqa: BLE001
            log.warning("could not read job progress", job_id=job.job_id, exc_info=True)
            return None

    async def _cancelled_by_owner(self, job: Job) -> bool:
        state = await self._state(job)
        return bool(state and state.get("status") == "cancelled")

    async def _progress(self, job: Job, step: str, percent: float | None) -> None:
        state = await self._state(job)
        if state is None or self.progress is None or state.get("status") in FINISHED:
            return  # kzone did not create it (or already finished it): nothing to update
        try:
            await self.progress.update(job.zone_id, job.org_id, job.job_id, step=step, progress=percent)
        except Exception:  # noqa: BLE001
            log.warning("could not update job progress", job_id=job.job_id, exc_info=True)
