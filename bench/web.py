"""Web frontends (issue #16): Lighthouse scores of three pages, server-rendered page latency
through the edge, and the JavaScript each page shell ships.

The platform runs as services/web/tests/conftest.py's `platform` fixture runs it (auth, tenant,
exam, cat, classroom and arena in this process on a throwaway migrated database, the real
Traefik edge with its HTTPS port and self-signed certificate), except that web runs as its own
process (`python -m services.web`), so the latency figures are of web alone and the load
generator shares no interpreter with it. The edge's rate limits are off (one client on one
address would measure the limiter, as in the other benches).

1. Lighthouse 12 (node_modules/.bin/lighthouse, Node) against Debian's chromium, which this bench
   launches itself (headless, remote debugging, the zone's host names mapped to 127.0.0.1,
   certificate errors ignored: the edge's certificate is Traefik's self-signed one). People
   sign in through the real www /signin page (Playwright over CDP in chromium's default browser
   context), so the tab Lighthouse opens shares auth's refresh cookie and the page signs itself
   in as it would for that person. Lighthouse's default run: mobile emulation, simulated
   throttling, a cold cache (it clears the HTTP cache, never cookies); the desktop preset too.
2. GET of the pages' HTML through the edge (HTTPS, keep-alive) with wrk, one connection, after a
   warm-up: p50 / p99.
3. For every page shell the web service has (its page routes; path parameters filled with seeded
   ids): the page's script tags and everything they import statically, recursively, fetched
   through the edge with `Accept-Encoding: gzip` and counted as the bytes on the wire.

`python -m bench web`; `python -m bench.web` prints the section without touching REPORT.md.
"""
from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from bench import wrk
from bench.common import ROOT, create_database, drop_database, free_port, purge_nats, purge_redis, start_service, stop

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
ZONE_KEY = "univ"
CATEGORIES = ("performance", "accessibility", "best-practices")
GOALS = {"performance": 90, "accessibility": 95, "best-practices": 95}
P99_GOAL_MS = 30.0
JS_GOAL_KB = 60.0
WARMUP_S, MEASURE_S, ROUNDS = 2, 4, 3
LIGHTHOUSE_TIMEOUT_S = 180
LH_RUNS = 3
WAIT_MS = 20_000
# Lighthouse's "presets": its default run (mobile, simulated slow 4G and 4x CPU slowdown) and desktop.
PRESETS: tuple[tuple[str, list[str]], ...] = (("mobile", []), ("desktop", ["--preset=desktop"]))


@dataclass
class Seeded:
    school: Any  # services.web.tests.seed.School
    exam_id: str  # a published adaptive exam of the school's class
    attempt_id: str  # students[0]'s attempt in progress on it (the take page resumes it)
    scored: int  # attempts submitted by the other students (the dashboard's data)


@dataclass
class Env:
    edge: Any  # gateway.local_edge.LocalEdge
    domain: str
    web_pid: int
    seeded: Seeded
    tmp: Path

    def host(self, kind: str) -> str:
        return f"{kind}.{self.domain}:{self.edge.tls_port}"

    def url(self, kind: str, path: str) -> str:
        return f"https://{self.host(kind)}{path}"


@dataclass
class PageRun:
    name: str
    kind: str
    path: str
    who: str  # "anonymous" | "student" | "teacher"
    status: int | None = None  # HTML GET through the edge
    scores: dict[str, dict[str, int | None]] = field(default_factory=dict)  # preset -> category -> 0..100
    failing: dict[str, list[str]] = field(default_factory=dict)  # "preset category" -> audit lines
    errors: list[str] = field(default_factory=list)
    latency: list[wrk.WrkResult] = field(default_factory=list)  # one per round
    redirected: dict[str, str] = field(default_factory=dict)  # preset -> path the run ended on instead
    perf_runs: dict[str, list[int]] = field(default_factory=dict)  # preset -> performance score of each run
    shifts: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # viewport -> (element, shift)
    audit_errors: dict[str, str] = field(default_factory=dict)  # audit id -> Lighthouse's error (any run)

    def note(self, line: str) -> None:
        if line not in self.errors:
            self.errors.append(line)


@dataclass
class JsPage:
    kind: str
    template: str  # the route's path, parameters unfilled
    path: str
    status: int
    files: list[tuple[str, int, int, int]] = field(default_factory=list)  # (url path, status, wire bytes, raw bytes)
    dynamic: list[str] = field(default_factory=list)  # import("...") specifiers (not counted)

    @property
    def wire(self) -> int:
        return sum(w for _, _, w, _ in self.files)

    @property
    def raw(self) -> int:
        return sum(r for _, _, _, r in self.files)

    @property
    def broken(self) -> list[str]:
        return [f"{p} ({s})" for p, s, _, _ in self.files if s != 200]


