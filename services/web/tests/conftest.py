"""The page tests' platform: auth, tenant, exam, CAT, classroom, arena and web behind the real
Traefik edge (LocalEdge, HTTPS with its self-signed certificate, so auth's Secure refresh cookie
works as in production), and Debian's chromium driven by Playwright with the zones' host names
resolved to this machine. axe-core (npm) is injected into pages to check accessibility.

The services relay their outboxes and run their event consumers on the test's NATS namespace as
in production; a test module that reads the platform audit sets `AUDIT_PIPELINE = True` to get
`platform.audit`, which watches that pipeline so the test can wait until records arrived."""
from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx
import pyotp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from gateway.local_edge import EdgeConfig, LocalEdge, free_port
from megacity.db import make_engine, make_sessionmaker
from megacity.events.outbox import qualified
from megacity.events.streams import AUDIT_PREFIX, dlq_stream, events_stream
from megacity.runtime import ServiceRuntime
from megacity.testing import NATS_URL, TestDatabase, run_service, superuser_sql
from megacity.zones import registry
from services.auth.tests.conftest import FAST_HASH
from services.web.tests.seed import PASSWORD, Api, Seeder

if TYPE_CHECKING:
    from nats.js import JetStreamContext
    from sqlalchemy.ext.asyncio import AsyncEngine

REPO = Path(__file__).resolve().parents[3]
ZONE_KEY = "univ"
ARTIFACTS = REPO / "test-artifacts" / "web"
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
DEAD_PEER = "127.0.0.1:9"  # inference: arena stores questions with their embedding pending
# Bounds a hang only; assertions wait on conditions, never on time.
WAIT_MS = 20_000
AUDIT_CONSUMER = "auth-audit"  # auth's durable consumer of every service's audit records


