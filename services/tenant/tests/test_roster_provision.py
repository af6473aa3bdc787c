"""Accounts from rosters (issue #13 §2) with the real tenant AND the real auth service: an
imported roster of 36 students (a third with an email, one already registered, two siblings
sharing a parent phone) becomes accounts, memberships and school-approved parent links; the
activation sheet is shown once; a student activates with the code and logs in; provisioning
again creates nothing; other orgs and bad ids get 404; auth down is 503, and a job that failed
on it is started again without duplicates. Parents keyed by the roster's parent email (an
email with an account is linked to it, siblings share it) and the printable HTML sheet with
a QR code per card, taken once with the CSV."""
from __future__ import annotations

import asyncio
import csv
import html
import io
import re
import socket
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import qrcode
import qrcode.constants
from openpyxl import Workbook
from qrcode.image.svg import SvgPathImage
from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction
from megacity.testing import TestDatabase, TokenMint, run_service, superuser_sql
from services.auth.tests.conftest import FAST_HASH
from services.tenant.tests.conftest import TEST_PII

HOST = "api.univprepai.com"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
STUDENTS = 36
PASSWORD = "Battery-Staple-42"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mesh:
    db: TestDatabase
    namespace: str
    mint: TokenMint
    tenant: Any
    tenant_client: httpx.AsyncClient
    truth: Any
    auth_port: int
    auth: Any = None
    auth_client: httpx.AsyncClient | None = None
    _auth_cm: Any = None

    async def start_auth(self) -> None:
        self._auth_cm = run_service("auth", self.db, self.namespace, grpc_port=self.auth_port,
                                    grpc_peers={"tenant": f"127.0.0.1:{self.tenant.grpc_port}"}, **FAST_HASH)
        self.auth = await self._auth_cm.__aenter__()
        self.auth_client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.auth.http_port}", timeout=30)

    async def stop_auth(self) -> None:
        if self._auth_cm is not None:
            assert self.auth_client is not None
            await self.auth_client.aclose()
            await self._auth_cm.__aexit__(None, None, None)
            self._auth_cm = None

    def headers(self, role: str, org: uuid.UUID | None, zone_id: int = 1) -> dict[str, str]:
        token = self.mint.token(zone_id=zone_id, role=role, org_id=org, user_id=uuid.uuid4())
        return {"Authorization": f"Bearer {token}", "Host": HOST}

    async def sql(self, query: str, **params: Any) -> list[Any]:
        return await superuser_sql(self.truth, query, **params)


@pytest.fixture
async def mesh(test_db: TestDatabase, namespace: str, token_mint: TokenMint, redis_client, nats_client
               ) -> AsyncIterator[Mesh]:
    port = _free_port()
    async with run_service("tenant", test_db, namespace, grpc_peers={"auth": f"127.0.0.1:{port}"}) as tenant:
        token_mint.install(tenant.app)
        truth = test_db.superuser_engine()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{tenant.http_port}", timeout=30) as client:
            m = Mesh(test_db, namespace, token_mint, tenant, client, truth, port)
            await m.start_auth()
            try:
                yield m
            finally:
                await tenant.app.state.roster_imports.wait_idle(timeout=30)
                await m.stop_auth()
                await truth.dispose()


def _roster(path: Path) -> list[tuple[str, int, str, str, str | None]]:
    """36 students; every third has an email; students 0 and 1 are siblings (one parent phone)."""
    rows = []
    for i in range(STUDENTS):
        phone = "010-5555-0000" if i < 2 else f"010-5555-{i:04d}"
        rows.append((f"Student {i:02d}", 1 + i % 3, phone, f"{1 + i % 3}-A", f"kid{i}@example.com" if i % 3 == 0 else None))
    wb = Workbook()
    ws = wb.active
    ws.append(["name", "grade", "parent_phone", "class", "email"])
    for r in rows:
        ws.append(list(r))
    wb.save(path)
    return rows


