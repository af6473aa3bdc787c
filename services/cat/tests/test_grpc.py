"""CatService over real gRPC against real Redis (and NATS for bank invalidation): the whole
session flow, errors with stable codes, restart and rebuild, exposure counters under
concurrency, and tenant-namespaced keys."""
from __future__ import annotations

import asyncio
import json
import uuid
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
import numpy as np
import pytest

from mcproto.cat.v1 import cat_pb2 as pb
from mcproto.cat.v1 import cat_pb2_grpc
from megacity.errors import CODE_KEY
from megacity.runtime import ServiceRuntime
from megacity.testing import run_service

ZONE = 1


def tenant(org: str) -> pb.Tenant:
    return pb.Tenant(zone_id=ZONE, org_id=org)


def bank_items(n: int = 240, seed: int = 5) -> list[pb.Item]:
    rng = np.random.default_rng(seed)
    items = [pb.Item(item_id=f"q{k:04d}", model=pb.ITEM_MODEL_LOGISTIC, a=float(rng.uniform(0.6, 2.2)),
                     b=float(rng.normal()), c=float(rng.uniform(0, 0.2)), content_area=f"area{k % 4 + 1}")
             for k in range(n)]
    items.append(pb.Item(item_id="poly1", model=pb.ITEM_MODEL_GRM, a=1.4, thresholds=[-1.0, 0.0, 1.0],
                         content_area="area1"))
    return items


@asynccontextmanager
async def cat(namespace: str) -> AsyncIterator[tuple[ServiceRuntime, cat_pb2_grpc.CatServiceStub]]:
    async with run_service("cat", None, namespace) as rt:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.grpc_port}") as ch:
            yield rt, cat_pb2_grpc.CatServiceStub(ch)


async def load(stub, org: str, bank: str = "bank1", version: int = 1, **kw) -> pb.BankInfo:
    return await stub.LoadBank(pb.LoadBankRequest(tenant=tenant(org), item_bank_id=bank, item_bank_version=version,
                                                  items=kw.pop("items", None) or bank_items(), **kw))


def settings(**kw) -> pb.CatSettings:
    return pb.CatSettings(stopping=pb.StoppingSettings(min_items=kw.pop("length", 8), max_items=kw.pop("max_items", 8)),
                          **kw)


async def start(stub, org: str, sid: str, seed: int = 1, **kw) -> pb.SessionState:
    return await stub.StartSession(pb.StartSessionRequest(
        tenant=tenant(org), session_id=sid, item_bank_id=kw.pop("bank", "bank1"), item_bank_version=kw.pop("version", 1),
        settings=kw.pop("settings", None) or settings(), seed=seed, **kw))


