"""Roster provisioning (gRPC ProvisionAccounts / TakeActivationCodes, called by tenant) and
`POST /api/v1/auth/activate`: accounts made once per external key, codes shown once, a code
sets the first password once, wrong codes are limited like logins."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from mcproto.auth.v1 import auth_pb2, auth_pb2_grpc
from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.grpc.client import call, make_channel
from services.auth.db_scope import scoped_transaction
from services.auth.tests.conftest import PASSWORD, host

NEW_PASSWORD = "Battery-Staple-42"


async def _provision(env, org: uuid.UUID, people: list[tuple[str, str, str]], *, reissue: bool = False,
                     zone_id: int = 1) -> list:
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        reply = await call(stub.ProvisionAccounts, auth_pb2.ProvisionAccountsRequest(
            zone_id=zone_id, org_id=str(org), people=[
                auth_pb2.ProvisionPerson(external_key=k, display_name=n, email=e, reissue=reissue)
                for k, n, e in people]), peer="auth", timeout=30)
        return list(reply.accounts)


async def _take(env, org: uuid.UUID, user_ids: list[str], zone_id: int = 1) -> dict[str, auth_pb2.ActivationCode]:
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        reply = await call(stub.TakeActivationCodes, auth_pb2.TakeActivationCodesRequest(
            zone_id=zone_id, org_id=str(org), user_ids=user_ids), peer="auth", timeout=30)
        return {c.user_id: c for c in reply.codes}


async def _activate(env, login_id: str, code: str, password: str = NEW_PASSWORD, address: str | None = None):
    return await env.client.post("/api/v1/auth/activate", headers=host(1, address),
                                 json={"login_id": login_id, "code": code, "new_password": password})


async def test_provision_is_idempotent_links_existing_emails_and_shows_codes_once(env) -> None:
    org = uuid.uuid4()
    taken = await env.register("taken@example.com")
    people = [("student:1", "Kim Minji", ""), ("student:2", "Lee Jun", "jun@example.com"),
              ("student:3", "Park Seo", "TAKEN@example.com"), ("parent:1", "Parent of Kim", "")]
    first = await _provision(env, org, people)
    assert [a.external_key for a in first] == ["student:1", "student:2", "student:3", "parent:1"]
    outcome = {a.external_key: a.outcome for a in first}
    assert outcome == {"student:1": auth_pb2.PROVISION_OUTCOME_CREATED, "student:2": auth_pb2.PROVISION_OUTCOME_CREATED,
                       "student:3": auth_pb2.PROVISION_OUTCOME_LINKED, "parent:1": auth_pb2.PROVISION_OUTCOME_CREATED}
    by_key = {a.external_key: a for a in first}
    assert by_key["student:3"].user_id == str(taken) and not by_key["student:3"].code_issued
    assert by_key["student:2"].login_id == "jun@example.com"
    assert by_key["student:1"].login_id.endswith("@roster.invalid")
    assert by_key["student:1"].login_id != by_key["parent:1"].login_id

    again = await _provision(env, org, people)
    assert [(a.user_id, a.login_id) for a in again] == [(a.user_id, a.login_id) for a in first]
    assert {a.outcome for a in again} == {auth_pb2.PROVISION_OUTCOME_EXISTING, auth_pb2.PROVISION_OUTCOME_LINKED}
    assert not any(a.code_issued for a in again)
    users = await env.auth_sql("SELECT count(*) AS n FROM auth.users WHERE zone_id = 1")
    assert users[0].n == 4  # the registered one + three new

    ids = [a.user_id for a in first]
    codes = await _take(env, org, ids)
    assert set(codes) == {by_key[k].user_id for k in ("student:1", "student:2", "parent:1")}
    assert all(len(c.code) == 11 and c.code[5] == "-" for c in codes.values())
    assert await _take(env, org, ids) == {}  # shown once
    assert await _take(env, uuid.uuid4(), ids) == {}  # and only to its org
    stored = await env.auth_sql("SELECT code_sealed, code_hash FROM auth.activation_codes")
    assert len(stored) == 3 and all(r.code_sealed is None for r in stored)
    assert not any(c.code.encode() in bytes(r.code_hash) for r in stored for c in codes.values())


async def test_activate_sets_the_password_once_and_the_account_logs_in(env) -> None:
    org = uuid.uuid4()
    [acct] = await _provision(env, org, [("student:9", "No Email Kid", "")])
    code = (await _take(env, org, [acct.user_id]))[acct.user_id].code
    before = await env.login(acct.login_id, password=PASSWORD)
    assert before.status_code == 401  # no usable password until activated

    weak = await _activate(env, acct.login_id, code, password="short")
    assert weak.status_code == 422 and weak.json()["code"] == "auth.password_weak"
    resp = await _activate(env, acct.login_id.upper(), code.lower().replace("-", " "))
    assert resp.status_code == 201, resp.text
    assert resp.json()["user_id"] == acct.user_id and resp.json()["login_id"] == acct.login_id

    tokens = await env.tokens(acct.login_id, password=NEW_PASSWORD)
    assert tokens["access_token"]
    reused = await _activate(env, acct.login_id, code, password="Other-Pass-77")
    assert reused.status_code == 410 and reused.json()["code"] == "auth.activation_used"
    assert (await env.login(acct.login_id, password="Other-Pass-77")).status_code == 401
    audit = await env.auth_sql("SELECT action FROM auth.audit_logs WHERE user_id = :u ORDER BY id", u=uuid.UUID(acct.user_id))
    assert "auth.activation.activated" in [a.action for a in audit]


async def test_wrong_codes_are_400_then_blocked_and_unknown_login_answers_the_same(env) -> None:
    org = uuid.uuid4()
    [acct] = await _provision(env, org, [("student:1", "Kid", "")])
    code = (await _take(env, org, [acct.user_id]))[acct.user_id].code
    unknown = await _activate(env, "nobody@roster.invalid", code, address="10.0.0.9")
    assert unknown.status_code == 400 and unknown.json()["code"] == "auth.activation_invalid"
    for _ in range(5):
        wrong = await _activate(env, acct.login_id, "AAAAA-AAAAA", address="10.0.0.1")
        assert wrong.status_code == 400 and wrong.json()["code"] == "auth.activation_invalid"
    blocked = await _activate(env, acct.login_id, code, address="10.0.0.2")
    assert blocked.status_code == 429 and blocked.json()["code"] == "auth.too_many_attempts"


async def test_reissue_replaces_the_code_and_expired_codes_are_410(env) -> None:
    org = uuid.uuid4()
    [acct] = await _provision(env, org, [("student:1", "Kid", "")])
    old = (await _take(env, org, [acct.user_id]))[acct.user_id].code
    [again] = await _provision(env, org, [("student:1", "Kid", "")], reissue=True)
    assert again.outcome == auth_pb2.PROVISION_OUTCOME_EXISTING and again.code_issued
    new = (await _take(env, org, [acct.user_id]))[acct.user_id].code
    assert new != old
    assert (await _activate(env, acct.login_id, old)).status_code == 400

    await env.auth_sql("UPDATE auth.activation_codes SET expires_at = now() - interval '1 second'")
    expired = await _activate(env, acct.login_id, new)
    assert expired.status_code == 410 and expired.json()["code"] == "auth.activation_expired"
    # A linked (self-registered) account never gets a code, reissue or not.
    await env.register("own@example.com")
    [linked] = await _provision(env, org, [("student:2", "Own", "own@example.com")], reissue=True)
    [linked] = await _provision(env, org, [("student:2", "Own", "own@example.com")], reissue=True)
    assert linked.outcome == auth_pb2.PROVISION_OUTCOME_LINKED and not linked.code_issued


async def test_bad_requests_and_rls_keep_codes_to_the_service_scope(env) -> None:
    org = uuid.uuid4()
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        for request, code in (
                (auth_pb2.ProvisionAccountsRequest(zone_id=1, org_id="nope"), "request.invalid_uuid"),
                (auth_pb2.ProvisionAccountsRequest(zone_id=99, org_id=str(org)), "zone.not_found"),
                (auth_pb2.ProvisionAccountsRequest(zone_id=1, org_id=str(org), people=[
                    auth_pb2.ProvisionPerson(external_key=f"k{i}", display_name="x") for i in range(1001)]),
                 "request.too_many"),
                (auth_pb2.ProvisionAccountsRequest(zone_id=1, org_id=str(org), people=[
                    auth_pb2.ProvisionPerson(external_key=" ", display_name="x")]), "request.invalid")):
            with pytest.raises(AppError) as err:
                await call(stub.ProvisionAccounts, request, peer="auth", timeout=30)
            assert err.value.code == code
    [acct] = await _provision(env, org, [("student:1", "Kid", "")])
    # A logged-in user (even of the same zone, even the account itself) sees no codes or mappings;
    # another zone's service scope neither.
    async with tenant_transaction(env.auth_sessions, TenantContext(1, role="student",
                                                                   user_id=uuid.UUID(acct.user_id))) as s:
        assert (await s.execute(text("SELECT count(*) FROM auth.activation_codes"))).scalar_one() == 0
        assert (await s.execute(text("SELECT count(*) FROM auth.provisioned_accounts"))).scalar_one() == 0
    async with scoped_transaction(env.auth_sessions, 2, "service") as s:
        assert (await s.execute(text("SELECT count(*) FROM auth.activation_codes"))).scalar_one() == 0
    async with scoped_transaction(env.auth_sessions, 1, "service") as s:
        assert (await s.execute(text("SELECT count(*) FROM auth.activation_codes"))).scalar_one() == 1
    assert await _take(env, org, [acct.user_id], zone_id=2) == {}


async def test_a_previous_key_is_renamed_to_the_new_one_same_account(env) -> None:
    org = uuid.uuid4()
    [old] = await _provision(env, org, [("parent:01012345678", "Parent", "")])
    new_key = "parent:" + "ab" * 32
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        reply = await call(stub.ProvisionAccounts, auth_pb2.ProvisionAccountsRequest(
            zone_id=1, org_id=str(org), people=[
                auth_pb2.ProvisionPerson(external_key=new_key, display_name="Parent",
                                         previous_external_key="parent:01012345678"),
                auth_pb2.ProvisionPerson(external_key="parent:" + "cd" * 32, display_name="New",
                                         previous_external_key="parent:01099999999")]), peer="auth", timeout=30)
    renamed, fresh = reply.accounts
    assert (renamed.external_key, renamed.user_id, renamed.outcome) == (
        new_key, old.user_id, auth_pb2.PROVISION_OUTCOME_EXISTING)
    assert fresh.outcome == auth_pb2.PROVISION_OUTCOME_CREATED  # no previous mapping: a new account
    async with scoped_transaction(env.auth_sessions, 1, "service") as s:
        keys = {r.external_key for r in await s.execute(text(
            "SELECT external_key FROM auth.provisioned_accounts WHERE org_id = :o"), {"o": org})}
    assert keys == {new_key, "parent:" + "cd" * 32}  # the old (plaintext) key is gone
    # Once renamed, the new key alone answers the same account.
    [again] = await _provision(env, org, [(new_key, "Parent", "")])
    assert (again.user_id, again.outcome) == (old.user_id, auth_pb2.PROVISION_OUTCOME_EXISTING)


async def test_an_account_the_caller_knows_is_linked_not_made_again(env) -> None:
    org = uuid.uuid4()
    own = await env.register("own@example.com")
    [acct] = await _provision(env, org, [("student:1", "Own", "")])  # no email: a new account...
    async with make_channel(f"127.0.0.1:{env.auth.grpc_port}") as ch:
        stub = auth_pb2_grpc.AuthServiceStub(ch)
        reply = await call(stub.ProvisionAccounts, auth_pb2.ProvisionAccountsRequest(
            zone_id=1, org_id=str(org), people=[
                auth_pb2.ProvisionPerson(external_key="student:1", display_name="Own", user_id=str(own)),
                auth_pb2.ProvisionPerson(external_key="student:2", display_name="Own", user_id=str(own)),
                auth_pb2.ProvisionPerson(external_key="student:3", display_name="Ghost", user_id=str(uuid.uuid4()))]),
            peer="auth", timeout=30)
    first, second, ghost = reply.accounts
    # ...which a known key keeps; a new key with a known account is linked to it, never a code.
    assert (first.user_id, first.outcome) == (acct.user_id, auth_pb2.PROVISION_OUTCOME_EXISTING)
    assert (second.user_id, second.outcome, second.code_issued) == (str(own), auth_pb2.PROVISION_OUTCOME_LINKED,
                                                                    False)
    assert second.login_id == "own@example.com"
    # An account id auth does not know (deleted since) gets a fresh account.
    assert ghost.outcome == auth_pb2.PROVISION_OUTCOME_CREATED and ghost.code_issued
