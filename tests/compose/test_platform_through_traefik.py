"""The platform in containers, driven only through Traefik's published HTTPS port with a zone's
Host (api.my-ktube.com): register -> login -> an adaptive exam (exam asks CAT over gRPC) -> the
exam's event (Prometheus sees it published) -> a voice job through kzone, NATS and inference
(a sentence spoken by espeak-ng, transcribed by whisper-base) -> one trace id across Traefik,
exam, tenant and kzone at the OTLP receiver. Run by `make compose-test`."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from megacity.testing import spoken_wav
from tests.compose.conftest import ZONE_HOST, Stack, World, wait_until

SENTENCE = "Please open your books and read the first chapter about the history of music."


def logistic_item(code: str, b: float, a: float) -> dict[str, Any]:
    return {"code": code, "stem": f"Question {code}", "content_area": "algebra", "answer_key": "B",
            "options": [{"key": k, "text": f"option {k}"} for k in "ABCD"], "model": "logistic",
            "a": a, "b": b, "c": 0.0, "enemy_tags": []}


def test_edge_redirects_http_and_answers_unknown_hosts(stack: Stack) -> None:
    plain = httpx.get(f"http://127.0.0.1:{stack.env['EDGE_HTTP_PORT']}/api/v1/zone", headers={"Host": ZONE_HOST},
                      follow_redirects=False, timeout=10)
    assert plain.status_code in (301, 308) and plain.headers["location"].startswith(f"https://{ZONE_HOST}")
    zone = stack.ok("GET", "/api/v1/zone")
    assert zone["key"] == "kzone"
    unknown = stack.call("GET", "/api/v1/zone", host="api.unknown.example")
    assert unknown.status_code == 404 and unknown.json()["code"] == "edge.unknown_host"


def test_login_returns_org_scoped_tokens(stack: Stack, world: World) -> None:
    me = stack.ok("GET", "/api/v1/users/me", world.student.token)
    assert me["role"] == "student" and me["org_id"] == world.org_id
    assert stack.ok("GET", "/api/v1/users/me", world.teacher.token)["role"] == "teacher"


def test_adaptive_exam_over_cat_and_its_event(stack: Stack, world: World) -> None:
    teacher, student = world.teacher.token, world.student.token
    bank = stack.ok("POST", "/api/v1/items/banks", teacher, 201, json={"name": "Compose placement"})
    items = {}
    for k in range(12):
        item = stack.ok("POST", "/api/v1/items", teacher, 201,
                        json={"bank_id": bank["id"], **logistic_item(f"C{k:02d}", -2 + 4 * k / 11, 1.0 + (k % 3) * 0.4)})
        items[item["id"]] = item
    exam = stack.ok("POST", "/api/v1/exams", teacher, 201, json={
        "title": "Placement", "kind": "adaptive", "item_bank_id": bank["id"], "time_limit_seconds": 1200,
        "cat_settings": {"min_items": 5, "max_items": 5}})
    published = stack.call("POST", f"/api/v1/exams/{exam['id']}/publish", teacher)
    assert published.status_code == 200, published.text
    assert published.headers["x-served-by"] == "exam" and published.headers["x-zone"] == "kzone"

    # The student's attempt: every next item is CAT's choice (exam -> cat over gRPC).
    attempt = stack.ok("POST", f"/api/v1/exams/{exam['id']}/start", student, 201)
    current, answered = attempt["current_item"], 0
    while current is not None:
        item = items[current["id"]]
        ack = stack.ok("POST", f"/api/v1/attempts/{attempt['id']}/responses", student, 201,
                       json={"item_id": item["id"], "answer": "B" if item["b"] < 0 else "A"})
        current, answered = ack["next_item"], answered + 1
    assert ack["status"] == "completed" and ack["answered"] == 5 == answered
    assert isinstance(ack["result"]["theta"], float)
    # The student's own report (a teacher reads it only once assigned to the student's class:
    # services/exam/tests/test_teacher_scope.py).
    report = stack.ok("GET", f"/api/v1/students/{world.student.user_id}/reports", student)
    assert [a["attempt_id"] for a in report["attempts"]] == [attempt["id"]]

    # exam's outbox relay published exam.attempt.completed to JetStream; Prometheus scraped it.
    query = 'sum(mc_events_published_total{service="exam",event_type="exam.attempt.completed"})'

    def published_count() -> float:
        result = stack.local("PROMETHEUS_PORT", f"/api/v1/query?query={query}").json()["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0

    assert wait_until("exam.attempt.completed in Prometheus", published_count, timeout=90, interval=3) >= 1


def test_uploaded_media_gets_a_presigned_url_that_works(stack: Stack, world: World, tmp_path: Path) -> None:
    """kzone stores in S3 (minio:9000 inside) and presigns with the public address, which answers."""
    audio = spoken_wav(SENTENCE, tmp_path / "sentence.wav")
    media = stack.ok("POST", "/api/v1/kzone/uploads", world.teacher.token, 201,
                     files={"file": ("lesson.wav", audio, "audio/wav")})
    assert media["sha256"] == hashlib.sha256(audio).hexdigest()
    public = urlsplit(stack.env["S3_PUBLIC_URL"])
    url = urlsplit(media["url"])
    assert (url.scheme, url.netloc) == (public.scheme, public.netloc), media["url"]
    download = httpx.get(media["url"], timeout=30)
    assert download.status_code == 200 and download.content == audio
    assert httpx.get(media["url"].split("?")[0], timeout=30).status_code == 403  # unsigned: refused


def test_voice_job_through_kzone_and_inference(stack: Stack, world: World, tmp_path: Path) -> None:
    speech = spoken_wav(SENTENCE, tmp_path / "sentence.wav")
    accepted = stack.ok("POST", "/api/v1/kzone/voice/analyze", world.student.token, 202,
                        data={"reference_text": SENTENCE, "language": "en", "feedback": "false"},
                        files={"audio": ("sentence.wav", speech, "audio/wav")})
    job_id = accepted["job_id"]

    def finished() -> dict[str, Any] | None:
        state = stack.ok("GET", f"/api/v1/jobs/{job_id}/progress", world.student.token)
        return state if state.get("status") in ("succeeded", "failed") else None

    state = wait_until("voice job finished", finished, timeout=300, interval=2)
    assert state["status"] == "succeeded", state
    result = stack.ok("GET", f"/api/v1/kzone/jobs/{job_id}/result", world.student.token)["result"]
    transcript = result["transcript"].lower()
    assert "books" in transcript and "music" in transcript, transcript
    assert result["pronunciation_score"] >= 60


def test_one_trace_across_the_services_at_the_otlp_receiver(stack: Stack) -> None:
    probe = stack.ok("POST", "/api/v1/diagnostics/probe", status=201, json={"note": "compose trace"})
    assert probe["entry_service"] == "exam" and probe["recorded_by"] == "tenant"
    receipt = wait_until("probe event at kzone", lambda: (
        r.json() if (r := stack.call("GET", f"/api/v1/kzone/mesh-probes/{probe['probe_id']}")).status_code == 200
        else None), timeout=60)
    assert receipt["entry_service"] == "exam"

    kinds_needed = {("traefik", "server"), ("exam", "server"), ("exam", "client"), ("tenant", "server"),
                    ("tenant", "producer"), ("kzone", "consumer")}

    def trace() -> dict[str, Any] | None:
        resp = stack.local("JAEGER_UI_PORT", f"/api/traces/{probe['trace_id']}")
        if resp.status_code != 200:
            return None
        data = resp.json()["data"][0]
        seen = {(data["processes"][s["processID"]]["serviceName"],
                 next(t["value"] for t in s["tags"] if t["key"] == "span.kind")) for s in data["spans"]}
        return data if kinds_needed <= seen else None

    data = wait_until("every service's spans under one trace id", trace, timeout=60, interval=2)
    spans = {s["spanID"]: s for s in data["spans"]}
    roots = [s for s in spans.values() if not any(r["spanID"] in spans for r in s["references"])]
    assert len(roots) == 1 and data["processes"][roots[0]["processID"]]["serviceName"] == "traefik", roots