def chromium_path() -> str:
    """Debian's chromium (scripts/setup.sh installs it); MEGACITY_CHROMIUM overrides."""
    path = os.environ.get("MEGACITY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    assert Path(path).exists(), "chromium is missing: run scripts/setup.sh (Debian package chromium)"
    return path


@dataclass
class AuditPipeline:
    """The platform audit as the running services carry it: each service's outbox → its relay →
    NATS JetStream (this test's namespace) → auth's `auth-audit` consumer → auth.platform_audit,
    which `GET /api/v1/audit` reads. Watched past RLS (the database superuser) and on JetStream,
    so a test waits for records to arrive instead of for time to pass."""

    truth: AsyncEngine
    js: JetStreamContext
    namespace: str

    async def counts(self) -> tuple[int, int, int]:
        """(audit records written to the outboxes, published by the relays, stored by auth)."""
        schemas = [r.table_schema for r in await superuser_sql(
            self.truth, "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox'"
                        " ORDER BY table_schema")]
        written = " UNION ALL ".join(
            f"SELECT event_id, published_at FROM {qualified(schema, 'outbox')} WHERE event_type LIKE :audit"
            for schema in schemas)
        [row] = await superuser_sql(
            self.truth, "SELECT count(*) AS written, count(o.published_at) AS published, count(p.id) AS stored"
                        f" FROM ({written}) AS o LEFT JOIN auth.platform_audit AS p ON p.id = o.event_id",
            audit=f"{AUDIT_PREFIX}.%")
        return row.written, row.published, row.stored

    async def dead_letters(self) -> dict[str, int]:
        """Audit records the consumer gave up on (dead-letter subject -> count)."""
        from nats.js.errors import NotFoundError

        try:
            info = await self.js.stream_info(dlq_stream(self.namespace),
                                             subjects_filter=f"{self.namespace}.dlq.{AUDIT_PREFIX}.>")
        except NotFoundError:  # no service has made the streams yet
            return {}
        return dict(info.state.subjects or {})

    async def settled(self) -> int:
        """Wait until every audit record the services have written so far is published and
        stored, with nothing left pending on the consumer; the number of records. Fails at once
        on a dead-lettered record (with its subject), or after a bound if the pipeline stalls."""
        from nats.js.errors import NotFoundError

        deadline = time.monotonic() + 3 * WAIT_MS / 1000  # bounds a hang only
        while True:
            assert not (dead := await self.dead_letters()), f"audit records dead-lettered: {dead}"
            written, published, stored = await self.counts()
            pending = None
            if written == published == stored:
                try:
                    info = await self.js.consumer_info(events_stream(self.namespace), AUDIT_CONSUMER)
                    pending = info.num_pending + info.num_ack_pending
                except NotFoundError:  # auth has not bound its consumer yet
                    pending = None
                if pending == 0:
                    return stored
            assert time.monotonic() < deadline, (
                f"audit pipeline stalled: written={written} published={published} stored={stored} pending={pending}")
            await asyncio.sleep(0.1)


@dataclass
class Platform:
    edge: LocalEdge
    api: Api
    seed: Seeder
    services: dict[str, ServiceRuntime]
    db: TestDatabase
    zone_key: str = ZONE_KEY
    pages: list[Page] = field(default_factory=list)
    audit: AuditPipeline | None = None  # a test module's AUDIT_PIPELINE = True

    @property
    def zone_id(self) -> int:
        return registry().zone(self.zone_key).id

    @property
    def domain(self) -> str:
        return registry().zone(self.zone_key).domains[0]

    def url(self, kind: str, path: str = "/", zone: str | None = None) -> str:
        domain = registry().zone(zone).domains[0] if zone else self.domain
        return f"https://{kind}.{domain}:{self.edge.tls_port}{path}"

    async def ok(self, method: str, path: str, token: str | None = None, status: int = 200, **kw: Any) -> Any:
        return await self.api.ok(method, path, token, status, **kw)

    async def page(self, browser: Browser, lang: str = "en") -> Page:
        """A new browser context (its own cookies: one person) and page. Uncaught page errors and
        CSP refusals are collected on `page.problems` (axe_check asserts there are none)."""
        context: BrowserContext = await browser.new_context(
            ignore_https_errors=True, locale="ko-KR" if lang == "ko" else "en-US",
            extra_http_headers={"Accept-Language": "ko" if lang == "ko" else "en"}, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(WAIT_MS)
        page = await context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text else None)
        page.problems = problems  # type: ignore[attr-defined]
        self.pages.append(page)
        return page


@pytest.fixture
async def platform(test_db: TestDatabase, namespace: str, tmp_path: Path, request: pytest.FixtureRequest
                   ) -> AsyncIterator[Platform]:
    """The platform behind the edge. Arena settings: `@pytest.mark.parametrize("arena_overrides",
    [{...}], indirect=True)` or a test module's `ARENA_OVERRIDES` dict. A test module's
    `AUDIT_PIPELINE = True` adds `platform.audit` (a superuser engine and a NATS connection that
    watch the audit pipeline); other tests open neither."""
    arena_overrides = {"upkeep_interval_seconds": 3600.0, **getattr(request.module, "ARENA_OVERRIDES", {})}
    auth_http, auth_grpc = free_port(), free_port()
    jwks = f"http://127.0.0.1:{auth_http}/.well-known/jwks.json"
    auth_engine = make_engine(test_db.app_url("auth"), pool_size=1)
    try:
        async with contextlib.AsyncExitStack() as stack:
            tenant = await stack.enter_async_context(run_service(
                "tenant", test_db, namespace, jwks_url=jwks, grpc_peers={"auth": f"127.0.0.1:{auth_grpc}"}))
            auth = await stack.enter_async_context(run_service(
                "auth", test_db, namespace, **FAST_HASH, http_port=auth_http, grpc_port=auth_grpc,
                grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}))
            cat = await stack.enter_async_context(run_service("cat", None, namespace))
            tenant_peer = f"127.0.0.1:{tenant.grpc_port}"
            exam = await stack.enter_async_context(run_service(
                "exam", test_db, namespace, expiry_sweep_seconds=3600, jwks_url=jwks, grpc_peers={
                    "tenant": tenant_peer, "cat": f"127.0.0.1:{cat.grpc_port}", "auth": f"127.0.0.1:{auth_grpc}"}))
            classroom = await stack.enter_async_context(run_service(
                "classroom", test_db, namespace, jwks_url=jwks, secret_key="classroom-test-secret-key",
                grpc_peers={"tenant": tenant_peer}))
            arena = await stack.enter_async_context(run_service(
                "arena", test_db, namespace, jwks_url=jwks, grpc_peers={"inference": DEAD_PEER, "tenant": tenant_peer},
                **arena_overrides))
            started = {"auth": auth, "tenant": tenant, "exam": exam, "classroom": classroom, "arena": arena,
                       "cat": cat}
            # Services not started here answer from a dead address, never from whatever holds their
            # registry port on this machine (a `make run` beside the tests).
            targets = {name: "http://127.0.0.1:9" for name in registry().services if name != "web"}
            targets.update({name: f"http://127.0.0.1:{rt.http_port}" for name, rt in started.items()})
            web = await stack.enter_async_context(run_service("web", None, namespace, health_targets=targets))
            services = {**started, "web": web}
            cfg = EdgeConfig(listen_port=free_port(), upstreams={
                name: f"127.0.0.1:{rt.http_port}" for name, rt in services.items() if name != "cat"})
            edge = stack.enter_context(LocalEdge(cfg, tmp_path / "edge"))
            client = await stack.enter_async_context(httpx.AsyncClient(
                base_url=edge.url, timeout=60, limits=httpx.Limits(keepalive_expiry=2.0)))
            api = Api(client, f"api.{registry().zone(ZONE_KEY).domains[0]}")
            seeder = Seeder(api, make_sessionmaker(auth_engine), auth.app.state.auth.hasher, ZONE_KEY)
            plat = Platform(edge=edge, api=api, seed=seeder, services=services, db=test_db)
            if getattr(request.module, "AUDIT_PIPELINE", False):
                plat.audit = await stack.enter_async_context(_audit_pipeline(test_db, namespace))
            yield plat
            for page in plat.pages:
                with contextlib.suppress(Exception):
                    await page.context.close()
            await tenant.app.state.roster_imports.wait_idle(timeout=30)
    finally:
        await auth_engine.dispose()


