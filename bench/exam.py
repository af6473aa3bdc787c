"""Submit-response throughput through the local edge with 50 concurrent students.

Everything real and in separate processes: Traefik (the local edge, rate limits off: one load
generator on one address would measure the limiter), the exam service (one uvicorn process,
default pool of 10+10 connections) and, for adaptive exams, the CAT service (gRPC, state in
Redis); PostgreSQL (a throwaway database on MC_TEST_PG_URL), Redis. The exam service verifies
every token locally (JWKS served by this script); its NATS URL points nowhere, so the outbox
relay stays idle and only the requests use the database.

Load: wrk with 50 threads × 1 connection — each connection is one student with an attempt of
their own, answering its current item as soon as the previous answer is acknowledged (a Lua
script keeps each student's place: the fixed form's order, or the next item CAT returned).
Every request is a real `POST /api/v1/attempts/{id}/responses` that stores a response in
PostgreSQL before it is acknowledged; afterwards the stored rows are counted and must equal the
acknowledged requests.
"""
from __future__ import annotations

import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import httpx
import psycopg

from bench import wrk
from bench.common import (
    HOST,
    PG_URL,
    REDIS_URL,
    JwksServer,
    create_database,
    drop_database,
    free_port,
    local_edge,
    plain,
    purge_redis,
    start_service,
    stop,
    unreachable_nats_url,
)
from megacity.auth.tokens import SigningKey, issue_access_token
from megacity.db.engine import with_database
from megacity.db.migrations import migrate_all

ZONE_ID = 1
STUDENTS = 50
BANK_ITEMS = 500
ADAPTIVE_LENGTH = 200


def _bank_csv(n: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["code", "stem", "a", "b", "c", "content_area", "options", "answer_key"])
    for k in range(n):
        w.writerow([f"B{k:05d}", f"Question {k}", round(rng.uniform(0.5, 2.5), 3), round(rng.gauss(0, 1), 3),
                    round(rng.uniform(0, 0.25), 3), f"area{k % 4 + 1}", "A=one|B=two|C=three|D=four", "B"])
    return out.getvalue().encode()


LUA = r"""
-- One wrk thread = one connection = one student (see bench/exam.py).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("sid", counter)
end

function init(args)
  local s = STUDENTS[sid]
  path = "/api/v1/attempts/" .. s.attempt .. "/responses"
  hdrs = {["Host"] = HOST, ["Authorization"] = "Bearer " .. s.token, ["Content-Type"] = "application/json"}
  items = s.items
  idx = 1
  current = s.first
end

function request()
  local item = current
  if MODE == "fixed" then item = items[math.min(idx, #items)] end
  return wrk.format("POST", path, hdrs, '{"item_id":"' .. item .. '","answer":"B"}')
end

function response(status, headers, body)
  if status ~= 201 then return end
  if MODE == "fixed" then
    idx = idx + 1
  else
    local nxt = string.match(body, '"next_item":{"id":"([%w%-]+)"')
    if nxt then current = nxt end
  end
end
"""


def _lua(students: list[dict], mode: str, folder: Path) -> Path:
    lines = [f'HOST = "{HOST}"', f'MODE = "{mode}"', "STUDENTS = {"]
    for s in students:
        items = ",".join(f'"{i}"' for i in s.get("items", []))
        lines.append(f'  {{attempt = "{s["attempt"]}", token = "{s["token"]}", first = "{s["first"]}", '
                     f"items = {{{items}}}}},")
    lines.append("}")
    path = folder / f"responses_{mode}.lua"
    path.write_text("\n".join(lines) + LUA)
    return path


def _wrk(url: str, script: Path, seconds: int) -> tuple[wrk.WrkResult, int]:
    result = wrk.run(url, seconds=seconds, connections=STUDENTS, threads=STUDENTS, script=script, timeout="10s")
    return result, result.requests - result.non_2xx


