"""K-Zone pages in a real browser on the kzone zone (app.my-ktube.com) through the real edge:
a student uploads a short spoken WAV (espeak-ng) in the studio, sees the upload bar finish, the
job's progress reach done (SSE from kzone's shared progress router) and the transcript with its
pronunciation score, all from the real inference service on the CPU speech model. The tutor
page is tested in its failure state: inference runs without its LLM here (loading the CPU LLM
would make this test minutes long), so kzone answers `503 dependency.inference_unavailable`
and the page must say the tutor is unavailable.

The lead's `platform` fixture starts neither kzone nor inference: this module has its own
(auth, tenant, kzone, inference with `models="stt"`, web and the edge), same shape as
conftest's `Platform`, so sign_in/axe_check/shot work unchanged."""
from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from gateway.local_edge import EdgeConfig, LocalEdge, free_port
from megacity.db import make_engine, make_sessionmaker
from megacity.testing import TestDatabase, run_service, spoken_wav
from megacity.zones import registry
from services.auth.tests.conftest import FAST_HASH
from services.web.tests.conftest import Platform, axe_check, shot, sign_in
from services.web.tests.seed import Api, Person, Seeder

pytestmark = pytest.mark.slow

ZONE = "kzone"
SENTENCE = "Please open your books and read the first chapter."
# Bounds a hang only (the CPU speech model on a cold start); assertions wait on conditions.
JOB_WAIT_MS = 180_000


@pytest.fixture
async def kzone_platform(test_db: TestDatabase, namespace: str, tmp_path: Path,
                         request: pytest.FixtureRequest) -> AsyncIterator[Platform]:
    """auth, tenant, kzone and inference (speech model only) with web behind the edge, for the
    K-Zone zone; kzone and inference share an object root (fs backend)."""
    auth_http, auth_grpc = free_port(), free_port()
    jwks = f"http://127.0.0.1:{auth_http}/.well-known/jwks.json"
    objects = tmp_path / "objects"
    auth_engine = make_engine(test_db.app_url("auth"), pool_size=1)
    try:
        async with contextlib.AsyncExitStack() as stack:
            tenant = await stack.enter_async_context(run_service(
                "tenant", test_db, namespace, jwks_url=jwks, grpc_peers={"auth": f"127.0.0.1:{auth_grpc}"}))
            auth = await stack.enter_async_context(run_service(
                "auth", test_db, namespace, **FAST_HASH, http_port=auth_http, grpc_port=auth_grpc,
                grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}))
            inference = await stack.enter_async_context(run_service(
                "inference", None, namespace, models=getattr(request, "param", "stt,pose"), object_root=str(objects)))
            kzone = await stack.enter_async_context(run_service(
                "kzone", test_db, namespace, jwks_url=jwks, object_backend="fs", object_root=str(objects),
                secret_key="kzone-test-secret-key", grpc_peers={"inference": f"127.0.0.1:{inference.grpc_port}"}))
            started = {"auth": auth, "tenant": tenant, "kzone": kzone}
            web = await stack.enter_async_context(run_service("web", None, namespace, health_targets={
                name: f"http://127.0.0.1:{rt.http_port}" for name, rt in started.items()}))
            services = {**started, "web": web, "inference": inference}
            cfg = EdgeConfig(listen_port=free_port(), upstreams={
                name: f"127.0.0.1:{rt.http_port}" for name, rt in {**started, "web": web}.items()})
            edge = stack.enter_context(LocalEdge(cfg, tmp_path / "edge"))
            client = await stack.enter_async_context(httpx.AsyncClient(
                base_url=edge.url, timeout=60, limits=httpx.Limits(keepalive_expiry=2.0)))
            api = Api(client, f"api.{registry().zone(ZONE).domains[0]}")
            seeder = Seeder(api, make_sessionmaker(auth_engine), auth.app.state.auth.hasher, ZONE)
            plat = Platform(edge=edge, api=api, seed=seeder, services=services, db=test_db, zone_key=ZONE)
            yield plat
            for page in plat.pages:
                with contextlib.suppress(Exception):
                    await page.context.close()
    finally:
        await auth_engine.dispose()


async def kzone_student(plat: Platform) -> Person:
    """A K-Zone org (made by the zone admin) with one student member, signed in: K-Zone jobs need
    a token scoped to an org (`kzone.org_required`) with the student role (`kzone:job_create`)."""
    api, tag = plat.api, uuid.uuid4().hex[:6]
    zone = await plat.seed.zone_admin()
    org = (await api.ok("POST", "/api/v1/orgs", zone.token, 201, json={"name": f"K-Pop Academy {tag}"}))["id"]
    student = await api.register(f"learner-{tag}@ktube.example", "Learner Choi")
    await api.ok("POST", f"/api/v1/orgs/{org}/members", zone.token, 201, json={"email": student.email, "role": "student"})
    return await plat.seed.login(student)