async def _wait_job(m: Mesh, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120  # bounds a hang only
    while time.monotonic() < deadline:
        resp = await m.tenant_client.get(f"/api/v1/jobs/{job_id}/progress", headers=headers)
        assert resp.status_code == 200, resp.text
        if resp.json()["status"] in ("succeeded", "failed"):
            return resp.json()
        await asyncio.sleep(0.02)
    raise AssertionError("job did not finish")


async def _imported(m: Mesh, tmp_path: Path, workbook: list[list[Any]] | None = None
                    ) -> tuple[uuid.UUID, dict[str, str], str, list]:
    """An org and its admin, with `workbook` (header row first; default: `_roster`) imported."""
    org = uuid.uuid4()
    async with tenant_transaction(make_sessionmaker(engine := make_engine(m.db.app_url("tenant"), pool_size=1)),
                                  TenantContext(1, role="super_admin")) as s:
        await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, 1, 'School')"), {"id": org})
    await engine.dispose()
    admin = m.headers("org_admin", org)
    if workbook is None:
        rows: list = _roster(tmp_path / "roster.xlsx")
    else:
        wb = Workbook()
        for row in workbook:
            wb.active.append(row)
        wb.save(tmp_path / "roster.xlsx")
        rows = workbook[1:]
    resp = await m.tenant_client.post("/api/v1/rosters/imports", headers=admin,
                                      files={"file": ("roster.xlsx", (tmp_path / "roster.xlsx").read_bytes(), XLSX)})
    assert resp.status_code == 202, resp.text
    import_id = resp.json()["id"]
    assert (await _wait_job(m, admin, import_id))["status"] == "succeeded"
    return org, admin, import_id, rows


async def _provision(m: Mesh, headers: dict[str, str], import_id: str, students: int = STUDENTS,
                     **body: Any) -> dict[str, Any]:
    """Start provisioning and wait for the job. Right after auth restarts, tenant's gRPC channel
    may still be in its reconnect backoff: a 503 `dependency.auth_unavailable` is asked again
    (bounded), any other answer is the test's."""
    deadline = time.monotonic() + 30  # bounds a hang only
    while True:
        resp = await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision", headers=headers,
                                          json=body)
        if resp.status_code != 503 or resp.json()["code"] != "dependency.auth_unavailable" \
                or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert resp.status_code == 202, resp.text
    assert resp.json()["total_students"] == students
    return await _wait_job(m, headers, resp.json()["job_id"])


async def _sheet(m: Mesh, headers: dict[str, str], import_id: str, fmt: str | None = None) -> httpx.Response:
    query = f"?format={fmt}" if fmt else ""
    return await m.tenant_client.get(f"/api/v1/rosters/imports/{import_id}/activation-sheet{query}", headers=headers)


