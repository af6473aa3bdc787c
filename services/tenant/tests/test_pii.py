"""Issue #17 §3: roster phones and emails are encrypted at rest and still searchable.

- A `pg_dump` of the whole database, after people were seeded through the real API (students,
  teachers, parents, a roster import, a PATCH), holds none of their phone numbers or emails in
  any spelling; the API still answers them in plaintext.
- Uniqueness (name, parent phone) and the import's matching work on the blind index, whatever
  the spelling of the number.
- Key rotation: `rotate-pii` (resumable, idempotent, audited) leaves every row readable with the
  new keys only; a service with only the new keys reads, matches and refuses duplicates.
- Migration 0011 encrypts rows that exist before it and drops the plaintext columns.
"""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from megacity.db import TenantContext, tenant_transaction
from megacity.db.migrations import downgrade, upgrade
from megacity.errors import AppError
from megacity.pii import AeadPiiCipher, BlindIndex, PiiCipher
from megacity.testing import run_service
from services.tenant.admin import ProgressLine, pending_rows, rotate_pii
from services.tenant.pii import TenantPii
from services.tenant.settings import DEV_PII_INDEX_KEY, DEV_PII_KEY, Settings
from services.tenant.staff import queries as staff_queries
from services.tenant.students import queries as students_queries
from services.tenant.tests.conftest import STUDENT_PHONE_COLUMNS, TEST_PII, sealed_phone
from services.tenant.tests.test_roster_import import _upload, _wait, _xlsx

STUDENTS = [  # name, grade, parent phone as typed, email as typed
    ("Kim Minji", 10, "010-4821-7395", "Kim.Minji@Example.COM"),
    ("Lee Jun", 11, "+82 10-6390-2741", "lee.jun.pii@school.example"),
]
TEACHER = ("Park Sora", "Park.Sora.Teach@Example.org", "010 5172 9048")
PARENT = ("Choi Mirae", "mirae.choi.mom@example.net", "(010) 7306-5819")
IMPORTED = ("Jung Hana", 9, "010.8143.2967", "hana.jung.kid@example.org", "hana.mom.jung@example.org")
PATCHED_EMAIL = "minji.new.address@example.com"
ALL_PHONES = [s[2] for s in STUDENTS] + [TEACHER[2], PARENT[2], IMPORTED[2]]
ALL_EMAILS = [s[3] for s in STUDENTS] + [TEACHER[1], PARENT[1], IMPORTED[3], IMPORTED[4], PATCHED_EMAIL]
IMPORT_HEADER = ["name", "grade", "parent_phone", "email", "parent_email"]


def phone_spellings(phone: str) -> set[str]:
    """Ways a number could show up in plaintext: as typed, digits, with/without +82 and 0, dashed."""
    digits = re.sub(r"\D", "", phone)
    national = "0" + digits[2:] if digits.startswith("82") else digits
    subscriber = national[3:]
    forms = {phone, digits, national, "+" + digits, national[1:], "82" + national[1:], "+82" + national[1:],
             f"{national[:3]}-{national[3:7]}-{national[7:]}", f"{national[:3]} {national[3:7]} {national[7:]}",
             f"{subscriber[:4]}-{subscriber[4:]}", subscriber}
    return {f for f in forms if len(re.sub(r"\D", "", f)) >= 8}


def email_spellings(email: str) -> set[str]:
    local = email.split("@")[0]
    return {email, email.lower(), email.upper(), email.strip().lower().split("@")[0], local, local.lower()}