async def test_student_uploads_a_recording_and_a_photo_and_sees_the_results_and_the_tutor_is_unavailable(
        kzone_platform: Platform, browser: Browser, tmp_path: Path) -> None:
    plat = kzone_platform
    student = await kzone_student(plat)
    wav = tmp_path / "reading.wav"
    spoken_wav(SENTENCE, wav)
    import cv2  # requirements-ml.txt (scripts/setup.sh), as kzone's own e2e test
    from skimage import data
    photo = tmp_path / "astronaut.jpg"
    assert cv2.imwrite(str(photo), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))

    page = await plat.page(browser)
    # Straight to the page (?next=): no race with the role home's client-side redirect.
    await sign_in(page, plat, student.email, next_url=plat.url("app", "/kzone", zone=ZONE))
    await page.wait_for_url(re.compile(r"/kzone$"))
    await expect(page.locator("h1")).to_have_text("K-Zone studio")
    await expect(page.locator("#voice-fields")).to_be_visible()
    await axe_check(page)
    await shot(page, "kzone-studio")

    await page.locator("#media-file").set_input_files(str(wav))
    await page.locator("#reference-text").fill(SENTENCE)
    await page.locator("#feedback").uncheck()  # written feedback needs the LLM; this inference has none
    await page.locator("#studio-start").click()

    await expect(page.locator("#upload-text")).to_have_text("Uploaded.")
    await expect(page.locator("#upload-bar")).to_have_attribute("value", "100")
    await expect(page.locator("#job-text")).to_have_text("Done.", timeout=JOB_WAIT_MS)
    await expect(page.locator("#job-bar")).to_have_attribute("value", "100")
    await expect(page.locator("#voice-result")).to_be_visible()
    transcript = page.locator("#r-transcript")
    await expect(transcript).to_contain_text("books", ignore_case=True)
    await expect(transcript).to_contain_text("chapter", ignore_case=True)
    await expect(page.locator("#r-score")).to_contain_text("/ 100")
    await expect(page.locator("#studio-live")).to_contain_text("Pronunciation score")
    await expect(page.locator("#words tbody tr").first).to_be_visible()
    await axe_check(page)
    await shot(page, "kzone-voice-result")

    # A dance photo: the pose skeleton is drawn over the uploaded picture.
    await page.locator("#kind-pose").check()
    await expect(page.locator("#voice-fields")).to_be_hidden()
    await page.locator("#media-file").set_input_files(str(photo))
    await page.locator("#studio-start").click()
    await expect(page.locator("#job-text")).to_have_text("Done.", timeout=JOB_WAIT_MS)
    await expect(page.locator("#pose-result")).to_be_visible()
    await expect(page.locator("#voice-result")).to_be_hidden()
    await expect(page.locator("#p-posed")).to_have_text("1")
    await expect(page.locator("#pose-canvas")).to_have_attribute("aria-label", re.compile(r"Skeleton .*: \d+ points"))
    await expect(page.locator("#pose-image")).to_be_visible()
    assert await page.locator("#pose-image").evaluate("img => img.naturalWidth") == 512  # skimage's astronaut
    await axe_check(page)
    await shot(page, "kzone-pose-result")

    await page.goto(plat.url("app", "/kzone/tutor", zone=ZONE))
    await expect(page.locator("h1")).to_have_text("Ask the tutor")
    await axe_check(page)
    await page.locator("#question").fill("How do I say thank you politely in Korean?")
    await page.locator("#tutor-ask").click()
    await expect(page.locator("#tutor-error [role=alert]")).to_contain_text("not available")
    await expect(page.locator("#tutor-ask")).to_be_enabled()
    await axe_check(page)
    await shot(page, "kzone-tutor-unavailable")


@pytest.mark.parametrize("kzone_platform", ["llm"], indirect=True)
async def test_student_asks_the_tutor_and_reads_the_streamed_answer(kzone_platform: Platform, browser: Browser) -> None:
    plat = kzone_platform
    student = await kzone_student(plat)
    page = await plat.page(browser)
    await sign_in(page, plat, student.email, next_url=plat.url("app", "/kzone/tutor", zone=ZONE))
    await page.wait_for_url(re.compile(r"/kzone/tutor$"))
    await page.locator("#question").fill("How do I say thank you politely in Korean?")
    await page.locator("#context").fill("감사합니다 and 고마워 both mean thank you.")
    await page.locator("#tutor-ask").click()
    await expect(page.locator("#answer")).to_have_attribute("aria-live", "polite")
    await expect(page.locator("#answer-status")).to_have_text(
        re.compile("Answer complete|cut short"), timeout=JOB_WAIT_MS)
    await expect(page.locator("#answer")).not_to_be_empty()
    await expect(page.locator("#tutor-error")).to_be_empty()
    await axe_check(page)
    await shot(page, "kzone-tutor-answer")