# --- the platform ---------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def platform(tmp: Path) -> AsyncIterator[Env]:
    """conftest's `platform`: the services on a migrated throwaway database behind the edge,
    seeded with a school, a published adaptive exam, one attempt in progress and scored ones."""
    from gateway.local_edge import EdgeConfig, LocalEdge
    from megacity.db import make_engine, make_sessionmaker
    from megacity.db.migrations import migrate_all
    from megacity.testing import PG_URL, TestDatabase, db_url, run_service
    from megacity.zones import registry
    from services.auth.tests.conftest import FAST_HASH
    from services.web.tests.seed import Api, Seeder

    namespace = f"bweb{uuid.uuid4().hex[:8]}"
    dbname = create_database(PG_URL, "mc_bench_web_")
    web = None
    try:
        migrate_all(db_url(dbname))
        db = TestDatabase(dbname)
        auth_http, auth_grpc = free_port(), free_port()
        jwks = f"http://127.0.0.1:{auth_http}/.well-known/jwks.json"
        auth_engine = make_engine(db.app_url("auth"), pool_size=1)
        try:
            async with contextlib.AsyncExitStack() as stack:
                tenant = await stack.enter_async_context(run_service(
                    "tenant", db, namespace, jwks_url=jwks, grpc_peers={"auth": f"127.0.0.1:{auth_grpc}"},
                    log_level="WARNING"))
                auth = await stack.enter_async_context(run_service(
                    "auth", db, namespace, **FAST_HASH, http_port=auth_http, grpc_port=auth_grpc,
                    grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}, log_level="WARNING"))
                cat = await stack.enter_async_context(run_service("cat", None, namespace, log_level="WARNING"))
                tenant_peer = f"127.0.0.1:{tenant.grpc_port}"
                exam = await stack.enter_async_context(run_service(
                    "exam", db, namespace, expiry_sweep_seconds=3600, jwks_url=jwks, log_level="WARNING",
                    grpc_peers={"tenant": tenant_peer, "cat": f"127.0.0.1:{cat.grpc_port}",
                                "auth": f"127.0.0.1:{auth_grpc}"}))
                classroom = await stack.enter_async_context(run_service(
                    "classroom", db, namespace, jwks_url=jwks, secret_key="classroom-bench-secret-key",
                    grpc_peers={"tenant": tenant_peer}, log_level="WARNING"))
                arena = await stack.enter_async_context(run_service(
                    "arena", db, namespace, jwks_url=jwks, grpc_peers={"inference": "127.0.0.1:9", "tenant": tenant_peer},
                    upkeep_interval_seconds=3600.0, log_level="WARNING"))
                web_port = free_port()
                web = await asyncio.to_thread(start_service, "web", web_port, {
                    "GRPC_PORT": str(free_port()), "EVENTS_NAMESPACE": namespace, "REDIS_KEY_PREFIX": namespace})
                upstreams = {name: f"127.0.0.1:{rt.http_port}" for name, rt in
                             {"auth": auth, "tenant": tenant, "exam": exam, "classroom": classroom, "arena": arena}.items()}
                upstreams["web"] = f"127.0.0.1:{web_port}"
                edge = stack.enter_context(LocalEdge(
                    EdgeConfig(listen_port=free_port(), upstreams=upstreams, rate_limits=False), tmp / "edge"))
                client = await stack.enter_async_context(httpx.AsyncClient(
                    base_url=edge.url, timeout=60, limits=httpx.Limits(keepalive_expiry=2.0)))
                domain = registry().zone(ZONE_KEY).domains[0]
                api = Api(client, f"api.{domain}")
                seeder = Seeder(api, make_sessionmaker(auth_engine), auth.app.state.auth.hasher, ZONE_KEY)
                seeded = await seed(api, seeder)
                yield Env(edge=edge, domain=domain, web_pid=web.pid, seeded=seeded, tmp=tmp)
                with contextlib.suppress(Exception):
                    await tenant.app.state.roster_imports.wait_idle(timeout=30)
        finally:
            await auth_engine.dispose()
    finally:
        if web is not None:
            stop(web)
        drop_database(PG_URL, dbname)
        purge_redis(namespace)
        await asyncio.to_thread(purge_nats, namespace)  # it runs its own event loop