async def _seed(tenant, org: uuid.UUID) -> dict[str, str]:
    """Every kind of record with phones and emails, through the real API; name -> student id."""
    admin = tenant.actor(1, "org_admin", org)
    ids = {}
    for name, grade, phone, email in STUDENTS:
        resp = await tenant.client.post("/api/v1/rosters/students", headers=admin.headers,
                                        json={"name": name, "grade": grade, "parent_phone": phone, "email": email})
        assert resp.status_code == 201, resp.text
        ids[name] = resp.json()["id"]
    resp = await tenant.client.patch(f"/api/v1/rosters/students/{ids['Kim Minji']}", headers=admin.headers,
                                     json={"email": PATCHED_EMAIL})
    assert resp.status_code == 200 and resp.json()["email"] == PATCHED_EMAIL, resp.text
    for path, (name, email, phone) in (("teachers", TEACHER), ("parents", PARENT)):
        resp = await tenant.client.post(f"/api/v1/rosters/{path}", headers=admin.headers,
                                        json={"name": name, "email": email, "phone": phone})
        assert resp.status_code == 201, resp.text
        assert (resp.json()["email"], resp.json()["phone"]) == (email.lower(), re.sub(r"[\s\-().]", "", phone))
    resp = await _upload(tenant, admin, _xlsx([IMPORT_HEADER, list(IMPORTED)]))
    assert resp.status_code == 202, resp.text
    detail, _ = await _wait(tenant, admin, resp.json()["id"])
    assert (detail["created_count"], detail["error_count"]) == (1, 0), detail
    return ids


def pg_dump(url: str) -> str:
    """The whole database as SQL, by the pg_dump of the server's major version (pgserver ships
    16's; a Debian server's is under /usr/lib/postgresql)."""
    with psycopg.connect(url) as conn:
        major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    pgserver_bin = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / \
        "site-packages" / "pgserver" / "pginstall" / "bin" / "pg_dump"
    candidates = [pgserver_bin] if major == 16 else []
    candidates.append(Path(f"/usr/lib/postgresql/{major}/bin/pg_dump"))
    binary = next((c for c in candidates if c.exists()), None)
    assert binary is not None, f"no pg_dump for PostgreSQL {major} in {candidates}"
    out = subprocess.run([str(binary), "--dbname", url, "--no-owner"], capture_output=True, check=True, timeout=120)
    return out.stdout.decode("utf-8", errors="replace")


async def test_pg_dump_holds_no_plaintext_phone_or_email_of_a_seeded_person(tenant) -> None:
    org = await tenant.make_org(1, "PII School")
    await _seed(tenant, org)
    admin = tenant.actor(1, "org_admin", org)

    # Those allowed still read plaintext.
    students = (await tenant.client.get("/api/v1/rosters/students", headers=admin.headers)).json()["items"]
    shown = {s["name"]: (s["parent_phone"], s["email"]) for s in students}
    assert shown == {"Kim Minji": ("01048217395", PATCHED_EMAIL), "Lee Jun": ("+821063902741", STUDENTS[1][3]),
                     "Jung Hana": ("01081432967", IMPORTED[3])}
    parents = (await tenant.client.get("/api/v1/rosters/parents", headers=admin.headers)).json()["items"]
    assert [(p["email"], p["phone"]) for p in parents] == [(PARENT[1], "01073065819")]

    dump = pg_dump(tenant.db.admin_url)
    assert "tenant.students" in dump and "parent_phone_encrypted" in dump  # it is the tenant database
    assert dump.count("m1.") >= 10  # the values are there, as AES-GCM tokens (megacity.pii.AeadPiiCipher)
    leaked = sorted({f for p in ALL_PHONES for f in phone_spellings(p) if f in dump} |
                    {f for e in ALL_EMAILS for f in email_spellings(e) if f in dump})
    assert leaked == [], f"plaintext PII in pg_dump: {leaked}"
    # Sanity of the check itself: the same dump with one plaintext value is caught.
    assert any(f in dump + "\n01048217395" for f in phone_spellings(STUDENTS[0][2]))


