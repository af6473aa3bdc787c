"""Adaptive attempts through the real CAT service over gRPC: the first item at start, CAT's
θ at the end, and recovery — CAT killed mid-attempt (and its Redis state wiped) loses no
response and the attempt goes on with exactly the items an uninterrupted session would give."""
from __future__ import annotations

import json
import uuid

import grpc
import psycopg

from mcproto.cat.v1 import cat_pb2 as pb
from mcproto.cat.v1 import cat_pb2_grpc
from megacity.testing import REDIS_URL
from services.exam.cat_settings import CatSettingsIn
from services.exam.tests.conftest import CatServer, ExamApp, logistic_item

N_ITEMS = 40
LENGTH = 8


def answer_for(item_code: str, b: float) -> str:
    """A deterministic examinee a bit above average: right on easy items, wrong on hard ones."""
    return "B" if b < 0.4 or item_code.endswith("7") else "C"


async def adaptive_exam(app: ExamApp, teacher, **settings) -> tuple[dict, dict[str, dict]]:
    bank = await app.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Adaptive"})
    items: dict[str, dict] = {}
    for k in range(N_ITEMS):
        body = {"bank_id": bank["id"], **logistic_item(f"C{k:03d}", -2.0 + 4.0 * k / (N_ITEMS - 1),
                                                       a=0.8 + (k % 5) * 0.3, c=0.1,
                                                       area=("algebra", "geometry")[k % 2])}
        item = await app.ok("POST", "/api/v1/items", teacher, 201, json=body)
        items[item["id"]] = item
    exam = await app.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "Placement", "kind": "adaptive", "item_bank_id": bank["id"], "time_limit_seconds": 1800,
        "cat_settings": {"min_items": LENGTH, "max_items": LENGTH, **settings}})
    exam = await app.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
    return exam, items


async def answer(app: ExamApp, student, attempt_id: str, item: dict) -> dict:
    return await app.ok("POST", f"/api/v1/attempts/{attempt_id}/responses", student, 201,
                        json={"item_id": item["id"], "answer": answer_for(item["code"], item["b"])})


def stored_responses(app: ExamApp, attempt_id: str) -> list[tuple[str, int]]:
    with psycopg.connect(app.db.admin_url) as conn:
        return [(str(i), s) for i, s in conn.execute(
            "SELECT item_id, score FROM exam.responses WHERE attempt_id = %s ORDER BY seq", (attempt_id,)).fetchall()]


async def test_adaptive_attempt_takes_items_and_theta_from_cat(adaptive_app: ExamApp) -> None:
    app = adaptive_app
    teacher, student = app.actor("teacher"), app.actor("student")
    exam, items = await adaptive_exam(app, teacher, blueprint={"algebra": 1, "geometry": 1})
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    assert att["kind"] == "adaptive" and att["current_item"]["id"] in items
    assert set(att["current_item"]) == {"id", "stem", "options", "max_score"}  # no key, no IRT parameters
    given = []
    current = att["current_item"]
    while current is not None:
        given.append(current["id"])
        ack = await answer(app, student, att["id"], items[current["id"]])
        current = ack["next_item"]
    assert ack["finished"] and ack["status"] == "completed" and len(given) == LENGTH == len(set(given))
    areas = [items[i]["content_area"] for i in given]
    assert abs(areas.count("algebra") - areas.count("geometry")) <= 1  # the blueprint held
    result = ack["result"]
    assert result["estimator"] == "eap" and result["stop_reason"] == "max_items"
    assert -4 < result["theta"] < 4 and 0 < result["se"] < 1 and result["counted"] is True
    assert (result["percentile"], result["percentile_unavailable"]) == (None, "norm_group_too_small")
    assert [i for i, _ in stored_responses(app, att["id"])] == given
    resp = await app.call("POST", f"/api/v1/attempts/{att['id']}/responses", student,
                          json={"item_id": given[0], "answer": "B"})
    assert resp.status_code in (201, 409)  # a replay of the same answer, or a conflict; never a new response
    assert len(stored_responses(app, att["id"])) == LENGTH