async def seed(api: Any, seeder: Any) -> Seeded:
    """A school of 4 students, a published adaptive exam (5 items), students 1-3 through it (their
    scored attempts feed the dashboard), student 0 started on it (the take page resumes that)."""
    school = await seeder.school(n_students=4)
    exam = await seeder.adaptive_exam(school)
    for n, student in enumerate(school.students[1:]):
        attempt = await api.ok("POST", f"/api/v1/exams/{exam['id']}/start", student.token, 201)
        current, k = attempt["current_item"], 0
        while current is not None:
            right = (k + n) % 3 != 0
            ack = await api.ok("POST", f"/api/v1/attempts/{attempt['id']}/responses", student.token, 201,
                               json={"item_id": current["id"], "answer": "B" if right else "A"})
            current, k = ack["next_item"], k + 1
        await api.ok("POST", f"/api/v1/attempts/{attempt['id']}/submit", student.token)
    started = await api.ok("POST", f"/api/v1/exams/{exam['id']}/start", school.students[0].token, 201)
    return Seeded(school=school, exam_id=str(exam["id"]), attempt_id=str(started["id"]),
                  scored=len(school.students) - 1)


def chromium_path() -> str:
    path = os.environ.get("MEGACITY_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise SystemExit("chromium is missing: run scripts/setup.sh (Debian package chromium)")
    return path


# --- 1. Lighthouse -------------------------------------------------------------------------------

@contextlib.asynccontextmanager
async def chromium(env: Env) -> AsyncIterator[tuple[int, Any]]:
    """Debian's chromium with remote debugging on a free port, and Playwright connected over CDP
    to it: yields (the port, chromium's default browser context)."""
    from playwright.async_api import async_playwright

    from megacity.zones import registry

    rules = ", ".join(f"MAP *.{d} 127.0.0.1" for z in registry().zones for d in z.domains)
    port = free_port()
    profile = env.tmp / "chromium-profile"
    proc = await asyncio.create_subprocess_exec(
        chromium_path(), "--headless=new", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
        "--ignore-certificate-errors", f"--host-resolver-rules={rules}", "--no-sandbox", "--no-first-run",
        "--no-default-browser-check", "--disable-dev-shm-usage", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(timeout=1) as probe:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await probe.get(f"http://127.0.0.1:{port}/json/version")).status_code == 200:
                        break
                if proc.returncode is not None or time.monotonic() > deadline:
                    raise SystemExit(f"chromium did not open its debugging port (rc {proc.returncode})")
                await asyncio.sleep(0.1)
        async with async_playwright() as pw:
            browser = await pw.chromium.connect_over_cdp(f"http://127.0.0.1:{port}")
            context = browser.contexts[0]
            context.set_default_timeout(WAIT_MS)
            yield port, context
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def sign_in(env: Env, context: Any, email: str) -> None:
    """conftest's sign_in: www /signin in chromium's default context, which keeps auth's refresh
    cookie for the tab Lighthouse opens. Signs out whoever was signed in first (cookies cleared)."""
    from services.web.tests.seed import PASSWORD

    await context.clear_cookies()
    page = await context.new_page()
    try:
        await page.goto(env.url("www", "/signin"))
        await page.locator("#email").fill(email)
        await page.locator("#password").fill(PASSWORD)
        await page.locator("#signin-form button[type=submit]").click()
        await page.wait_for_url(lambda url: "/signin" not in url, timeout=WAIT_MS)
        # Let the landing page (and its client-side redirect to the role's home) finish: each page
        # load rotates the refresh token, and a tab closed mid-refresh would leave a spent cookie.
        for _ in range(3):
            url = page.url
            await page.wait_for_load_state("networkidle")
            await asyncio.sleep(0.5)
            if page.url == url:
                break
    finally:
        await page.close()


async def lighthouse_once(env: Env, run: PageRun, port: int, preset: str, flags: list[str], n: int
                          ) -> dict[str, Any] | None:
    """One Lighthouse run; its JSON report is kept under test-artifacts/web/lighthouse/."""
    out = env.tmp / f"lh-{run.name.replace(' ', '-')}-{preset}-{n}.json"
    cmd = [str(LIGHTHOUSE), env.url(run.kind, run.path), f"--port={port}", "--output=json", f"--output-path={out}",
           "--quiet", f"--only-categories={','.join(CATEGORIES)}", *flags]
    proc = await asyncio.create_subprocess_exec(*cmd, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT,
                                                env={**os.environ, "CHROME_PATH": chromium_path()})
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), LIGHTHOUSE_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        run.note(f"{preset}: lighthouse ran past {LIGHTHOUSE_TIMEOUT_S} s")
        return None
    if proc.returncode != 0 or not out.exists():
        tail = output.decode(errors="replace").strip().splitlines()[-3:]
        run.note(f"{preset}: lighthouse exited {proc.returncode}: {' / '.join(tail)}")
        return None
    report: dict[str, Any] = json.loads(out.read_text())
    keep = ROOT / "test-artifacts" / "web" / "lighthouse"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out, keep / out.name)
    if report.get("runtimeError"):
        run.note(f"{preset}: {report['runtimeError'].get('code')}: {report['runtimeError'].get('message')}")
    for warning in report.get("runWarnings", []):
        run.note(f"{preset} warning: {warning}")
    for audit_id, audit in report["audits"].items():
        if audit.get("scoreDisplayMode") == "error":
            run.audit_errors.setdefault(audit_id, (audit.get("errorMessage") or "").split(" at ")[0][:200])
    final = report.get("finalDisplayedUrl") or report.get("finalUrl")
    if final and urlsplit(final).path != urlsplit(env.url(run.kind, run.path)).path:
        run.note(f"{preset}: ended on {urlsplit(final).path} (not the page asked for)")
        run.redirected[preset] = urlsplit(final).path
    return report