@contextlib.asynccontextmanager
async def _audit_pipeline(test_db: TestDatabase, namespace: str) -> AsyncIterator[AuditPipeline]:
    import nats

    truth = test_db.superuser_engine()
    nc = await nats.connect(NATS_URL)
    try:
        yield AuditPipeline(truth, nc.jetstream(), namespace)
    finally:
        await nc.close()
        await truth.dispose()


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    domains = [d for z in registry().zones for d in z.domains]
    rules = ", ".join(f"MAP *.{d} 127.0.0.1" for d in domains)
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=[f"--host-resolver-rules={rules}", "--no-sandbox"])
        try:
            yield b
        finally:
            await b.close()


def totp_code(secret: str) -> str:
    """The code of the NEXT 30 s step (auth accepts ±1 step): auth accepts each step once per
    user, and the seeder's own login may have spent the current one. A second browser sign-in by
    the same admin in one test would need to wait for the step after."""
    return str(pyotp.TOTP(secret).at(time.time() + 30))


async def sign_in(page: Page, platform: Platform, email: str, password: str = PASSWORD,
                  totp_secret: str | None = None, next_url: str | None = None) -> None:
    """Drives www /signin (and its TOTP step); returns once the browser has left the sign-in page."""
    query = f"?next={quote(next_url, safe='')}" if next_url else ""
    await page.goto(platform.url("www", f"/signin{query}"))
    await page.locator("#email").fill(email)
    await page.locator("#password").fill(password)
    await page.locator("#signin-form button[type=submit]").click()
    if totp_secret is not None:
        await page.locator("#totp-code").wait_for(state="visible")
        await page.locator("#totp-code").fill(totp_code(totp_secret))
        await page.locator("#totp-form button[type=submit]").click()
    await page.wait_for_url(lambda url: "/signin" not in url, timeout=WAIT_MS)
    # app's home sends each role on to its pages: let that settle before the caller navigates.
    await page.wait_for_load_state("networkidle")


async def axe_check(page: Page, *, allow: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core on the page as it is now: 0 serious or critical violations (rule ids in `allow`
    excepted, each needing a reason at the call site). Also: no uncaught page error and no CSP
    refusal since the page opened. Returns every violation (minor/moderate included)."""
    assert AXE.exists(), "axe-core is missing: run scripts/setup.sh (npm ci)"
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())  # evaluated by the driver: the page's CSP does not apply
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    violations: list[dict[str, Any]] = result["violations"]
    bad = [(v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:5])
           for v in violations if v["impact"] in ("serious", "critical") and v["id"] not in allow]
    assert not bad, f"axe on {page.url}: {bad}"
    problems = getattr(page, "problems", [])
    assert not problems, f"{page.url}: {problems}"
    return violations


async def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under test-artifacts/web/ (kept by CI as the journeys' record)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
