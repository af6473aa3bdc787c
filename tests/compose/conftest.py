"""The compose stack as the integration suite sees it: the edge (Traefik's published HTTPS port,
self-signed), the OTLP receiver's query API, Prometheus, and `docker compose` for operator
commands. Started by `make compose-test` (scripts/compose_stack.py), which passes the env file."""
from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from scripts.compose_stack import ENV_FILE, compose_cmd

ZONE_HOST = "api.my-ktube.com"  # zone kzone: its api host serves auth, tenant, exam and kzone


def read_env(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and not line.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


@dataclass
class Stack:
    env: dict[str, str]
    edge: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        # Traefik's local profile has a self-signed certificate; SNI names the zone's host.
        self.edge = httpx.Client(base_url=f"https://127.0.0.1:{self.env['EDGE_HTTPS_PORT']}", verify=False,
                                 timeout=60)

    def call(self, method: str, path: str, token: str | None = None, host: str = ZONE_HOST, *,
             patient: bool = True, **kw: Any) -> httpx.Response:
        """One request through the edge. `patient`: wait out the edge's rate limits (per client
        address; this suite is one address) as a well-behaved client would."""
        headers = {"Host": host, **({"Authorization": f"Bearer {token}"} if token else {}), **kw.pop("headers", {})}
        for _ in range(30):
            resp = self.edge.request(method, path, headers=headers, extensions={"sni_hostname": host}, **kw)
            if resp.status_code != 429 or not patient:
                return resp
            time.sleep(min(float(resp.headers.get("Retry-After") or 2), 15))
        return resp

    def ok(self, method: str, path: str, token: str | None = None, status: int = 200, **kw: Any) -> Any:
        resp = self.call(method, path, token, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.text[:500])
        return resp.json()

    def compose(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(compose_cmd(*args), input=stdin, capture_output=True, text=True, timeout=600,
                              check=True)

    def local(self, port_var: str, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.env[port_var]}{path}", timeout=10)


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    env_file = Path(os.environ.get("MC_COMPOSE_ENV_FILE", str(ENV_FILE)))
    assert env_file.exists(), f"{env_file} is missing: run `make compose-up` (or `make compose-test`)"
    s = Stack(read_env(env_file))
    yield s
    s.edge.close()


def strong_password() -> str:
    return "Mc-" + secrets.token_urlsafe(18) + "!7a"


@dataclass
class Person:
    email: str
    password: str
    token: str = ""
    user_id: str = ""


@dataclass
class World:
    """A zone's super admin (TOTP), an org, and a teacher and a student in it, all through the edge."""

    admin: Person
    org_id: str
    teacher: Person
    student: Person


def login_response(stack: Stack, person: Person) -> dict[str, Any]:
    """POST /auth/login (the edge allows a few a minute per address: `call` waits them out)."""
    resp = stack.call("POST", "/api/v1/auth/login", json={"email": person.email, "password": person.password})
    assert resp.status_code == 200, resp.text[:500]
    return dict(resp.json())


def login(stack: Stack, person: Person) -> str:
    body = login_response(stack, person)
    assert body["mfa_required"] is False, body
    return str(body["access_token"])


@pytest.fixture(scope="session")
def world(stack: Stack) -> World:
    run = uuid.uuid4().hex[:8]
    admin = Person(f"root-{run}@example.com", strong_password())
    # The operator CLI inside the auth container (the only way to make the first admin).
    stack.compose("exec", "-T", "-e", f"AUTH_ADMIN_PASSWORD={admin.password}", "auth", "python", "-m",
                  "services.auth.admin", "create-super-admin", "--zone", "kzone", "--email", admin.email)
    challenge = login_response(stack, admin)
    assert challenge["mfa_required"] is True, challenge
    enrolled = stack.ok("POST", "/api/v1/auth/mfa/totp/enroll", json={"mfa_token": challenge["mfa_token"]})
    tokens = stack.ok("POST", "/api/v1/auth/mfa/totp/verify",
                      json={"mfa_token": challenge["mfa_token"], "code": pyotp.TOTP(enrolled["secret"]).now()})
    admin.token = tokens["access_token"]

    org_id = stack.ok("POST", "/api/v1/orgs", admin.token, 201, json={"name": f"Compose Academy {run}"})["id"]
    people = {}
    for role in ("teacher", "student"):
        person = Person(f"{role}-{run}@example.com", strong_password())
        user = stack.ok("POST", "/api/v1/auth/register", status=201,
                        json={"email": person.email, "password": person.password, "display_name": role.title()})
        person.user_id = user["id"]
        stack.ok("POST", f"/api/v1/orgs/{org_id}/members", admin.token, 201, json={"email": person.email, "role": role})
        person.token = login(stack, person)
        people[role] = person
    return World(admin, org_id, people["teacher"], people["student"])


def wait_until(what: str, check: Any, timeout: float = 120, interval: float = 1.0) -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")