async def lighthouse(env: Env, run: PageRun, port: int, preset: str, flags: list[str]) -> None:
    """LH_RUNS runs; the scores and failing audits are the median run's (by performance score,
    as Lighthouse's docs advise for its variance)."""
    reports = [r for n in range(LH_RUNS) if (r := await lighthouse_once(env, run, port, preset, flags, n))]
    if not reports:
        return
    perf = [r["categories"]["performance"]["score"] or 0.0 for r in reports]
    run.perf_runs[preset] = [round(p * 100) for p in perf]
    report = sorted(reports, key=lambda r: r["categories"]["performance"]["score"] or 0.0)[len(reports) // 2]
    run.scores[preset] = {}
    for cat in CATEGORIES:
        score = report["categories"][cat]["score"]
        run.scores[preset][cat] = None if score is None else round(score * 100)
        if score is None or score * 100 < GOALS[cat]:
            run.failing[f"{preset} {cat}"] = failing_audits(report, cat)


# Lighthouse 12.2.3's own `layout-shifts` audit (which elements moved) fails on this chromium
# (its trace engine predates the trace format), so the shifts are read from the page itself.
SHIFT_OBSERVER = r"""
window.__mcShifts = [];
(() => {
  const describe = (node) => {
    let n = node;
    if (n && n.nodeType !== 1) n = n.parentElement;
    if (!n) return "(a node since removed)";
    let d = n.tagName.toLowerCase();
    if (n.id) d += "#" + n.id;
    for (const c of n.classList) d += "." + c;
    return d;
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      window.__mcShifts.push({value: e.value, sources: (e.sources || []).map((s) => describe(s.node))});
    }
  }).observe({type: "layout-shift", buffered: true});
})();
"""
VIEWPORTS = (("mobile", 412, 823), ("desktop", 1350, 940))  # Lighthouse's mobile and desktop screens
VIEWPORT_SIZES = {name: f"{w}×{h}" for name, w, h in VIEWPORTS}


async def layout_shifts(env: Env, context: Any, run: PageRun) -> None:
    """The page's layout shifts (PerformanceObserver, no throttling) at each viewport: each shift's
    value is credited to every element it moved; kept per element, largest first."""
    for name, width, height in VIEWPORTS:
        page = await context.new_page()
        try:
            await page.set_viewport_size({"width": width, "height": height})
            await page.add_init_script(SHIFT_OBSERVER)  # by the driver: the page's CSP does not apply
            await page.goto(env.url(run.kind, run.path), wait_until="networkidle")
            await asyncio.sleep(2)
            entries = await page.evaluate("window.__mcShifts || []")
        except Exception as exc:  # noqa: BLE001 - a diagnostic: report it, keep the bench going
            run.note(f"layout shifts ({name}): {exc!r}"[:200])
            continue
        finally:
            await page.close()
        per: dict[str, float] = {}
        for entry in entries:
            for source in entry["sources"] or ["(no source given)"]:
                per[source] = per.get(source, 0.0) + entry["value"]
        run.shifts[name] = sorted(per.items(), key=lambda kv: -kv[1])


def failing_audits(report: dict[str, Any], cat: str, top: int = 6) -> list[str]:
    """The audits that cost the category most: weighted ones by weight × (1 − score); for
    performance also the opportunities with the largest estimated savings."""
    audits = report["audits"]
    lines: list[tuple[float, str]] = []
    for ref in report["categories"][cat]["auditRefs"]:
        audit = audits.get(ref["id"], {})
        score = audit.get("score")
        if score is None or audit.get("scoreDisplayMode") in ("notApplicable", "informative", "manual"):
            continue
        weight = ref.get("weight", 0)
        if score >= (0.9 if audit.get("scoreDisplayMode") == "numeric" else 1) and not (weight and score < 1):
            continue
        if cat != "performance" and score >= 1:
            continue
        detail = audit.get("displayValue") or ""
        nodes = [item.get("node", {}).get("selector") for item in (audit.get("details") or {}).get("items", [])
                 if isinstance(item, dict) and isinstance(item.get("node"), dict)]
        urls = [urlsplit(item["url"]).path for item in (audit.get("details") or {}).get("items", [])
                if isinstance(item, dict) and isinstance(item.get("url"), str)]
        shown = [n for n in nodes[:2] if n] or urls[:3]
        where = f" — e.g. `{'`, `'.join(shown)}`" if shown else ""
        loss = weight * (1 - score)
        lines.append((loss if weight else -1.0,
                      f"`{ref['id']}` {audit.get('title', '')}"
                      f"{f' ({detail})' if detail else ''}: score {score:.2f}, weight {weight}{where}"))
    if cat == "performance":
        for audit_id, audit in audits.items():
            savings = (audit.get("details") or {}).get("overallSavingsMs") or 0
            if savings >= 100 and (audit.get("score") or 0) < 1:
                lines.append((-1.0 + savings / 1e6, f"`{audit_id}` {audit.get('title', '')}: saves ~{savings:.0f} ms"))
    lines.sort(key=lambda x: -x[0])
    return [line for _, line in lines[:top]]


# --- 2. latency ----------------------------------------------------------------------------------

def html_latency(env: Env, run: PageRun, seconds: int) -> wrk.WrkResult:
    """wrk, one keep-alive HTTPS connection to the edge, GET of the page's HTML for `seconds`
    (Host: the page's host; wrk sends no SNI for an IP, so Traefik answers with its default
    certificate)."""
    url = f"https://127.0.0.1:{env.edge.tls_port}{run.path}"
    headers = {"Accept": "text/html", "Accept-Language": "ko", "Accept-Encoding": "gzip"}
    return wrk.run(url, host=env.host(run.kind), headers=headers, seconds=seconds, connections=1)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


# --- 3. JavaScript shipped -----------------------------------------------------------------------

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.I)
ATTR = re.compile(r"""([\w:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
STATIC_IMPORT = re.compile(
    r"""(?:^|[;}\n])\s*(?:import|export)\s*(?:[\w$*{}\s,]*?\s*from\s*)?["']([^"'\n]+)["']""", re.M)
DYNAMIC_IMPORT = re.compile(r"""\bimport\s*\(\s*["']([^"']+)["']\s*\)""")


def page_routes() -> list[tuple[str, str]]:
    """(kind, path template) of every page the web service serves (its page_router routes; the
    routers main.py includes are walked, since FastAPI keeps included routers as branches)."""
    from services.web.main import build
    from services.web.site import _KindRoute

    found: set[tuple[str, str]] = set()

    def walk(routes: list[Any]) -> None:
        for route in routes:
            # page shells only: not files such as the classroom's QR code (`.../qr.svg`)
            if isinstance(route, _KindRoute) and "GET" in (route.methods or ()) and \
                    "." not in route.path.rsplit("/", 1)[-1]:
                found.add((route.kind, route.path))
            inner = getattr(route, "original_router", None)  # an included router (FastAPI >= 0.16x)
            if inner is not None:
                walk(inner.routes)

    walk(build().app.routes)
    return sorted(found)


def fill(path: str, env: Env) -> str:
    s = env.seeded
    values = {"exam_id": s.exam_id, "attempt_id": s.attempt_id, "class_id": s.school.class_id,
              "student_id": s.school.students[0].user_id, "org_id": s.school.org_id, "code": "123456"}
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), str(uuid.uuid4())), path)


async def fetch(client: httpx.AsyncClient, env: Env, kind: str, path: str, accept: str
                ) -> tuple[int, int, bytes, str]:
    """(status, bytes on the wire, decoded body, content type) of a GET through the edge's HTTPS port."""
    headers = {"Host": env.host(kind), "Accept": accept, "Accept-Encoding": "gzip", "Accept-Language": "ko"}
    async with client.stream("GET", path, headers=headers) as resp:
        raw = b"".join([chunk async for chunk in resp.aiter_raw()])
    body = gzip.decompress(raw) if resp.headers.get("content-encoding") == "gzip" else raw
    return resp.status_code, len(raw), body, resp.headers.get("content-type", "")


