"""Phone numbers are encrypted at rest and stay readable across a key rotation."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from megacity.pii import PiiCipher
from megacity.testing import run_service
from services.auth.admin import rotate_pii
from services.auth.settings import DEV_PII_KEY, Settings
from services.auth.tests.conftest import FAST_HASH, bearer

PHONE = "+82 10-9876-5432"


async def test_phone_is_encrypted_and_survives_key_rotation(env) -> None:
    user_id = await env.register("private@example.com", phone=PHONE)
    raw = (await env.auth_sql("SELECT phone_encrypted FROM auth.users WHERE id = :u", u=user_id))[0].phone_encrypted
    assert raw and PHONE not in raw and "9876" not in raw
    assert PiiCipher([DEV_PII_KEY]).decrypt(raw) == PHONE

    # rotation: new key first, re-encrypt everything, then run with the new key only
    new_key = PiiCipher.generate_key()
    assert await rotate_pii(env.auth_sessions, PiiCipher([new_key, DEV_PII_KEY])) >= 2  # the user + signing key
    rotated = (await env.auth_sql("SELECT phone_encrypted FROM auth.users WHERE id = :u", u=user_id))[0]
    assert rotated.phone_encrypted != raw and PiiCipher([new_key]).decrypt(rotated.phone_encrypted) == PHONE
    with pytest.raises(ValueError):
        PiiCipher([DEV_PII_KEY]).decrypt(rotated.phone_encrypted)
    peers = {"tenant": f"127.0.0.1:{env.tenant.grpc_port}"}
    async with run_service("auth", env.db, env.namespace, pii_keys=new_key, grpc_peers=peers, **FAST_HASH) as auth:
        import httpx

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{auth.http_port}") as client:
            login = await client.post("/api/v1/auth/login", headers={"Host": "api.univprepai.com"},
                                      json={"email": "private@example.com", "password": "Correct-Horse-9"})
            assert login.status_code == 200, login.text  # the signing key decrypts with the new key too
            me = await client.get("/api/v1/users/me", headers=bearer(login.json()["access_token"]))
            assert me.json()["phone"] == PHONE


def test_pii_keys_are_required_and_real_outside_development(monkeypatch) -> None:
    monkeypatch.delenv("AUTH_PII_KEYS", raising=False)
    common = {"environment": "production", "secret_key": "s" * 32, "database_url": "postgresql://a:b@db/x"}
    with pytest.raises(ValidationError, match="AUTH_PII_KEYS is required"):
        Settings(**common)
    with pytest.raises(ValidationError, match="development key"):
        Settings(**common, pii_keys=DEV_PII_KEY)
    key = PiiCipher.generate_key()
    assert Settings(**common, pii_keys=f"{key}, {PiiCipher.generate_key()}").pii_key_list[0] == key
    assert Settings(environment="test").pii_keys == DEV_PII_KEY
    with pytest.raises(ValueError, match="Fernet"):
        PiiCipher(["not-a-key"])