def run(seconds: int = 10) -> str:
    dbname = create_database(PG_URL, "mc_bench_exam_")
    admin_url = with_database(PG_URL, dbname)
    namespace = f"b{uuid.uuid4().hex[:8]}"
    key = SigningKey.generate()
    jwks = JwksServer(key)
    procs: list[subprocess.Popen] = []
    results: dict[str, tuple[wrk.WrkResult, int, int]] = {}  # kind -> (wrk, 2xx replies, rows stored)
    try:
        migrate_all(admin_url)
        common = {"EVENTS_NAMESPACE": namespace, "REDIS_KEY_PREFIX": namespace, "REDIS_URL": REDIS_URL,
                  "NATS_URL": unreachable_nats_url()}  # relays stay idle
        cat_http, cat_grpc = free_port(), free_port()
        procs.append(start_service("cat", cat_http, {**common, "GRPC_PORT": str(cat_grpc)}))
        exam_http = free_port()
        procs.append(start_service("exam", exam_http, {**common, "GRPC_PORT": str(free_port()), "JWKS_URL": jwks.url,
                                                       "DATABASE_URL": with_database(PG_URL, dbname, "mc_exam_app"),
                                                       "GRPC_PEERS": json.dumps({"cat": f"127.0.0.1:{cat_grpc}"})}))
        org = uuid.uuid4()

        def token(role: str) -> tuple[str, dict[str, str]]:
            tok = issue_access_token(key, user_id=uuid.uuid4(), zone_id=ZONE_ID, org_id=org, role=role)[0]
            return tok, {"Authorization": f"Bearer {tok}", "Host": HOST}

        direct = httpx.Client(base_url=f"http://127.0.0.1:{exam_http}", timeout=60)
        _, teacher = token("teacher")
        bank = direct.post("/api/v1/items/banks", headers=teacher, json={"name": "bench"}).json()
        rep = direct.post(f"/api/v1/items/imports?bank_id={bank['id']}", headers=teacher,
                          files={"file": ("bank.csv", _bank_csv(BANK_ITEMS))}).json()
        assert rep["created_rows"] == BANK_ITEMS, rep
        item_ids = [i["id"] for page in [direct.get(f"/api/v1/items?bank_id={bank['id']}&limit=500",
                                                    headers=teacher).json()] for i in page["items"]]
        exams = {}
        for mode in ("fixed", "adaptive"):
            body = {"title": f"bench {mode}", "kind": mode, "item_bank_id": bank["id"], "time_limit_seconds": 7200}
            if mode == "fixed":
                body["item_ids"] = item_ids
            else:
                body["cat_settings"] = {"min_items": ADAPTIVE_LENGTH, "max_items": ADAPTIVE_LENGTH}
            ex = direct.post("/api/v1/exams", headers=teacher, json=body).json()
            exams[mode] = direct.post(f"/api/v1/exams/{ex['id']}/publish", headers=teacher).json()

        def students(mode: str) -> list[dict]:
            out = []
            for _ in range(STUDENTS):
                tok, hdrs = token("student")
                att = direct.post(f"/api/v1/exams/{exams[mode]['id']}/start", headers=hdrs)
                assert att.status_code == 201, att.text
                a = att.json()
                out.append({"attempt": a["id"], "token": tok, "first": a["current_item"]["id"],
                            "items": a["pending_item_ids"] if mode == "fixed" else []})
            return out

        def stored(attempts: list[str]) -> int:
            with psycopg.connect(plain(admin_url)) as conn:
                return conn.execute("SELECT count(*) FROM exam.responses WHERE attempt_id = ANY(%s)",
                                    ([uuid.UUID(a) for a in attempts],)).fetchone()[0]

        with tempfile.TemporaryDirectory() as tmp, local_edge({"exam": f"127.0.0.1:{exam_http}"}) as edge:
            _wrk(edge.url, _lua(students("fixed"), "fixed", Path(tmp)), 2)  # warm-up, not reported
            for mode in ("fixed", "adaptive"):
                group = students(mode)
                res, acked = _wrk(edge.url, _lua(group, mode, Path(tmp)), seconds)
                results[mode] = (res, acked, stored([s["attempt"] for s in group]))
        direct.close()
    finally:
        stop(*procs)
        jwks.close()
        drop_database(PG_URL, dbname)
        purge_redis(namespace)
    return _report(results, seconds)


def _report(results: dict[str, tuple[wrk.WrkResult, int, int]], seconds: int) -> str:
    rows = []
    for mode, (r, acked, n_stored) in results.items():
        what = "fixed form (500 items)" if mode == "fixed" else f"adaptive ({ADAPTIVE_LENGTH} items, CAT over gRPC)"
        rows.append(f"| {what} | {r.requests_per_s:,.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {acked:,} | {n_stored:,} | "
                    f"{r.non_2xx} | {r.errors} |")
    table = "\n".join(rows)
    return f"""## Exam: submit-response throughput through the edge (issue: exam and CAT services)

`POST /api/v1/attempts/{{id}}/responses` through the local edge (Traefik, rate limits off) with `Host: {HOST}`:
{STUDENTS} concurrent students (wrk, {STUDENTS} threads × 1 connection, each student answering its own attempt's
current item as soon as the last answer is acknowledged), {seconds} s per exam kind after a 2 s warm-up. One exam
process (uvicorn, 10+10 DB connections), one CAT process, PostgreSQL and Redis on the same
{os.cpu_count()}-core machine as Traefik and wrk. Every acknowledged response is a committed row (token verified,
attempt row locked, response scored and inserted, attempt updated); adaptive answers then go to CAT
(SubmitResponses + NextItem) and the next item is stored before the reply.

| exam | responses/s | p50 ms | p99 ms | 2xx replies | rows stored | non-2xx | socket errors |
|---|---|---|---|---|---|---|---|
{table}

"rows stored" is counted in PostgreSQL after the run; it is at least the 2xx replies wrk counted (the
difference, at most one per student, is requests in flight when wrk stopped): nothing acknowledged was lost.
"""


if __name__ == "__main__":
    print(run(int(sys.argv[1]) if len(sys.argv) > 1 else 10))