def _parse(resp: httpx.Response) -> list[dict[str, str]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/csv") and resp.headers["cache-control"] == "no-store"
    return list(csv.DictReader(io.StringIO(resp.text.lstrip("\ufeff"))))


async def _counts(m: Mesh, org: uuid.UUID) -> dict[str, int]:
    q = {
        "users": "SELECT count(*) AS n FROM auth.users WHERE zone_id = 1",
        "mapped": "SELECT count(*) AS n FROM auth.provisioned_accounts WHERE org_id = :o",
        "students_linked": "SELECT count(*) AS n FROM tenant.students WHERE org_id = :o AND user_id IS NOT NULL",
        "student_members": "SELECT count(*) AS n FROM tenant.memberships WHERE org_id = :o AND role = 'student'",
        "parent_members": "SELECT count(*) AS n FROM tenant.memberships WHERE org_id = :o AND role = 'parent'",
        "parents": "SELECT count(*) AS n FROM tenant.parents WHERE org_id = :o AND user_id IS NOT NULL",
        "links": "SELECT count(*) AS n FROM tenant.parent_links WHERE org_id = :o AND status = 'approved'",
        "links_all": "SELECT count(*) AS n FROM tenant.parent_links WHERE org_id = :o",
    }
    return {k: (await m.sql(v, o=org))[0].n for k, v in q.items()}


async def test_provision_activate_login_sheet_once_and_reprovision_creates_nothing(mesh: Mesh, tmp_path) -> None:
    m = mesh
    assert m.auth_client is not None
    registered = await m.auth_client.post("/api/v1/auth/register", headers={"Host": HOST}, json={
        "email": "kid3@example.com", "password": PASSWORD, "display_name": "Kid Three"})
    assert registered.status_code == 201, registered.text
    org, admin, import_id, rows = await _imported(m, tmp_path)

    done = await _provision(m, admin, import_id)
    assert done["status"] == "succeeded" and done["processed"] == STUDENTS, done
    # The finished progress carries the totals as fields (pages read them, not the `step` text).
    # 36 students + 35 parent phones made, kid3 linked (no code); each a membership; a link per student.
    assert done["result"] == {"students": 36, "accounts_created": 70, "accounts_linked": 1, "accounts_existing": 0,
                              "codes_issued": 70, "memberships_added": 71, "links_approved": 36}, done
    counts = await _counts(m, org)
    # 36 students + 35 parent phones; kid3 registered already: linked, not created.
    assert counts == {"users": 1 + 35 + 35, "mapped": 71, "students_linked": 36, "student_members": 36,
                      "parent_members": 35, "parents": 35, "links": 36, "links_all": 36}
    siblings = await m.sql(
        "SELECT count(DISTINCT parent_user_id) AS parents, count(*) AS links FROM tenant.parent_links l"
        " JOIN tenant.students s ON s.id = l.student_id WHERE s.org_id = :o AND s.parent_phone_index = :p",
        o=org, p=TEST_PII.index.phone("01055550000"))
    assert (siblings[0].parents, siblings[0].links) == (1, 2)
    events = await m.sql("SELECT count(*) AS n FROM tenant.outbox WHERE event_type = 'parent_link.approved'")
    assert events[0].n == 36

    sheet = _parse(await _sheet(m, admin, import_id))
    students = [r for r in sheet if r["role"] == "student"]
    parents = [r for r in sheet if r["role"] == "parent"]
    assert len(students) == 35 and len(parents) == 35  # kid3 has a password of its own: no code
    assert "Student 03" not in {r["name"] for r in students}
    with_email = next(r for r in students if r["name"] == "Student 06")
    assert with_email["login_id"] == "kid6@example.com" and with_email["class"] == "1-A"
    no_email = next(r for r in students if r["name"] == "Student 01")
    assert no_email["login_id"].endswith("@roster.invalid") and no_email["grade"] == "2"
    sibling_parent = next(r for r in parents if "Student 00" in r["children"])
    assert sibling_parent["children"] == "Student 00, Student 01"
    again = await _sheet(m, admin, import_id)
    assert again.status_code == 410 and again.json()["code"] == "roster_provision.sheet_taken"

    # The student without an email activates with the code and logs in as a student of the org.
    activate = await m.auth_client.post("/api/v1/auth/activate", headers={"Host": HOST}, json={
        "login_id": no_email["login_id"], "code": no_email["code"], "new_password": PASSWORD})
    assert activate.status_code == 201, activate.text
    login = await m.auth_client.post("/api/v1/auth/login", headers={"Host": HOST},
                                     json={"email": no_email["login_id"], "password": PASSWORD})
    assert login.status_code == 200, login.text
    me = await m.auth_client.get("/api/v1/users/me", headers={
        "Host": HOST, "Authorization": f"Bearer {login.json()['access_token']}"})
    assert me.json()["role"] == "student" and me.json()["org_id"] == str(org), me.text
    reuse = await m.auth_client.post("/api/v1/auth/activate", headers={"Host": HOST}, json={
        "login_id": no_email["login_id"], "code": no_email["code"], "new_password": "Other-Pass-77"})
    assert reuse.status_code == 410 and reuse.json()["code"] == "auth.activation_used"
    # So does a parent.
    parent_activate = await m.auth_client.post("/api/v1/auth/activate", headers={"Host": HOST}, json={
        "login_id": sibling_parent["login_id"], "code": sibling_parent["code"], "new_password": PASSWORD})
    assert parent_activate.status_code == 201, parent_activate.text
    parent_login = await m.auth_client.post("/api/v1/auth/login", headers={"Host": HOST},
                                            json={"email": sibling_parent["login_id"], "password": PASSWORD})
    assert parent_login.status_code == 200, parent_login.text

    # Provisioning again: nothing new, no codes.
    again_done = await _provision(m, admin, import_id)
    assert again_done["status"] == "succeeded"
    assert again_done["result"] == {"students": 36, "accounts_created": 0, "accounts_linked": 1,
                                    "accounts_existing": 70, "codes_issued": 0, "memberships_added": 0,
                                    "links_approved": 0}, again_done
    assert await _counts(m, org) == counts
    assert (await _sheet(m, admin, import_id)).status_code == 410

    # Auth's keys hold no parent's phone or email: the blind index (hex). Mappings made before
    # that (`parent:<phone or email>`) are renamed on the next provisioning: same accounts.
    keys = [r.external_key for r in await m.sql(
        "SELECT external_key FROM auth.provisioned_accounts WHERE org_id = :o AND external_key LIKE 'parent:%'", o=org)]
    assert len(keys) == 35 and all(re.fullmatch(r"parent:[0-9a-f]{64}", k) for k in keys), keys[:3]
    legacy: dict[str, str] = {}
    for r in await m.sql("SELECT parent_phone_encrypted, parent_email_encrypted FROM tenant.students"
                         " WHERE org_id = :o", o=org):
        email = TEST_PII.open(r.parent_email_encrypted)
        phone = TEST_PII.open(r.parent_phone_encrypted)
        digest = TEST_PII.index.email(email) if email else TEST_PII.index.phone(phone)
        legacy[f"parent:{digest.hex()}"] = f"parent:{email or phone}"
    assert set(keys) <= set(legacy)
    await m.sql("UPDATE auth.provisioned_accounts p SET external_key = t.o FROM unnest(CAST(:n AS text[]),"
                " CAST(:l AS text[])) AS t(n, o) WHERE p.org_id = :o AND p.external_key = t.n",
                o=org, n=keys, l=[legacy[k] for k in keys])
    assert (await _provision(m, admin, import_id))["status"] == "succeeded"
    assert await _counts(m, org) == counts  # no account or mapping more
    again_keys = {r.external_key for r in await m.sql(
        "SELECT external_key FROM auth.provisioned_accounts WHERE org_id = :o AND external_key LIKE 'parent:%'", o=org)}
    assert again_keys == set(keys)

    # Reissue: new codes for provisioned accounts (not the linked one); old codes die.
    other = next(r for r in students if r["name"] == "Student 02")
    assert (await _provision(m, admin, import_id, reissue=True))["status"] == "succeeded"
    assert await _counts(m, org) == counts
    reissued = _parse(await _sheet(m, admin, import_id))
    assert len(reissued) == 70
    old = await m.auth_client.post("/api/v1/auth/activate", headers={"Host": HOST}, json={
        "login_id": other["login_id"], "code": other["code"], "new_password": PASSWORD})
    assert old.status_code == 400 and old.json()["code"] == "auth.activation_invalid"
    new = next(r for r in reissued if r["name"] == "Student 02")
    assert new["login_id"] == other["login_id"] and new["code"] != other["code"]
    ok = await m.auth_client.post("/api/v1/auth/activate", headers={"Host": HOST}, json={
        "login_id": new["login_id"], "code": new["code"], "new_password": PASSWORD})
    assert ok.status_code == 201, ok.text


async def test_other_orgs_roles_and_bad_ids_cannot_provision_or_read_the_sheet(mesh: Mesh, tmp_path) -> None:
    m = mesh
    org, admin, import_id, _ = await _imported(m, tmp_path)
    other_org = uuid.uuid4()
    async with tenant_transaction(make_sessionmaker(engine := make_engine(m.db.app_url("tenant"), pool_size=1)),
                                  TenantContext(1, role="super_admin")) as s:
        await s.execute(text("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (:id, 1, 'Other')"), {"id": other_org})
    await engine.dispose()
    stranger = m.headers("org_admin", other_org)
    for resp in (await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision", headers=stranger),
                 await _sheet(m, stranger, import_id),
                 await m.tenant_client.post(f"/api/v1/rosters/imports/{uuid.uuid4()}/provision", headers=admin),
                 await _sheet(m, admin, str(uuid.uuid4()))):
        assert resp.status_code == 404 and resp.json()["code"] == "roster_import.not_found", resp.text
    bad = await m.tenant_client.post("/api/v1/rosters/imports/not-a-uuid/provision", headers=admin)
    assert bad.status_code == 422
    for role in ("student", "parent"):
        denied = await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision",
                                            headers=m.headers(role, org))
        assert denied.status_code == 403, denied.text
    # Another zone's admin names the org: not found in its zone.
    zone2 = {**m.headers("zone_admin", None, zone_id=2), "Host": "api.collegeprepai.com"}
    cross = await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision?org_id={org}", headers=zone2)
    assert cross.status_code == 404, cross.text
    # Nothing was provisioned by any of it; the sheet of the real org has nothing waiting.
    assert (await m.sql("SELECT count(*) AS n FROM auth.provisioned_accounts"))[0].n == 0
    assert (await _sheet(m, admin, import_id)).status_code == 410


