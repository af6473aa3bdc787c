"""K-Zone test fixtures: the real service (in-process, free ports) on a throwaway database, its
own Redis key prefix and NATS namespace, objects under a temp dir, and tokens from a test mint.
"""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from moto.server import ThreadedMotoServer

from megacity.testing import TestDatabase, TokenMint, run_service

KZONE_HOST = "api.my-ktube.com"
KZONE_ZONE_ID = 6
TEST_UPLOAD_LIMIT = 64 * 1024


@dataclass
class KzoneHarness:
    runtime: Any
    db: TestDatabase
    mint: TokenMint
    namespace: str
    object_root: Path
    client: httpx.AsyncClient
    org_a: uuid.UUID = field(default_factory=uuid.uuid4)
    org_b: uuid.UUID = field(default_factory=uuid.uuid4)

    def headers(self, role: str = "student", *, org: uuid.UUID | None = None, user: uuid.UUID | None = None,
                zone_id: int = KZONE_ZONE_ID, host: str = KZONE_HOST) -> dict[str, str]:
        token = self.mint.token(zone_id=zone_id, role=role, org_id=org if org is not None else self.org_a,
                                user_id=user)
        return {"Host": host, "Authorization": f"Bearer {token}"}

    def query(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """SQL as the superuser: the test's view of the truth, past RLS."""
        with psycopg.connect(self.db.admin_url, autocommit=True) as conn:
            cur = conn.execute(statement, params)
            return cur.fetchall() if cur.description else []

    def stored_files(self) -> list[Path]:
        """Every file under the object root, temp files included."""
        return sorted(p for p in self.object_root.rglob("*") if p.is_file())

    @property
    def storage(self) -> Any:
        return self.runtime.app.state.kzone.storage


@pytest.fixture
async def kzone(test_db: TestDatabase, namespace: str, token_mint: TokenMint, tmp_path: Path,
                redis_client: Any, nats_client: Any) -> AsyncIterator[KzoneHarness]:
    """kzone with a 64 KB upload limit (so 'oversize' is cheap to send) and fs objects in tmp."""
    root = tmp_path / "objects"
    async with run_service("kzone", test_db, namespace, object_backend="fs", object_root=str(root),
                           max_upload_bytes=TEST_UPLOAD_LIMIT, secret_key="kzone-test-secret-key") as rt:
        token_mint.install(rt.app)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}", timeout=20) as client:
            yield KzoneHarness(rt, test_db, token_mint, namespace, root, client)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3 API over HTTP (moto's server) on a free port, one per test module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