async def expect_error(call, status: grpc.StatusCode, code: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    assert err.value.code() == status
    assert dict(err.value.trailing_metadata() or ())[CODE_KEY] == code


def answer(item_id: str) -> int:
    """A fixed, process-independent response per item (2 for the polytomous one)."""
    return int(zlib.crc32(item_id.encode()) % 3 != 0) if item_id != "poly1" else 2


async def test_session_flow_and_state_in_tenant_namespace(namespace: str, redis_client) -> None:
    org = str(uuid.uuid4())
    async with cat(namespace) as (_, stub):
        info = await load(stub, org)
        assert info.item_count == 241 and not info.already_loaded and info.items_per_area["area1"] == 61
        assert (await load(stub, org)).already_loaded
        assert (await stub.GetBank(pb.GetBankRequest(tenant=tenant(org), item_bank_id="bank1",
                                                     item_bank_version=1))).item_count == 241
        st = await start(stub, org, "att-1", settings=settings(content=pb.ContentSettings(
            blueprint={f"area{k}": 0.25 for k in range(1, 5)})))
        assert st.theta == 0.0 and not st.finished and st.estimator == "eap" and st.settings.stopping.max_items == 8
        thetas = []
        while True:
            nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="att-1"))
            if nxt.finished:
                break
            again = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="att-1"))
            assert again.item_id == nxt.item_id  # pending until answered
            st = await stub.SubmitResponses(pb.SubmitResponsesRequest(
                tenant=tenant(org), session_id="att-1", responses=[pb.Response(item_id=nxt.item_id, score=answer(nxt.item_id))]))
            thetas.append(st.theta)
        final = nxt.state
        assert final.finished and final.stop_reason == "max_items" and len(final.responses) == 8
        assert dict(final.content_counts) == {f"area{k}": 2 for k in range(1, 5)}
        assert final.theta == thetas[-1] and 0 < final.se < 1
        got = await stub.GetState(pb.GetStateRequest(tenant=tenant(org), session_id="att-1"))
        assert got.administered_item_ids == final.administered_item_ids
        keys = sorted([k async for k in redis_client.scan_iter(match=f"{namespace}:*")])
        assert f"{namespace}:z:{ZONE}:o:{org}:cat:s:att-1" in keys
        assert all(k.startswith(f"{namespace}:z:{ZONE}:o:{org}:cat:") for k in keys)
        assert 0 < await redis_client.ttl(f"{namespace}:z:{ZONE}:o:{org}:cat:s:att-1") <= 24 * 3600
        # other tenants see nothing
        other = str(uuid.uuid4())
        await expect_error(stub.GetState(pb.GetStateRequest(tenant=tenant(other), session_id="att-1")),
                           grpc.StatusCode.NOT_FOUND, "cat.session_not_found")
        await expect_error(start(stub, other, "x"), grpc.StatusCode.FAILED_PRECONDITION, "cat.bank_not_loaded")


async def test_errors_have_stable_codes(namespace: str) -> None:
    org = str(uuid.uuid4())
    inv, nf, fp, ae = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                       grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.ALREADY_EXISTS)
    async with cat(namespace) as (_, stub):
        await expect_error(stub.GetState(pb.GetStateRequest(tenant=tenant(org), session_id="nope")), nf,
                           "cat.session_not_found")
        await expect_error(stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="nope")), nf,
                           "cat.session_not_found")
        await expect_error(start(stub, org, "s1"), fp, "cat.bank_not_loaded")
        await expect_error(stub.GetBank(pb.GetBankRequest(tenant=tenant(org), item_bank_id="bank1")), nf,
                           "cat.bank_not_loaded")
        await expect_error(load(stub, org, items=[pb.Item(item_id="x", a=-1)]), inv, "cat.invalid_bank.discrimination")
        await expect_error(load(stub, org, items=[pb.Item(item_id="x", a=1), pb.Item(item_id="x", a=1)]), inv,
                           "cat.invalid_bank.duplicate_item")
        await expect_error(stub.GetState(pb.GetStateRequest(tenant=pb.Tenant(zone_id=999, org_id=org), session_id="s")),
                           inv, "cat.invalid_tenant")
        await expect_error(stub.GetState(pb.GetStateRequest(tenant=pb.Tenant(zone_id=1, org_id="x"), session_id="s")),
                           inv, "cat.invalid_tenant")
        await load(stub, org)
        await expect_error(start(stub, org, "bad id"), inv, "cat.invalid_id")
        await expect_error(start(stub, org, "s1", settings=pb.CatSettings(stopping=pb.StoppingSettings(
            classification=pb.CLASSIFICATION_CI))), inv, "cat.invalid_settings")
        await expect_error(start(stub, org, "s1", settings=pb.CatSettings(exposure=pb.ExposureSettings(r_max=2))), inv,
                           "cat.invalid_settings")
        await expect_error(start(stub, org, "s1", settings=pb.CatSettings(content=pb.ContentSettings(
            blueprint={"nowhere": 1.0}))), inv, "cat.invalid_settings")
        await expect_error(start(stub, org, "s1", prior_responses=[pb.Response(item_id="zzz", score=1)]), inv,
                           "cat.unknown_item")
        st = await start(stub, org, "s1")
        assert (await start(stub, org, "s1")).session_id == st.session_id  # idempotent
        await expect_error(start(stub, org, "s1", seed=2), ae, "cat.session_exists")
        nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="s1"))
        sub = lambda item, score: stub.SubmitResponses(pb.SubmitResponsesRequest(  # noqa: E731
            tenant=tenant(org), session_id="s1", responses=[pb.Response(item_id=item, score=score)]))
        await expect_error(sub(nxt.item_id, 5), inv, "cat.invalid_score")
        await expect_error(sub("q0239" if nxt.item_id != "q0239" else "q0238", 1), inv, "cat.item_not_administered")
        await expect_error(sub("nope", 1), inv, "cat.unknown_item")
        await sub(nxt.item_id, 1)
        await sub(nxt.item_id, 1)  # a retry is harmless
        await expect_error(sub(nxt.item_id, 0), ae, "cat.response_conflict")
        await expect_error(stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="s1", count=99)), inv,
                           "cat.invalid_count")
        done = await stub.Finish(pb.FinishRequest(tenant=tenant(org), session_id="s1"))
        assert done.finished and done.stop_reason == "finish_called" and len(done.responses) == 1
        assert (await stub.Finish(pb.FinishRequest(tenant=tenant(org), session_id="s1"))).finished
        await sub(nxt.item_id, 1)  # still a harmless retry
        nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="s1"))
        assert nxt.finished and nxt.item_id == ""