async def test_auth_down_is_503_and_a_failed_job_is_started_again_without_duplicates(mesh: Mesh, tmp_path) -> None:
    m = mesh
    org, admin, import_id, _ = await _imported(m, tmp_path)
    await m.stop_auth()
    down = await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision", headers=admin)
    assert down.status_code == 503 and down.json()["code"] == "dependency.auth_unavailable", down.text

    # Auth answers when the job is accepted, then goes away before the job runs: the job fails
    # with the reason, and says that starting it again is safe.
    await m.start_auth()
    runner = m.tenant.app.state.roster_imports
    slots = runner._slots
    held = 0
    while not slots.locked():
        await slots.acquire()
        held += 1
    try:
        resp = await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision", headers=admin)
        assert resp.status_code == 202, resp.text
        busy = await m.tenant_client.post(f"/api/v1/rosters/imports/{import_id}/provision", headers=admin)
        assert busy.status_code == 409 and busy.json()["code"] == "roster_provision.running"
        await m.stop_auth()
    finally:
        for _ in range(held):
            slots.release()
    failed = await _wait_job(m, admin, resp.json()["job_id"])
    assert failed["status"] == "failed" and "dependency.auth_unavailable" in failed["error"], failed
    assert "again is safe" in failed["error"] and failed["result"] is None  # totals only when it succeeded
    assert failed["error_code"] == "dependency.auth_unavailable", failed  # the stable code, for pages

    await m.start_auth()
    assert (await _provision(m, admin, import_id))["status"] == "succeeded"
    first = await _counts(m, org)
    assert first["students_linked"] == STUDENTS and first["mapped"] == STUDENTS + STUDENTS - 1
    assert (await _provision(m, admin, import_id))["status"] == "succeeded"
    assert await _counts(m, org) == first


