"""K-Zone is one account audience on two domains (my-ktube.com, my-ktube.ai): a token of either
zone works on both domains' API hosts and keeps its own zone (data follows the token); every other
cross-zone use is still 403 `auth.zone_mismatch` (`megacity.auth.audience`)."""
from __future__ import annotations

import uuid

import httpx

from megacity.auth.audience import accepts, account_zone, audience_domains, audience_zone_ids
from megacity.testing import run_service
from megacity.zones import registry


def test_only_kzone_domains_form_an_audience() -> None:
    reg = registry()
    kzone, kzone_ai = reg.zone("kzone"), reg.zone("kzone-ai")
    assert audience_zone_ids(kzone) == audience_zone_ids(kzone_ai) == {kzone.id, kzone_ai.id}
    assert audience_domains(kzone_ai) == ["my-ktube.com", "my-ktube.ai"]
    assert account_zone(kzone_ai) == account_zone(kzone) == kzone
    for zone in reg.zones:
        if zone.key not in ("kzone", "kzone-ai"):
            assert audience_zone_ids(zone) == {zone.id} and account_zone(zone) == zone
            assert not accepts(zone, kzone.id) and not accepts(kzone, zone.id)
    assert accepts(kzone_ai, kzone.id) and accepts(kzone, kzone_ai.id)


async def test_a_my_ktube_com_token_works_on_api_my_ktube_ai(test_db, namespace, token_mint) -> None:
    reg = registry()
    kzone, kzone_ai, univ = reg.zone("kzone"), reg.zone("kzone-ai"), reg.zone("univ")
    org = uuid.uuid4()
    async with run_service("kzone", test_db, namespace) as rt, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{rt.http_port}") as client:
        token_mint.install(rt.app)

        def auth(zone_id: int, host: str, role: str = "teacher") -> dict[str, str]:
            token = token_mint.token(zone_id=zone_id, role=role, org_id=org)
            return {"Host": host, "Authorization": f"Bearer {token}"}

        # written on my-ktube.ai with a my-ktube.com (zone kzone) token ...
        created = await client.post("/api/v1/kzone/contents", headers=auth(kzone.id, "api.my-ktube.ai"),
                                       json={"title": "Greetings", "type": "article", "url": "https://my-ktube.ai/a/1"})
        assert created.status_code == 201, created.text
        content_id = created.json()["id"]
        # ... it lives in the token's zone: read back on my-ktube.com with the same account
        found = await client.get("/api/v1/kzone/contents", headers=auth(kzone.id, "api.my-ktube.com", "student"))
        assert found.status_code == 200, found.text
        assert [c["id"] for c in found.json()["items"]] == [content_id]
        # a kzone-ai token is accepted on my-ktube.com too (one audience both ways) and sees its own zone
        ai_side = await client.get("/api/v1/kzone/contents", headers=auth(kzone_ai.id, "api.my-ktube.com", "student"))
        assert ai_side.status_code == 200 and ai_side.json()["items"] == []
        # another zone's token is still refused on both domains
        for host in ("api.my-ktube.ai", "api.my-ktube.com"):
            other = await client.get("/api/v1/kzone/contents", headers=auth(univ.id, host, "student"))
            assert other.status_code == 403 and other.json()["code"] == "auth.zone_mismatch"
        # and a K-Zone token is refused on another zone's host
        away = await client.get("/api/v1/kzone/contents", headers=auth(kzone.id, "api.univprepai.com", "student"))
        assert away.status_code == 403 and away.json()["code"] == "auth.zone_mismatch"


async def test_one_account_signs_in_on_both_domains(test_db, namespace) -> None:
    """Registered on my-ktube.ai, the account is K-Zone's (zone `kzone`): it logs in on
    my-ktube.com, and its token works on both API hosts."""
    kzone = registry().zone("kzone")
    async with run_service("tenant", test_db, namespace) as tenant, \
            run_service("auth", test_db, namespace, argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1,
                        grpc_peers={"tenant": f"127.0.0.1:{tenant.grpc_port}"}) as auth, \
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{auth.http_port}") as client:
        body = {"email": "fan@example.com", "password": "Kpop-Fan-2026!", "display_name": "Fan"}
        created = await client.post("/api/v1/auth/register", json=body, headers={"Host": "api.my-ktube.ai"})
        assert created.status_code == 201, created.text
        again = await client.post("/api/v1/auth/register", json=body, headers={"Host": "api.my-ktube.com"})
        assert again.status_code == 409 and again.json()["code"] == "auth.email_taken"  # one account, not two
        login = await client.post("/api/v1/auth/login", json={"email": body["email"], "password": body["password"]},
                                  headers={"Host": "api.my-ktube.com"})
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        for host in ("api.my-ktube.com", "api.my-ktube.ai"):
            me = await client.get("/api/v1/users/me", headers={"Host": host, "Authorization": f"Bearer {token}"})
            assert me.status_code == 200 and me.json()["zone_id"] == kzone.id, me.text
        elsewhere = await client.get("/api/v1/users/me", headers={"Host": "api.univprepai.com",
                                                                  "Authorization": f"Bearer {token}"})
        assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "auth.zone_mismatch"