async def js_of_page(client: httpx.AsyncClient, env: Env, kind: str, template: str) -> JsPage | None:
    path = fill(template, env)
    status, _, html, ctype = await fetch(client, env, kind, path, "text/html")
    page = JsPage(kind, template, path, status)
    if status != 200:
        return page
    if not ctype.startswith("text/html"):
        return None  # not a page shell (e.g. a QR code image)
    queue: list[str] = []
    for tag in SCRIPT_TAG.finditer(html.decode(errors="replace")):
        attrs = {m.group(1).lower(): next(v for v in m.groups()[1:] if v is not None) for m in ATTR.finditer(tag.group(1))}
        if "src" in attrs and attrs.get("type", "text/javascript") in ("module", "text/javascript", "application/javascript"):
            queue.append(urlsplit(urljoin(f"https://{env.host(kind)}{path}", attrs["src"])).path)
    seen: set[str] = set()
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        st, wire, body, _ = await fetch(client, env, kind, url, "*/*")
        page.files.append((url, st, wire, len(body)))
        if st != 200:
            continue
        text = body.decode(errors="replace")
        text_no_comments = re.sub(r"/\*.*?\*/|(?<![:\"'])//[^\n]*", "", text, flags=re.S)
        for spec in STATIC_IMPORT.findall(text_no_comments):
            queue.append(urlsplit(urljoin(f"https://{env.host(kind)}{url}", spec)).path)
        page.dynamic += DYNAMIC_IMPORT.findall(text_no_comments)
    return page