async def test_batches_and_polytomous_scores(namespace: str) -> None:
    org = str(uuid.uuid4())
    async with cat(namespace) as (_, stub):
        await load(stub, org, items=[pb.Item(item_id=f"g{k}", model=pb.ITEM_MODEL_GPCM, a=1.0,
                                             thresholds=[k / 5 - 1, k / 5]) for k in range(12)])
        await start(stub, org, "b1", settings=settings(length=6, max_items=6))
        nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="b1", count=4))
        assert len(nxt.item_ids) == 4 and nxt.item_id == nxt.item_ids[0]
        assert list(nxt.state.pending_item_ids) == list(nxt.item_ids)
        st = await stub.SubmitResponses(pb.SubmitResponsesRequest(tenant=tenant(org), session_id="b1", responses=[
            pb.Response(item_id=i, score=s) for i, s in zip(nxt.item_ids, [2, 1, 0, 2])]))
        assert len(st.responses) == 4 and not st.pending_item_ids and st.theta != 0
        nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="b1", count=4))
        assert len(nxt.item_ids) == 2  # max_items caps the batch


async def test_state_survives_restart_and_rebuilds_from_responses(namespace: str, redis_client) -> None:
    org = str(uuid.uuid4())
    async with cat(namespace) as (_, stub):
        await load(stub, org)
        await start(stub, org, "r1", seed=77, settings=settings(length=12, max_items=12))
        for _ in range(4):
            nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="r1"))
            await stub.SubmitResponses(pb.SubmitResponsesRequest(tenant=tenant(org), session_id="r1", responses=[
                pb.Response(item_id=nxt.item_id, score=answer(nxt.item_id))]))
        pending = (await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="r1"))).item_id
        before = await stub.GetState(pb.GetStateRequest(tenant=tenant(org), session_id="r1"))
    # the CAT service is gone (bank cache too); a new one reads the state from Redis
    async with cat(namespace) as (_, stub):
        nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="r1"))
        assert nxt.item_id == pending and nxt.state.theta == before.theta
        sub = pb.SubmitResponsesRequest(tenant=tenant(org), session_id="r1",
                                        responses=[pb.Response(item_id=pending, score=1)])
        await expect_error(stub.SubmitResponses(sub), grpc.StatusCode.FAILED_PRECONDITION, "cat.bank_not_loaded")
        await load(stub, org)  # the exam service re-sends the bank and retries
        st = await stub.SubmitResponses(sub)
        following = (await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="r1"))).item_id
        # state lost entirely: rebuild from the stored responses with the same seed and settings
        await redis_client.delete(f"{namespace}:z:{ZONE}:o:{org}:cat:s:r1")
        rebuilt = await start(stub, org, "r1", seed=77, settings=st.settings,  # the echoed settings
                              prior_responses=list(st.responses))
        assert (await start(stub, org, "r1", seed=77, settings=st.settings)).theta == rebuilt.theta  # idempotent
        assert rebuilt.theta == pytest.approx(st.theta, abs=1e-12) and list(rebuilt.responses) == list(st.responses)
        assert (await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id="r1"))).item_id == following