async def test_uniqueness_and_import_matching_use_the_blind_index(tenant) -> None:
    org = await tenant.make_org(1)
    admin = tenant.actor(1, "org_admin", org)
    ids = await _seed(tenant, org)
    index = (await tenant.sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'students_key_live'"))[0].indexdef
    assert "parent_phone_index" in index and "UNIQUE" in index

    # The same number spelled otherwise is the same key: 409 on create and on a rename onto it.
    resp = await tenant.client.post("/api/v1/rosters/students", headers=admin.headers,
                                    json={"name": "Kim Minji", "grade": 3, "parent_phone": "010 4821 7395"})
    assert resp.status_code == 409 and resp.json()["code"] == "student.exists", resp.text
    resp = await tenant.client.patch(f"/api/v1/rosters/students/{ids['Lee Jun']}", headers=admin.headers,
                                     json={"name": "Kim Minji", "parent_phone": "(010)4821-7395"})
    assert resp.status_code == 409 and resp.json()["code"] == "student.exists", resp.text
    # The database refuses it too, whatever wrote it (the unique index is on the digest).
    with pytest.raises(IntegrityError):
        async with tenant_transaction(tenant.sessions, TenantContext(1, org, "org_admin")) as s:
            await s.execute(text(f"INSERT INTO tenant.students (zone_id, org_id, name, grade, {STUDENT_PHONE_COLUMNS})"
                                 " VALUES (1, :o, 'Kim Minji', 4, :pe, :pi, :kid)"),
                            {"o": org, **sealed_phone("01048217395")})

    # The import matches on the digest: other spellings update the existing students.
    again = _xlsx([IMPORT_HEADER, ["Kim Minji", 12, "010-4821-7395", None, None],
                   ["Jung Hana", 9, "01081432967", "HANA.JUNG.KID@example.org", None],
                   ["Lee Jun", 11, "+82-10-6390-2741", None, "new.parent.lee@example.org"]])
    detail, _ = await _wait(tenant, admin, (await _upload(tenant, admin, again)).json()["id"])
    assert (detail["created_count"], detail["updated_count"], detail["unchanged_count"]) == (0, 2, 1), detail
    rows = await tenant.sql("SELECT name, grade, email_encrypted, parent_email_index FROM tenant.students"
                            " WHERE org_id = :o", o=org)
    by_name = {r.name: r for r in rows}
    assert len(rows) == 3 and by_name["Kim Minji"].grade == 12
    assert TEST_PII.open(by_name["Kim Minji"].email_encrypted) == PATCHED_EMAIL  # a blank cell keeps it
    assert by_name["Lee Jun"].parent_email_index == TEST_PII.index.email("New.Parent.Lee@example.org ")


async def test_rotate_pii_reencrypts_in_resumable_chunks_and_new_keys_alone_suffice(tenant, namespace) -> None:
    org = await tenant.make_org(1)
    ids = await _seed(tenant, org)
    org2 = await tenant.make_org(2)  # another zone: the command walks every zone
    await tenant.client.post("/api/v1/rosters/students", headers=tenant.actor(2, "org_admin", org2).headers,
                             json={"name": "Zone Two", "grade": 1, "parent_phone": "010-3333-4444"})
    before = await tenant.sql("SELECT count(*) AS n FROM tenant.students")
    assert before[0].n == 4

    new_key, new_index_key = PiiCipher.generate_key(), BlindIndex.generate_key()
    rotating = TenantPii(AeadPiiCipher([new_key, DEV_PII_KEY]), BlindIndex(new_index_key))
    assert await pending_rows(tenant.sessions, rotating) == {"students": 4, "teachers": 1, "parents": 1}

    # Interrupted after the first chunk (batch 1): that row is done, the rest still old.
    class Stop(Exception):
        pass

    def stop_after_one(n: int, label: str) -> None:
        raise Stop

    with pytest.raises(Stop):
        await rotate_pii(tenant.sessions, rotating, batch=1, progress=stop_after_one)
    assert sum((await pending_rows(tenant.sessions, rotating)).values()) == 5
    out = io.StringIO()
    line = ProgressLine(out, 5)
    done = await rotate_pii(tenant.sessions, rotating, batch=2, progress=line.advance)  # resumes
    assert done.total == 5 and done.rows == {"students": 3, "teachers": 1, "parents": 1}
    assert "5/5 rows (100%)" in out.getvalue()
    assert (await rotate_pii(tenant.sessions, rotating)).total == 0  # idempotent
    # Audited per zone (megacity.audit, through the outbox).
    audits = await tenant.sql("SELECT zone_id, payload FROM tenant.outbox"
                              " WHERE event_type = 'audit.tenant.pii.key_rotated' ORDER BY zone_id")
    assert {a.zone_id for a in audits} == {1, 2}
    assert all(rotating.key_id in str(a.payload) for a in audits)

    # Every row opens with the new key alone, and not with the old one; digests are the new key's.
    new_only = TenantPii(AeadPiiCipher([new_key]), BlindIndex(new_index_key))
    for table, columns in (("students", ("parent_phone", "email", "parent_email")),
                           ("teachers", ("email", "phone")), ("parents", ("email", "phone"))):
        cols = ", ".join(f"{c}_encrypted, {c}_index" for c in columns)
        for row in await tenant.sql(f"SELECT pii_key_id, {cols} FROM tenant.{table}"):
            assert row.pii_key_id == rotating.key_id
            for c in columns:
                token = getattr(row, f"{c}_encrypted")
                if token is None:
                    continue
                value = new_only.open(token)
                with pytest.raises(AppError) as refused:
                    TEST_PII.open(token)
                assert (refused.value.status, refused.value.code) == (503, "pii.key_unavailable")
                digest = new_only.index.phone(value) if "phone" in c else new_only.index.email(value)
                assert getattr(row, f"{c}_index") == digest

    # The running service still has only the old key: a row it cannot open is 503, not a crash.
    resp = await tenant.client.get("/api/v1/rosters/students", headers=tenant.actor(1, "org_admin", org).headers)
    assert resp.status_code == 503 and resp.json()["code"] == "pii.key_unavailable", resp.text
    assert "@" not in resp.text

    # A tenant service holding only the new keys reads plaintext, matches imports, refuses duplicates.
    await tenant.runtime.app.state.roster_imports.wait_idle(timeout=30)
    async with run_service("tenant", tenant.db, namespace, grpc_peers={"auth": "127.0.0.1:9"},
                           pii_keys=new_key, pii_index_key=new_index_key) as runtime:
        tenant.mint.install(runtime.app)
        admin = tenant.actor(1, "org_admin", org)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.http_port}", timeout=30) as client:
            items = (await client.get("/api/v1/rosters/students", headers=admin.headers)).json()["items"]
            assert {i["name"]: i["parent_phone"] for i in items}["Kim Minji"] == "01048217395"
            resp = await client.post("/api/v1/rosters/students", headers=admin.headers,
                                     json={"name": "Kim Minji", "grade": 3, "parent_phone": "010-4821-7395"})
            assert resp.status_code == 409, resp.text
            upload = await client.post("/api/v1/rosters/imports", headers=admin.headers, files={
                "file": ("r.xlsx", _xlsx([IMPORT_HEADER, list(IMPORTED)]),
                         "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")})
            assert upload.status_code == 202, upload.text
            await runtime.app.state.roster_imports.wait_idle(timeout=60)
            detail = (await client.get(f"/api/v1/rosters/imports/{upload.json()['id']}", headers=admin.headers)).json()
            assert (detail["created_count"], detail["unchanged_count"]) == (0, 1), detail

    # A replica not yet restarted (old key first) updates rotated rows: they must not keep the new
    # id with an old-key ciphertext, but go back to `rotate-pii` (marked stale, '').
    old_first = TenantPii(AeadPiiCipher([DEV_PII_KEY, new_key]), TEST_PII.index)
    assert old_first.key_id == TEST_PII.key_id
    teacher = (await tenant.sql("SELECT id FROM tenant.teachers"))[0].id
    async with tenant_transaction(tenant.sessions, TenantContext(zone_id=1, org_id=org, role="org_admin")) as s:
        assert await students_queries.update_student(s, old_first, 1, org, uuid.UUID(ids["Lee Jun"]),
                                                     {"email": "lee.old.replica@example.com"})
        assert await staff_queries.update_person(s, old_first, "teachers", 1, org, teacher,
                                                 {"phone": "010-2222-3333"}) is not None
        # And a writer on the row's own keys keeps the id.
        assert await students_queries.update_student(s, rotating, 1, org, uuid.UUID(ids["Kim Minji"]), {"grade": 7})
    assert await pending_rows(tenant.sessions, rotating) == {"students": 1, "teachers": 1, "parents": 0}
    done = await rotate_pii(tenant.sessions, rotating)
    assert done.rows == {"students": 1, "teachers": 1, "parents": 0} and "" in done.replaced
    lee = (await tenant.sql("SELECT email_encrypted FROM tenant.students WHERE name = 'Lee Jun'"))[0]
    assert new_only.open(lee.email_encrypted) == "lee.old.replica@example.com"


