"""The demo seed's guards and its fixed account list (the end-to-end run is test_run_platform.py)."""
from __future__ import annotations

import asyncio

import pyotp
import pytest

from megacity.auth.audience import account_zone
from megacity.auth.permissions import MFA_REQUIRED_ROLES
from megacity.zones import registry
from scripts import demo_seed
from services.auth.passwords import policy_violations
from services.tenant.seed import demo_org_id

NOWHERE = demo_seed.Endpoints(auth_http="http://127.0.0.1:1", tenant_http="http://127.0.0.1:1",
                              tenant_grpc="127.0.0.1:1")


@pytest.mark.parametrize("environment", ["production", "staging", "compose"])
def test_seed_refuses_outside_development(environment: str) -> None:
    """Refused before anything is touched (the database URL and the services are unreachable)."""
    with pytest.raises(demo_seed.DemoSeedError, match="development only"):
        asyncio.run(demo_seed.seed("postgresql+psycopg://nobody@127.0.0.1:1/none", NOWHERE,
                                   environment=environment, pii_keys=["unused"]))


def test_accounts_cover_every_zone_and_role() -> None:
    accounts = demo_seed.demo_accounts()
    assert len({a.email for a in accounts}) == len(accounts)
    for zone in registry().zones:
        roles = {a.role for a in accounts if a.zone_key == zone.key}
        if account_zone(zone) != zone:  # K-Zone AI: one account audience with K-Zone
            assert zone.key == "kzone-ai" and roles == set()
            continue
        expected = {"zone_admin", "org_admin"}
        if zone.key == demo_seed.SEED_ZONE:
            expected |= {"super_admin", "teacher", "student", "parent"}
        assert roles == expected, zone.key
    assert sum(a.role == "student" for a in accounts) == 2
    for a in accounts:
        assert a.mfa == (a.role in MFA_REQUIRED_ROLES)
        assert (a.org_id is None) == (a.role in ("super_admin", "zone_admin"))
        if a.org_id is not None:
            assert a.org_id == demo_org_id(a.zone_key)
        assert a.email.endswith("@demo." + a.zone.domains[0])
    assert policy_violations(demo_seed.DEMO_PASSWORD, accounts[0].email) == []
    assert len(pyotp.TOTP(demo_seed.DEMO_TOTP_SECRET).now()) == 6
