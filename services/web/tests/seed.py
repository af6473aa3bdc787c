"""Seeding for the page tests, through the platform's public API on the edge (as a school would):
admins with TOTP, an org, a teacher, a class provisioned from a roster with its students
activated, and an adaptive exam. Only the zone's first admin is made outside HTTP, with auth's
bootstrap function (what `create-super-admin` runs)."""
from __future__ import annotations

import asyncio
import csv
import io
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyotp
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from services.auth.admin import create_admin

PASSWORD = "Correct-Horse-9"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def roster_workbook(names: list[str], class_name: str, extra_rows: list[list[Any]] | None = None) -> bytes:
    """A roster .xlsx (the import's format): one row per student, each with its own parent phone."""
    wb = Workbook()
    ws = wb.active
    assert isinstance(ws, Worksheet)
    ws.append(["name", "grade", "parent_phone", "class"])
    base = uuid.uuid4().int % 9000 + 1000
    for i, name in enumerate(names):
        ws.append([name, 10, f"010-{base}-{i:04d}", class_name])
    for row in extra_rows or []:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@dataclass
class Person:
    email: str
    name: str
    user_id: str = ""
    token: str = ""
    totp_secret: str | None = None


@dataclass
class School:
    org_id: str
    zone_admin: Person
    admin: Person  # org admin (TOTP)
    teacher: Person
    class_id: str
    class_name: str
    students: list[Person] = field(default_factory=list)
    # roster record id per student name (`/api/v1/rosters/students`), for parent codes
    roster_ids: dict[str, str] = field(default_factory=dict)