async def test_migration_0011_encrypts_existing_rows_and_drops_plaintext(test_db, monkeypatch) -> None:
    for variable in ("TENANT_ENVIRONMENT", "TENANT_PII_KEYS", "TENANT_PII_INDEX_KEY"):
        monkeypatch.delenv(variable, raising=False)
    owner = test_db.owner_url("tenant")
    downgrade("tenant", owner, "0010")
    org = uuid.uuid4()
    with psycopg.connect(test_db.admin_url, autocommit=True) as conn:  # the superuser: past RLS
        conn.execute("INSERT INTO tenant.orgs (id, zone_id, name) VALUES (%s, 1, 'Old')", (org,))
        conn.execute("INSERT INTO tenant.students (zone_id, org_id, name, grade, parent_phone, email, parent_email)"
                     " SELECT 1, %s, 'Kid ' || g, 5, '0105555' || lpad(g::text, 4, '0'),"
                     " 'kid' || g || '@old.example', CASE WHEN g %% 2 = 0 THEN 'mom' || g || '@old.example' END"
                     " FROM generate_series(1, 2500) g", (org,))  # more than one migration batch
        conn.execute("INSERT INTO tenant.parents (zone_id, org_id, name, email, phone) VALUES"
                     " (1, %s, 'Mom', 'mom.old@old.example', '01099998888'), (1, %s, 'Nobody', NULL, NULL)", (org, org))
    # Rows to encrypt, no keys and no environment (a production Job missing its Secret): refused,
    # rather than encrypting with the public development keys; nothing changed (one transaction).
    with pytest.raises(RuntimeError, match="TENANT_ENVIRONMENT=development"):
        upgrade("tenant", owner, "head")
    with psycopg.connect(test_db.admin_url, autocommit=True) as conn:
        assert conn.execute("SELECT parent_phone FROM tenant.students WHERE name = 'Kid 42'").fetchone() == (
            "01055550042",)
    monkeypatch.setenv("TENANT_ENVIRONMENT", "test")
    upgrade("tenant", owner, "head")
    with psycopg.connect(test_db.admin_url, autocommit=True) as conn:
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'tenant'"
            " AND table_name IN ('students', 'teachers', 'parents')")}
        assert not columns & {"parent_phone", "email", "parent_email", "phone"}
        forced = dict(conn.execute("SELECT relname, relforcerowsecurity FROM pg_class WHERE relnamespace ="
                                   " 'tenant'::regnamespace AND relname IN ('students', 'teachers', 'parents')"))
        assert forced == {"students": True, "teachers": True, "parents": True}
        kid = conn.execute("SELECT name, parent_phone_encrypted, parent_phone_index, email_encrypted,"
                           " parent_email_encrypted, pii_key_id FROM tenant.students WHERE name = 'Kid 42'").fetchone()
        mom = conn.execute("SELECT email_encrypted, phone_index, pii_key_id FROM tenant.parents"
                           " WHERE name = 'Mom'").fetchone()
        assert conn.execute("SELECT count(*) FROM tenant.students WHERE pii_key_id = %s",
                            (TEST_PII.key_id,)).fetchone()[0] == 2500
        # Nor on disk: no dead row version or dropped column value keeps plaintext (heap and TOAST
        # files, after a checkpoint wrote every page).
        conn.execute("CHECKPOINT")
        for table in ("students", "parents"):
            files = conn.execute(
                "SELECT pg_relation_filepath(c.oid), pg_relation_filepath(nullif(c.reltoastrelid, 0))"
                " FROM pg_class c WHERE c.oid = CAST(%s AS regclass)", (f"tenant.{table}",)).fetchone()
            data = b"".join(conn.execute("SELECT pg_read_binary_file(%s)", (f,)).fetchone()[0]
                            for f in files if f is not None)
            assert data and not any(v in data for v in (b"01055550042", b"kid42@old.example", b"mom.old@old"))
    assert TEST_PII.open(kid[1]) == "01055550042" and kid[2] == TEST_PII.index.phone("010-5555-0042")
    assert (TEST_PII.open(kid[3]), TEST_PII.open(kid[4]), kid[5]) == ("kid42@old.example", "mom42@old.example",
                                                                      TEST_PII.key_id)
    assert TEST_PII.open(mom[0]) == "mom.old@old.example" and mom[1] == TEST_PII.index.phone("01099998888")
    # And back: the downgrade decrypts (then the database goes to head again for the next tests).
    downgrade("tenant", owner, "0010")
    with psycopg.connect(test_db.admin_url, autocommit=True) as conn:
        assert conn.execute("SELECT parent_phone, email FROM tenant.students WHERE name = 'Kid 42'"
                            ).fetchone() == ("01055550042", "kid42@old.example")
    upgrade("tenant", owner, "head")