async def js_shipped(env: Env) -> list[JsPage]:
    async with httpx.AsyncClient(base_url=env.edge.tls_url, verify=False, timeout=30) as client:
        pages = [await js_of_page(client, env, kind, path) for kind, path in page_routes()]
    return [page for page in pages if page is not None]


# --- the run -------------------------------------------------------------------------------------

async def measure() -> tuple[list[PageRun], list[JsPage], dict[str, Any]]:
    for old in (ROOT / "test-artifacts" / "web" / "lighthouse").glob("lh-*.json"):
        old.unlink()  # the last run's reports only
    with tempfile.TemporaryDirectory(prefix="mc-bench-web-") as tmp_name:
        tmp = Path(tmp_name)
        async with platform(tmp) as env:
            s = env.seeded
            runs = [PageRun("landing", "www", "/", "anonymous"),
                    PageRun("exam taking", "app", f"/exams/{s.exam_id}", "student"),
                    PageRun("teacher dashboard", "app", f"/teach/analytics/{s.exam_id}", "teacher")]
            async with httpx.AsyncClient(base_url=env.edge.tls_url, verify=False, timeout=30) as client:
                for run in runs:
                    run.status = (await fetch(client, env, run.kind, run.path, "text/html"))[0]
            info: dict[str, Any] = {"load_before": os.getloadavg(), "lighthouse": lighthouse_version(), "chromium": chromium_version(),
                                    "scored": s.scored, "exam_id": s.exam_id}
            async with chromium(env) as (port, context):
                for run in runs:
                    if run.status != 200:
                        continue
                    if run.who != "anonymous":
                        person = s.school.teacher if run.who == "teacher" else s.school.students[0]
                        await sign_in(env, context, person.email)
                    for preset, flags in PRESETS:
                        await lighthouse(env, run, port, preset, flags)
                        print(f"lighthouse {run.name} {preset}: {run.scores.get(preset)} {run.perf_runs.get(preset)}",
                              file=sys.stderr, flush=True)
                    await layout_shifts(env, context, run)
            live = [run for run in runs if run.status == 200]
            for run in live:  # warm-up, not counted
                await asyncio.to_thread(html_latency, env, run, WARMUP_S)
            for _ in range(ROUNDS):  # rounds interleaved across the pages: a busy spell hits all alike
                for run in live:
                    run.latency.append(await asyncio.to_thread(html_latency, env, run, MEASURE_S))
                    print(f"latency {run.name}: {run.latency[-1]}", file=sys.stderr, flush=True)
            js = await js_shipped(env)
            info["load"] = os.getloadavg()
            return runs, js, info