def test_sheet_csv_quotes_formula_like_cells_and_opens_in_excel() -> None:
    from services.tenant.roster_import.sheet import SheetRow, render_csv

    out = render_csv([SheetRow("student", "=HYPERLINK(\"x\")", 3, "+1", None, "a@roster.invalid", "AAAAA-BBBBB", 0),
                      SheetRow("parent", "Parent of 김민지", None, None, "김민지", "b@roster.invalid", "CCCCC-DDDDD", 0)])
    assert out.startswith("\ufeffrole,name,grade,class,children,login_id,code,expires_at\r\n")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert rows[0]["name"] == "'=HYPERLINK(\"x\")" and rows[0]["class"] == "'+1" and rows[0]["grade"] == "3"
    assert rows[1]["children"] == "김민지" and rows[1]["grade"] == "" and rows[1]["expires_at"] == "1970-01-01 00:00 UTC"


PARENT_EMAIL_ROSTER: list[list[Any]] = [
    ["name", "grade", "parent_phone", "class", "email", "parent_email"],
    ["Ann Lee", 2, "010-7000-0001", "2-A", None, "mom@example.com"],
    ["Ben Lee", 4, "010-7000-0002", "4-B", None, "MOM@Example.com"],  # a sibling by email, other phone
    ["Cal Park", 3, "010-7000-0003", "3-A", None, "dad@example.com"],  # dad has an account already
    ["Dee Kim", 1, "010-7000-0004", "1-A", None, None],  # parents by phone: Dee and Eve share one
    ["Eve Kim", 2, "010-7000-0004", "2-A", None, None],
    ['<i>Ivy</i> & "Co"', 1, "010-7000-0005", "<b>1-B</b>", None, None],
    ["Bad Mail", 1, "010-7000-0009", None, None, "mom at example.com"],
    ["Same Mail", 1, "010-7000-0010", None, "same@example.com", "same@example.com"],
]