class Api:
    """Calls on the zone's api host through the edge; logins answer TOTP (enrolling on first use)."""

    def __init__(self, client: httpx.AsyncClient, api_host: str) -> None:
        self.client, self.host = client, api_host
        self.totp: dict[str, str] = {}

    async def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Host": self.host, **({"Authorization": f"Bearer {token}"} if token else {}), **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, token: str | None = None, status: int = 200, **kw: Any) -> Any:
        resp = await self.call(method, path, token, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text)
        return resp.json() if resp.headers.get("content-type", "").startswith("application/json") else resp

    async def register(self, email: str, name: str) -> Person:
        body = {"email": email, "password": PASSWORD, "display_name": name}
        created = await self.ok("POST", "/api/v1/auth/register", status=201, json=body)
        return Person(email=email, name=name, user_id=str(created["id"]))

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        body = await self.ok("POST", "/api/v1/auth/login", json={"email": email, "password": password})
        if not body.get("mfa_required"):
            return dict(body)
        if body["enrollment_required"]:
            enrolled = await self.ok("POST", "/api/v1/auth/mfa/totp/enroll", json={"mfa_token": body["mfa_token"]})
            self.totp[email] = enrolled["secret"]
        code = pyotp.TOTP(self.totp[email]).now()
        return dict(await self.ok("POST", "/api/v1/auth/mfa/totp/verify",
                                  json={"mfa_token": body["mfa_token"], "code": code}))

    async def wait_job(self, token: str, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 120  # bounds a hang only
        while time.monotonic() < deadline:
            state = await self.ok("GET", f"/api/v1/jobs/{job_id}/progress", token)
            if state["status"] in ("succeeded", "failed", "cancelled"):
                return dict(state)
            await asyncio.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish")


class Seeder:
    def __init__(self, api: Api, auth_sessions: Any, hasher: Any, zone_key: str) -> None:
        self.api, self.auth_sessions, self.hasher, self.zone_key = api, auth_sessions, hasher, zone_key

    async def login(self, person: Person) -> Person:
        tokens = await self.api.login(person.email)
        person.token = tokens["access_token"]
        person.totp_secret = self.api.totp.get(person.email)
        return person

    async def zone_admin(self) -> Person:
        tag = uuid.uuid4().hex[:6]
        person = Person(email=f"zone-{tag}@platform.example", name="Zone Admin")
        user_id, _ = await create_admin(self.auth_sessions, self.hasher, zone_key=self.zone_key, email=person.email,
                                        password=PASSWORD, display_name=person.name, role="zone_admin")
        person.user_id = str(user_id)
        return await self.login(person)

    async def school(self, n_students: int = 3, class_name: str = "10-A", org_name: str = "Hana High School"
                     ) -> School:
        """An org with its admin and a teacher, and a class of `n_students` provisioned from a
        roster, activated and signed in (tokens on each Person)."""
        api, tag = self.api, uuid.uuid4().hex[:6]
        zone = await self.zone_admin()
        org = (await api.ok("POST", "/api/v1/orgs", zone.token, 201, json={"name": f"{org_name} {tag}"}))["id"]
        admin = await api.register(f"principal-{tag}@hana.example", "Principal Park")
        teacher = await api.register(f"teacher-{tag}@hana.example", "Teacher Lee")
        await api.ok("POST", f"/api/v1/orgs/{org}/members", zone.token, 201,
                     json={"email": admin.email, "role": "org_admin"})
        await self.login(admin)
        await api.ok("POST", f"/api/v1/orgs/{org}/members", admin.token, 201,
                     json={"email": teacher.email, "role": "teacher"})

        names = [f"Student {i:02d} Kim" for i in range(n_students)]
        accepted = await api.ok("POST", "/api/v1/rosters/imports", admin.token, 202,
                                files={"file": ("roster.xlsx", roster_workbook(names, class_name), XLSX)})
        assert (await api.wait_job(admin.token, accepted["id"]))["status"] == "succeeded"
        prov = await api.ok("POST", f"/api/v1/rosters/imports/{accepted['id']}/provision", admin.token, 202, json={})
        assert (await api.wait_job(admin.token, prov["job_id"]))["status"] == "succeeded"
        sheet = await api.ok("GET", f"/api/v1/rosters/imports/{accepted['id']}/activation-sheet", admin.token)
        cards = {r["name"]: r for r in csv.DictReader(io.StringIO(sheet.text.lstrip("\ufeff"))) if r["role"] == "student"}

        students = []
        for name in names:
            card = cards[name]
            await api.ok("POST", "/api/v1/auth/activate", status=201, json={
                "login_id": card["login_id"], "code": card["code"], "new_password": PASSWORD})
            students.append(await self.login(Person(email=card["login_id"], name=name)))

        classes = (await api.ok("GET", "/api/v1/classes", admin.token))["items"]
        class_id = next(c["id"] for c in classes if c["name"] == class_name)
        await api.ok("PUT", f"/api/v1/classes/{class_id}/teachers/{teacher.user_id}", admin.token, 201)
        await self.login(teacher)
        roster = (await api.ok("GET", "/api/v1/rosters/students", teacher.token, params={"limit": 100}))["items"]
        for s in students:
            record = next(r for r in roster if r["name"] == s.name)
            s.user_id = record["user_id"]
        return School(org_id=org, zone_admin=zone, admin=admin, teacher=teacher, class_id=class_id,
                      class_name=class_name, students=students, roster_ids={r["name"]: r["id"] for r in roster})

    async def adaptive_exam(self, school: School, *, bank_size: int = 12, max_items: int = 5,
                            title: str = "10-A placement", time_limit_seconds: int = 1800) -> dict[str, Any]:
        """A published adaptive exam for the school's class (items answer key `B`)."""
        api, teacher = self.api, school.teacher
        bank = await api.ok("POST", "/api/v1/items/banks", teacher.token, 201, json={"name": f"{title} bank"})
        for k in range(bank_size):
            await api.ok("POST", "/api/v1/items", teacher.token, 201, json={
                "bank_id": bank["id"], "code": f"P{k:02d}", "stem": f"Question {k + 1}: which option is right?",
                "content_area": "algebra", "answer_key": "B",
                "options": [{"key": c, "text": f"Option {c}"} for c in "ABCD"], "model": "logistic",
                "a": 0.8 + (k % 4) * 0.3, "b": -2.0 + 4.0 * k / (bank_size - 1), "c": 0.1, "enemy_tags": []})
        exam = await api.ok("POST", "/api/v1/exams", teacher.token, 201, json={
            "title": title, "kind": "adaptive", "item_bank_id": bank["id"], "class_id": school.class_id,
            "time_limit_seconds": time_limit_seconds, "cat_settings": {"min_items": max_items, "max_items": max_items}})
        return dict(await api.ok("POST", f"/api/v1/exams/{exam['id']}/publish", teacher.token))

    async def parent(self, school: School, child: int = 0) -> Person:
        """A parent who registered, linked to `school.students[child]` with the teacher's parent
        code (approved at once) and signed in again with the parent role."""
        api, tag = self.api, uuid.uuid4().hex[:6]
        student = school.students[child]
        code = await api.ok("POST", f"/api/v1/rosters/students/{school.roster_ids[student.name]}/parent-codes",
                            school.teacher.token, 201, json={"valid_days": 7})
        parent = await api.register(f"parent-{tag}@family.example", "Mom Kim")
        await self.login(parent)
        link = await api.ok("POST", "/api/v1/parent-links", parent.token, 201,
                            json={"org_id": school.org_id, "parent_code": code["code"]})
        assert link["status"] == "approved", link
        return await self.login(parent)