def test_pii_keys_are_required_and_real_outside_development(monkeypatch) -> None:
    for variable in ("TENANT_PII_KEYS", "TENANT_PII_INDEX_KEY"):
        monkeypatch.delenv(variable, raising=False)
    common = {"environment": "production", "secret_key": "s" * 32, "database_url": "postgresql://a:b@db/x"}
    key, index_key = PiiCipher.generate_key(), BlindIndex.generate_key()
    with pytest.raises(ValidationError, match="TENANT_PII_KEYS is required"):
        Settings(**common, pii_index_key=index_key)
    with pytest.raises(ValidationError, match="TENANT_PII_INDEX_KEY is required"):
        Settings(**common, pii_keys=key)
    with pytest.raises(ValidationError, match="development key"):
        Settings(**common, pii_keys=f"{key},{DEV_PII_KEY}", pii_index_key=index_key)
    with pytest.raises(ValidationError, match="development key"):
        Settings(**common, pii_keys=key, pii_index_key=DEV_PII_INDEX_KEY)
    with pytest.raises(ValidationError, match="one key"):
        Settings(**common, pii_keys=key, pii_index_key=f"{index_key},{BlindIndex.generate_key()}")
    assert Settings(**common, pii_keys=f"{key}, {PiiCipher.generate_key()}", pii_index_key=index_key
                    ).pii_key_list[0] == key
    assert Settings(environment="test").pii_index_key == DEV_PII_INDEX_KEY
    with pytest.raises(ValueError, match="32 random bytes"):
        BlindIndex("c2hvcnQ=")
    # The index: normalised, keyed, separated by kind.
    index = BlindIndex(index_key)
    assert index.email(" Mom@Example.COM ") == index.email("mom@example.com")
    assert index.phone("010-1234-5678") == index.phone("(010) 1234 5678") != index.phone("+82 10 1234 5678")
    assert index.email("01012345678") != index.phone("01012345678")
    assert BlindIndex(BlindIndex.generate_key()).email("a@b.co") != index.email("a@b.co")
    assert os.environ.get("TENANT_PII_KEYS") is None
    # The AEAD cipher: its own tokens, Fernet ones (auth's format) too; tampering and strangers refused.
    aead = AeadPiiCipher([key])
    token = aead.encrypt("010-1234-5678")
    assert token.startswith("m1.") and aead.encrypt("010-1234-5678") != token
    assert aead.decrypt(token) == "010-1234-5678" == aead.decrypt(PiiCipher([key]).encrypt("010-1234-5678"))
    assert aead.rotate(PiiCipher([key]).encrypt("x")).startswith("m1.")
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for bad in (tampered, AeadPiiCipher([PiiCipher.generate_key()]).encrypt("x"), "m1.nokey.AAAA"):
        with pytest.raises(ValueError):
            aead.decrypt(bad)
    for cut in ("m1.", "m1.truncated", token.rsplit(".", 1)[0] + "."):  # a cut token: damaged, not a crash
        with pytest.raises(ValueError, match="damaged"):
            aead.decrypt(cut)