def _cards(page: str) -> list[dict[str, str]]:
    """The cards of the HTML sheet: name, login id, code (unescaped) and the card's one SVG."""
    cards = []
    for role, body in re.findall(r'<section class="card (student|parent)">(.*?)</section>', page, re.S):
        svgs = re.findall(r"<svg\b.*?</svg>", body, re.S)
        assert len(svgs) == 1, body
        cards.append({"role": role, "name": html.unescape(re.search(r"<h2>(.*?)</h2>", body).group(1)),
                      "login_id": html.unescape(re.search(r"<dt>Login id</dt><dd>(.*?)</dd>", body).group(1)),
                      "code": re.search(r'<dd class="code">(.*?)</dd>', body).group(1),
                      "svg": svgs[0], "body": body})
    return cards


def _qr(url: str) -> str:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=SvgPathImage)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")


async def test_parents_by_email_link_existing_accounts_and_the_html_sheet_is_taken_once(mesh: Mesh,
                                                                                        tmp_path) -> None:
    m = mesh
    assert m.auth_client is not None
    registered = await m.auth_client.post("/api/v1/auth/register", headers={"Host": HOST}, json={
        "email": "dad@example.com", "password": PASSWORD, "display_name": "Dad Park"})
    assert registered.status_code == 201, registered.text
    users_before = (await m.sql("SELECT count(*) AS n FROM auth.users WHERE zone_id = 1"))[0].n
    dad = (await m.sql("SELECT id FROM auth.users WHERE email = 'dad@example.com'"))[0].id
    org, admin, import_id, _ = await _imported(m, tmp_path, PARENT_EMAIL_ROSTER)

    # The parent email column is validated per row, like the others, and stored normalised.
    detail = (await m.tenant_client.get(f"/api/v1/rosters/imports/{import_id}", headers=admin)).json()
    assert {(e["row"], e["column"]) for e in detail["errors"]} == {(8, "parent_email"), (9, "parent_email")}
    assert {e["reason"] for e in detail["errors"]} == {"must be an email address",
                                                     "must differ from the student's email"}
    stored = {r.name: TEST_PII.open(r.parent_email_encrypted) for r in await m.sql(
        "SELECT name, parent_email_encrypted FROM tenant.students WHERE org_id = :o", o=org)}
    assert stored == {"Ann Lee": "mom@example.com", "Ben Lee": "mom@example.com", "Cal Park": "dad@example.com",
                      "Dee Kim": None, "Eve Kim": None, '<i>Ivy</i> & "Co"': None}

    assert (await _provision(m, admin, import_id, students=6))["status"] == "succeeded"
    # 6 students, mom (by email), 2 parents by phone; dad's account is linked, not duplicated.
    assert (await m.sql("SELECT count(*) AS n FROM auth.users WHERE zone_id = 1"))[0].n == users_before + 9
    links = {r.name: (r.parent_user_id, r.email) for r in await m.sql(
        "SELECT s.name, l.parent_user_id, u.email FROM tenant.parent_links l"
        " JOIN tenant.students s ON s.id = l.student_id JOIN auth.users u ON u.id = l.parent_user_id"
        " WHERE l.org_id = :o AND l.status = 'approved'", o=org)}
    assert len(links) == 6
    assert links["Ann Lee"] == links["Ben Lee"] and links["Ann Lee"][1] == "mom@example.com"
    assert links["Cal Park"] == (dad, "dad@example.com")
    assert links["Dee Kim"] == links["Eve Kim"] and links["Dee Kim"][1].endswith("@roster.invalid")
    assert len({v[0] for v in links.values()}) == 4
    parents = {TEST_PII.open(r.email_encrypted) or TEST_PII.open(r.phone_encrypted): r.user_id for r in await m.sql(
        "SELECT email_encrypted, phone_encrypted, user_id FROM tenant.parents WHERE org_id = :o", o=org)}
    assert parents == {"mom@example.com": links["Ann Lee"][0], "dad@example.com": dad,
                       "01070000004": links["Dee Kim"][0], "01070000005": links['<i>Ivy</i> & "Co"'][0]}
    members = await m.sql("SELECT count(*) AS n FROM tenant.memberships WHERE org_id = :o AND role = 'parent'", o=org)
    assert members[0].n == 4

    bad = await _sheet(m, admin, import_id, "pdf")
    assert bad.status_code == 422 and bad.json()["code"] == "request.invalid"
    resp = await _sheet(m, admin, import_id, "html")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/html") and resp.headers["cache-control"] == "no-store"
    assert resp.headers["content-security-policy"].startswith("default-src 'none'")
    page = resp.text
    cards = _cards(page)
    # Every person with a waiting code: 6 students, mom and the 2 phone parents (not dad: no code).
    assert sorted(c["name"] for c in cards if c["role"] == "student") == sorted(
        ["Ann Lee", "Ben Lee", "Cal Park", "Dee Kim", "Eve Kim", '<i>Ivy</i> & "Co"'])
    assert len([c for c in cards if c["role"] == "parent"]) == 3
    mom = next(c for c in cards if c["login_id"] == "mom@example.com")
    assert mom["role"] == "parent" and "<dt>Parent of</dt><dd>Ann Lee, Ben Lee</dd>" in mom["body"]
    assert "dad@example.com" not in page
    for c in cards:
        url = f"https://app.univprepai.com/activate#{urllib.parse.urlencode({'login': c['login_id'], 'code': c['code']})}"
        assert c["svg"] == _qr(url), c["name"]
    assert "<i>Ivy</i>" not in page and "<b>1-B</b>" not in page
    assert "<h2>&lt;i&gt;Ivy&lt;/i&gt; &amp; &quot;Co&quot;</h2>" in page and "class &lt;b&gt;1-B&lt;/b&gt;" in page

    # One take: neither format gives the codes again.
    for fmt in ("html", "csv", None):
        again = await _sheet(m, admin, import_id, fmt)
        assert again.status_code == 410 and again.json()["code"] == "roster_provision.sheet_taken", fmt

    # Mom activates with her email and the card's code, and logs in as a parent of the org.
    activate = await m.auth_client.post("/api/v1/auth/activate", headers={"Host": HOST}, json={
        "login_id": "mom@example.com", "code": mom["code"], "new_password": PASSWORD})
    assert activate.status_code == 201, activate.text
    login = await m.auth_client.post("/api/v1/auth/login", headers={"Host": HOST},
                                     json={"email": "mom@example.com", "password": PASSWORD})
    assert login.status_code == 200, login.text

    # Provisioning again: nothing new.
    before = await m.sql("SELECT count(*) AS n FROM auth.users WHERE zone_id = 1")
    assert (await _provision(m, admin, import_id, students=6))["status"] == "succeeded"
    assert await m.sql("SELECT count(*) AS n FROM auth.users WHERE zone_id = 1") == before
    assert (await m.sql("SELECT count(*) AS n FROM tenant.parent_links WHERE org_id = :o", o=org))[0].n == 6
    assert (await m.sql("SELECT count(*) AS n FROM tenant.parents WHERE org_id = :o", o=org))[0].n == 4