def lighthouse_version() -> str:
    try:
        return subprocess.run([str(LIGHTHOUSE), "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError:
        return "missing"


def chromium_version() -> str:
    try:
        return subprocess.run([chromium_path(), "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    except OSError:
        return "missing"


# --- the section ---------------------------------------------------------------------------------

def _score(run: PageRun, preset: str, cat: str) -> str:
    if run.status != 200:
        return f"missing ({run.status})"
    value = run.scores.get(preset, {}).get(cat)
    if preset in run.redirected:
        return f"{value} (of {run.redirected[preset]}: invalid)"
    if value is None:
        return "no score"
    mark = "meets" if value >= GOALS[cat] else "MISSES"
    return f"**{value}** ({mark})" if preset == "mobile" else f"{value} ({mark})"


def section(runs: list[PageRun], js: list[JsPage], info: dict[str, Any]) -> str:
    s = []
    s.append("## Web frontends: Lighthouse, page latency, JavaScript shipped (issue #16)\n")
    s.append(f"The platform as the page tests run it (auth, tenant, exam, cat, classroom, arena in one process on a "
             f"throwaway migrated database; web as its own process, `python -m services.web`), behind the real edge "
             f"(Traefik, HTTPS with its self-signed certificate; rate limits off). Seeded through the public API: "
             f"a school (org, teacher, a class of 4 students from a roster), a published adaptive exam (5 items), "
             f"{info['scored']} scored attempts on it and one in progress. Lighthouse {info['lighthouse']} "
             f"(`node_modules/.bin/lighthouse --port=…`) against {info['chromium']}, launched headless by the bench "
             f"with remote debugging, the zones' hosts mapped to 127.0.0.1 and `--ignore-certificate-errors`; "
             f"the student and the teacher sign in through www /signin (Playwright over CDP in chromium's default "
             f"context, whose refresh cookie the Lighthouse tab shares), so each page signs itself in as in real use. "
             f"{os.cpu_count()} cores shared by everything, other work on the machine included (1-minute load "
             f"average {info['load_before'][0]:.1f} before the measurements, {info['load'][0]:.1f} at the end).\n")
    s.append("### Lighthouse (goals: performance ≥ 90, accessibility ≥ 95, best practices ≥ 95)\n")
    s.append(f"Mobile = Lighthouse's default run (Moto G Power emulation, simulated slow 4G and 4× CPU slowdown, "
             f"cold HTTP cache); desktop = `--preset=desktop`. {LH_RUNS} runs of each; the scores are the median run's "
             f"(by performance), the performance score of every run is listed. The self-signed certificate needs "
             f"nothing more than chromium's `--ignore-certificate-errors` (Lighthouse attaches to that chromium "
             f"with `--port`, so its own `--chrome-flags` play no part).\n")
    s.append("| page | URL | as | mobile: perf / a11y / best pr. | perf, each run | desktop: perf / a11y / best pr. "
             "| perf, each run |")
    s.append("|---|---|---|---|---|---|---|")
    for run in runs:
        cells = []
        for p, _ in PRESETS:
            cells.append(" / ".join(_score(run, p, c) for c in CATEGORIES))
            cells.append(", ".join(str(v) for v in run.perf_runs.get(p, [])) or "—")
        path = run.path.replace(info.get("exam_id", "\0"), "{exam_id}")
        s.append(f"| {run.name} | {run.kind} `{path}` | {run.who} | {' | '.join(cells)} |")
    s.append("")
    notes = [(run, k, v) for run in runs for k, v in run.failing.items() if v]
    if notes:
        s.append("Top failing audits where a page is under its goal (full reports: "
                 "`test-artifacts/web/lighthouse/*.json`):\n")
        for run, key, lines in notes:
            s.append(f"- **{run.name}**, {key}:")
            s.extend(f"  - {line}" for line in lines)
        s.append("")
    shifted = [(run, vp, items) for run in runs for vp, items in run.shifts.items() if sum(v for _, v in items) >= 0.01]
    if shifted:
        s.append("Elements that moved (layout shifts read in the page with a PerformanceObserver, no throttling, after "
                 "the person signed in; each shift credited to every element it moved; Lighthouse 12.2.3's own "
                 "`layout-shifts` audit fails on this chromium, see below):\n")
        for run, vp, items in shifted:
            top = ", ".join(f"`{el}` {v:.3f}" for el, v in items[:5])
            s.append(f"- **{run.name}** ({vp}, {VIEWPORT_SIZES[vp]}): {top}")
        s.append("")
    broken: dict[str, tuple[set[str], str]] = {}
    for run in runs:
        for audit_id, message in run.audit_errors.items():
            broken.setdefault(audit_id, (set(), message))[0].add(run.name)
    if broken:
        s.append(f"Audits Lighthouse could not run (all weight 0: the scores are unaffected): "
                 f"{', '.join(f'`{a}` ({len(pages)} of {len(runs)} pages)' for a, (pages, _) in sorted(broken.items()))}. "
                 f"The error: {sorted({m for _, m in broken.values()}, key=len)[0]!r} — Lighthouse 12.2.3's trace engine "
                 f"does not read this chromium's traces (newer than it).\n")
    errs = [(run, e) for run in runs for e in run.errors]
    if errs:
        s.append("Lighthouse warnings and errors (each once):\n")
        s.extend(f"- {run.name}: {e}" for run, e in errs)
        s.append("")
    s.append(f"### Server-rendered HTML through the edge (goal: p99 ≤ {P99_GOAL_MS:.0f} ms)\n")
    s.append(f"wrk (C), one keep-alive HTTPS connection from loopback, requests one after another "
             f"(`Accept: text/html`, `Accept-Encoding: gzip`, Korean): a {WARMUP_S} s warm-up per page, then "
             f"{ROUNDS} rounds of {MEASURE_S} s per page, interleaved across the pages. The goal is judged on the "
             f"median round's p99; every round's p99 is listed (the machine is shared: see the load average).\n")
    s.append("| page | requests (all rounds) | p50 (median round) | p99 (median round) | p99 of each round | non-2xx | goal |")
    s.append("|---|---|---|---|---|---|---|")
    for run in runs:
        rs = run.latency
        if not rs:
            s.append(f"| {run.name} | — | — | — | — | — | missing ({run.status}) |")
            continue
        p50, p99 = median([r.p50_ms for r in rs]), median([r.p99_ms for r in rs])
        bad = sum(r.non_2xx + r.errors for r in rs)
        ok = "meets" if p99 <= P99_GOAL_MS and not bad else "MISSES"
        s.append(f"| {run.name} | {sum(r.requests for r in rs):,} | {p50:.2f} ms | **{p99:.2f} ms** | "
                 f"{' / '.join(f'{r.p99_ms:.1f}' for r in rs)} ms | {bad} | {ok} |")
    s.append("")
    s.append(f"### JavaScript shipped per page (goal: ≤ {JS_GOAL_KB:.0f} KB compressed)\n")
    s.append("Every page route of the web service (path parameters filled with seeded ids), fetched through the edge: "
             "its `<script src>` tags and every module they import statically (`import … from`, `export … from`, "
             "recursively, each file once), counted as bytes on the wire with `Accept-Encoding: gzip` (web gzips "
             "responses of 500 bytes and more). KB = 1,000 bytes.\n")
    s.append("| page | HTML | files | KB uncompressed | KB on the wire | goal |")
    s.append("|---|---|---|---|---|---|")
    worst = 0.0
    for page in js:
        template = page.template
        if page.status != 200:
            s.append(f"| {page.kind} `{template}` | {page.status} | — | — | — | missing |")
            continue
        kb = page.wire / 1000
        worst = max(worst, kb)
        ok = "meets" if kb <= JS_GOAL_KB and not page.broken else ("MISSES" if kb > JS_GOAL_KB else "broken import")
        extra = f" (not found: {', '.join(page.broken)})" if page.broken else ""
        dyn = f" (+ dynamic import of {', '.join(sorted(set(page.dynamic)))} not counted)" if page.dynamic else ""
        s.append(f"| {page.kind} `{template}` | 200 | {len(page.files)}{extra}{dyn} | {page.raw / 1000:.1f} | "
                 f"{kb:.1f} | {ok} |")
    s.append("")
    s.append(f"Largest: {worst:.1f} KB. Files per page are the module script and its import graph (mc.js is shared, "
             f"so a second page's real cost is only what it adds; the table counts each page alone, cold).")
    return "\n".join(s)


def run() -> str:
    if not LIGHTHOUSE.exists():
        raise SystemExit("lighthouse is missing: run scripts/setup.sh (npm ci)")
    runs, js, info = asyncio.run(measure())
    return section(runs, js, info)


if __name__ == "__main__":
    print(run())
    sys.exit(0)
