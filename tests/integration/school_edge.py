"""What the school-through-the-edge tests share: a client for one school address (the edge sees
127.0.0.1 for everyone) that records every status the edge answered, so a 429 anywhere is seen."""
from __future__ import annotations

import socket
import uuid
from collections import Counter
from typing import Any

import httpx

HOST = "api.univprepai.com"
PASSWORD = "Correct-Horse-9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class School:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.statuses: Counter[int] = Counter()

    async def call(self, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
        headers = {"Host": HOST, **({"Authorization": f"Bearer {token}"} if token else {})}
        resp = await self.client.request(method, path, headers=headers, **kw)
        self.statuses[resp.status_code] += 1
        return resp

    async def ok(self, method: str, path: str, token: str | None = None, status: int = 200, **kw: Any) -> Any:
        """The JSON body (or the response itself when it is not JSON) of an answer that must be `status`."""
        resp = await self.call(method, path, token, **kw)
        assert resp.status_code == status, (method, path, resp.status_code, resp.headers.get("retry-after"), resp.text)
        return resp.json() if resp.headers.get("content-type", "").startswith("application/json") else resp

    async def register(self, email: str, name: str | None = None) -> uuid.UUID:
        body = {"email": email, "password": PASSWORD, "display_name": name or email.split("@")[0]}
        return uuid.UUID((await self.ok("POST", "/api/v1/auth/register", status=201, json=body))["id"])