async def test_exposure_counters_hold_r_max_under_concurrency(namespace: str) -> None:
    org = str(uuid.uuid4())
    async with cat(namespace) as (_, stub):
        await load(stub, org, items=bank_items(60)[:60])
        cfg = settings(length=5, max_items=5, exposure=pb.ExposureSettings(method=pb.EXPOSURE_R_MAX, r_max=0.3))
        sids = [f"c{k}" for k in range(20)]
        await asyncio.gather(*(start(stub, org, sid, seed=k, settings=cfg) for k, sid in enumerate(sids)))

        async def take(sid: str) -> None:
            while not (nxt := await stub.NextItem(pb.NextItemRequest(tenant=tenant(org), session_id=sid))).finished:
                await stub.SubmitResponses(pb.SubmitResponsesRequest(tenant=tenant(org), session_id=sid, responses=[
                    pb.Response(item_id=nxt.item_id, score=answer(nxt.item_id))]))

        await asyncio.gather(*(take(s) for s in sids))
        report = await stub.GetExposure(pb.GetExposureRequest(tenant=tenant(org), item_bank_id="bank1", top=60))
        assert report.sessions == 20 and sum(i.given for i in report.items) == 100
        assert max(i.rate for i in report.items) <= 0.3
        # Sympson–Hetter through Redis: lottery losers are excluded for the session
        cfg = settings(length=5, max_items=5, exposure=pb.ExposureSettings(method=pb.EXPOSURE_SYMPSON_HETTER, r_max=0.3))
        await start(stub, org, "sh", seed=3, settings=cfg)
        await take("sh")
        st = await stub.GetState(pb.GetStateRequest(tenant=tenant(org), session_id="sh"))
        assert st.finished and len(st.responses) == 5


async def test_bank_change_event_drops_cached_versions(namespace: str, nats_client) -> None:
    """Every replica listens on a plain NATS subscription (bank_events.py): an event published
    before the listener has subscribed is simply not seen, so the test re-announces the (idempotent)
    change until the positive outcome — version 3 gone — shows; the deadline only bounds a hang."""
    org = str(uuid.uuid4())
    async with cat(namespace) as (rt, stub):
        await load(stub, org, version=3)
        await load(stub, org, version=4)
        body = {"id": "e1", "type": "exam.item_bank.changed", "zone_id": ZONE, "org_id": org, "occurred_at": None,
                "data": {"item_bank_id": "bank1", "item_bank_version": 4}}
        loop = asyncio.get_running_loop()
        end = loop.time() + 30
        while True:
            await nats_client.publish(f"{namespace}.events.exam.item_bank.changed", json.dumps(body).encode())
            await nats_client.flush()
            try:
                await stub.GetBank(pb.GetBankRequest(tenant=tenant(org), item_bank_id="bank1", item_bank_version=3))
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND
                break
            assert loop.time() < end, "version 3 is still cached"
            await asyncio.sleep(0.1)
        assert (await stub.GetBank(pb.GetBankRequest(tenant=tenant(org), item_bank_id="bank1",
                                                     item_bank_version=4))).item_count == 241