async def test_cat_killed_mid_attempt_resumes_with_the_same_items(adaptive_app: ExamApp, cat_server: CatServer,
                                                                  namespace: str) -> None:
    app = adaptive_app
    teacher, student = app.actor("teacher"), app.actor("student")
    exam, items = await adaptive_exam(app, teacher, selection="randomesque", randomesque_k=4)
    att = await app.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    path = f"/api/v1/attempts/{att['id']}"
    current = att["current_item"]
    for _ in range(2):
        current = (await answer(app, student, att["id"], items[current["id"]]))["next_item"]

    # 1. CAT dies and comes back on the same port (its Redis state survives; its bank cache does not).
    await cat_server.stop()
    assert (await app.ok("GET", path, student))["current_item"]["id"] == current["id"]  # resume without CAT
    await cat_server.start()
    current = (await answer(app, student, att["id"], items[current["id"]]))["next_item"]

    # 2. CAT dies while a response is on its way: the response is stored, the reply says so.
    await cat_server.stop()
    pending = current
    resp = await app.call("POST", f"{path}/responses", student,
                          json={"item_id": pending["id"], "answer": answer_for(items[pending["id"]]["code"],
                                                                                items[pending["id"]]["b"])})
    assert resp.status_code == 503 and resp.json()["code"] == "dependency.cat_unavailable"
    assert resp.json()["response_stored"] is True
    assert stored_responses(app, att["id"])[-1][0] == pending["id"] and len(stored_responses(app, att["id"])) == 4

    # ... and its Redis state is lost too (flushed): exam rebuilds the session from PostgreSQL.
    import redis.asyncio as aioredis

    r = aioredis.from_url(REDIS_URL)
    keys = [k async for k in r.scan_iter(match=f"{namespace}:*:cat:*")]
    assert keys
    await r.delete(*keys)
    await r.aclose()
    await cat_server.start()
    resumed = await app.ok("GET", path, student)
    assert resumed["answered"] == 4 and resumed["current_item"] is not None
    current = resumed["current_item"]
    while current is not None:
        ack = await answer(app, student, att["id"], items[current["id"]])
        current = ack["next_item"]
    assert ack["status"] == "completed"
    stored = stored_responses(app, att["id"])
    assert len(stored) == LENGTH  # no response lost, none twice

    # An uninterrupted session with the same seed, settings and answers gives the same items.
    with psycopg.connect(app.db.admin_url) as conn:
        seed, version, bank_id, cat_json = conn.execute(
            "SELECT seed, bank_version, bank_id, cat_settings FROM exam.attempts WHERE id = %s", (att["id"],)).fetchone()
    settings = CatSettingsIn.model_validate(cat_json if isinstance(cat_json, dict) else json.loads(cat_json)).to_proto()
    tenant = pb.Tenant(zone_id=1, org_id=str(app.org_a))
    scores = dict(stored)
    async with grpc.aio.insecure_channel(cat_server.target) as ch:
        stub = cat_pb2_grpc.CatServiceStub(ch)
        ref = f"ref-{uuid.uuid4().hex[:8]}"
        await stub.StartSession(pb.StartSessionRequest(tenant=tenant, session_id=ref, item_bank_id=str(bank_id),
                                                       item_bank_version=version, settings=settings, seed=seed))
        sequence = []
        while True:
            nxt = await stub.NextItem(pb.NextItemRequest(tenant=tenant, session_id=ref))
            if nxt.finished:
                break
            sequence.append(nxt.item_id)
            await stub.SubmitResponses(pb.SubmitResponsesRequest(tenant=tenant, session_id=ref, responses=[
                pb.Response(item_id=nxt.item_id, score=scores[nxt.item_id])]))
    assert sequence == [i for i, _ in stored]
    assert abs(nxt.state.theta - ack["result"]["theta"]) < 1e-9
