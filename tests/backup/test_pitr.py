"""Issue #17 §1 must-show: pgBackRest backups restored into a fresh cluster, compared row by row.

1. point in time: full + diff backups from the encrypted local repo, WAL replayed to a timestamp
   taken from the server between two batches of writes — the restored cluster has every row
   committed up to it and none after (0 lost, 0 extra).
2. latest backup after `DROP SCHEMA ... CASCADE`, from the encrypted S3 repository, driven through
   the CLI (`python -m scripts.backup`, what `make backup` / `make restore` run).
"""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import psycopg
import pytest

from scripts.backup import __main__ as cli
from scripts.backup import pgbackrest
from scripts.backup.cluster import Cluster, free_port
from tests.backup.conftest import PG_BIN, Stack

SCHEMA_DDL = [
    "CREATE SCHEMA IF NOT EXISTS auth",
    "CREATE TABLE IF NOT EXISTS auth.accounts (id bigint PRIMARY KEY, email text NOT NULL UNIQUE,"
    " password_hash bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())",
    "CREATE TABLE IF NOT EXISTS auth.sessions (id uuid PRIMARY KEY DEFAULT gen_random_uuid(),"
    " account_id bigint NOT NULL REFERENCES auth.accounts, revoked boolean NOT NULL DEFAULT false)",
    "CREATE SCHEMA IF NOT EXISTS tenant",
    "CREATE TABLE IF NOT EXISTS tenant.students (zone_id int NOT NULL, org_id int NOT NULL, id bigint NOT NULL,"
    " name text NOT NULL, parent_phone text, PRIMARY KEY (zone_id, org_id, id))",
    "ALTER TABLE tenant.students ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE tenant.students FORCE ROW LEVEL SECURITY",
    "DO $$ BEGIN CREATE POLICY org_isolation ON tenant.students"
    " USING (org_id = current_setting('app.org_id', true)::int); EXCEPTION WHEN duplicate_object THEN NULL; END $$",
    "CREATE SCHEMA IF NOT EXISTS exam",
    "CREATE TABLE IF NOT EXISTS exam.responses (id bigserial PRIMARY KEY, attempt_id bigint NOT NULL,"
    " item text NOT NULL, score numeric(6,3), payload jsonb NOT NULL)",
]
SCHEMAS = ("auth", "tenant", "exam")


def connect(cluster: Cluster) -> psycopg.Connection:
    return cluster.connect()


def ensure_schemas(conn: psycopg.Connection) -> None:
    for ddl in SCHEMA_DDL:
        conn.execute(ddl)


def write_batch(conn: psycopg.Connection, start: int, n: int) -> None:
    """n rows per table in one transaction each (accounts+sessions, students, responses), plus an
    update and a delete of older rows so the comparison covers more than appends."""
    with conn.transaction():
        conn.execute("INSERT INTO auth.accounts (id, email, password_hash) SELECT g, 'user' || g || '@example.org',"
                     " sha256(g::text::bytea) FROM generate_series(%s::bigint, %s) g", (start, start + n - 1))
        conn.execute("INSERT INTO auth.sessions (account_id) SELECT g FROM generate_series(%s::bigint, %s) g",
                     (start, start + n - 1))
    with conn.transaction():
        conn.execute("INSERT INTO tenant.students SELECT 1 + g %% 9, 100 + g %% 7, g, 'student ' || g,"
                     " '+8210' || lpad(g::text, 8, '0') FROM generate_series(%s::bigint, %s) g", (start, start + n - 1))
    with conn.transaction():
        conn.execute("INSERT INTO exam.responses (attempt_id, item, score, payload) SELECT g / 3, 'item-' || g,"
                     " (g %% 1000) / 7.0, jsonb_build_object('g', g, 'choice', g %% 5) FROM generate_series(%s::bigint, %s) g",
                     (start, start + n - 1))
    with conn.transaction():
        conn.execute("UPDATE auth.sessions SET revoked = true WHERE account_id %% 10 = %s %% 10 AND NOT revoked", (start,))
        conn.execute("DELETE FROM exam.responses WHERE id IN (SELECT id FROM exam.responses ORDER BY id LIMIT 3)")


def snapshot(cluster: Cluster) -> dict[str, Counter[str]]:
    """Every row of every table in the service schemas, as text, per table (superuser: RLS does not hide rows)."""
    with connect(cluster) as conn:
        tables = [f"{s}.{t}" for s, t in conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = ANY(%s)"
            " AND table_type = 'BASE TABLE' ORDER BY 1, 2", (list(SCHEMAS),)).fetchall()]
        return {t: Counter(r[0] for r in conn.execute(f"SELECT x::text FROM {t} AS x").fetchall()) for t in tables}


def assert_same(expected: dict[str, Counter[str]], got: dict[str, Counter[str]]) -> None:
    assert sorted(got) == sorted(expected), "tables differ"
    lost = {t: sum((expected[t] - got[t]).values()) for t in expected}
    extra = {t: sum((got[t] - expected[t]).values()) for t in expected}
    assert sum(lost.values()) == 0 and sum(extra.values()) == 0, f"lost {lost}, extra {extra}"
    assert sum(sum(c.values()) for c in expected.values()) > 0


def start_restored(stack: Stack, data: Path) -> Cluster:
    restored = Cluster(data=data, port=free_port(), socket_dir=stack.base, user="postgres", bindir=PG_BIN)
    restored.start()
    restored.wait_promoted()
    return restored


def test_restore_to_a_point_in_time_from_the_encrypted_local_repo(stack: Stack) -> None:
    live = stack.cluster
    with connect(live) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
        assert row is not None and int(row[0]) // 10000 == 16, "the platform's PostgreSQL major version"
        ensure_schemas(conn)
        write_batch(conn, 1_000, 500)
    pgbackrest.backup(stack.cfg, live, "full", [1])
    with connect(live) as conn:
        write_batch(conn, 2_000, 500)
    pgbackrest.backup(stack.cfg, live, "diff", [1])
    with connect(live) as conn:
        write_batch(conn, 3_000, 500)  # only in WAL: replayed from the archive
        row = conn.execute("SELECT now()::text").fetchone()  # after the commits above, from the server's clock
    assert row is not None
    target = row[0]
    expected = snapshot(live)
    with connect(live) as conn:
        write_batch(conn, 4_000, 500)  # after the target: must not come back
        conn.execute("SELECT pg_switch_wal()")
    pgbackrest.pgbackrest(stack.cfg, live.os_user, "check", quiet=True)  # WAL past the target is archived

    into = stack.fresh_dir("pitr")
    pgbackrest.restore(stack.cfg, live.os_user, into, target_time=target, repo=1)
    info = (stack.cfg.repo_path / "backup" / "megacity" / "backup.info").read_bytes()
    assert b"[backup:current]" not in info, "repo1 must be encrypted (aes-256-cbc)"
    assert {"repo1-bundle=y", "repo1-block=y"} <= set(stack.cfg.conf_path.read_text().split())  # block incremental
    restored = start_restored(stack, into)
    try:
        assert_same(expected, snapshot(restored))
        with restored.connect() as conn:
            assert conn.execute("SELECT count(*) FROM auth.accounts WHERE id >= 4000").fetchone() == (0,)
    finally:
        restored.stop()
        shutil.rmtree(into, ignore_errors=True)


def test_latest_backup_after_drop_schema_from_s3(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    live = stack.cluster
    with connect(live) as conn:
        ensure_schemas(conn)
        write_batch(conn, 10_000, 300)
    assert cli.main(["backup", "--type=incr", "--repo=2"]) == 0  # on top of the fixture's full backup in repo2
    expected = snapshot(live)
    with connect(live) as conn:
        conn.execute("DROP SCHEMA exam CASCADE")
        write_batch_without_exam(conn)
    assert "exam.responses" not in snapshot(live)

    into = stack.fresh_dir("latest")
    assert cli.main(["restore", "--immediate", "--repo=2", f"--into={into}", "--no-verify"]) == 0
    restored = start_restored(stack, into)
    try:
        assert_same(expected, snapshot(restored))
    finally:
        restored.stop()
        shutil.rmtree(into, ignore_errors=True)
    with connect(live) as conn:  # leave the live cluster as the other test expects it
        ensure_schemas(conn)


def test_make_restore_latest_replays_every_archived_commit_and_proves_the_copy_starts(
        stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """`make restore` with no TARGET_TIME, the live cluster stopped: all archived WAL, then the CLI
    starts the copy itself; every commit archived before the loss is back."""
    for name, value in stack.env.items():
        monkeypatch.setenv(name, value)
    live = stack.cluster
    with connect(live) as conn:
        ensure_schemas(conn)
        write_batch(conn, 20_000, 200)
        conn.execute("SELECT pg_switch_wal()")
    expected = snapshot(live)
    pgbackrest.pgbackrest(stack.cfg, live.os_user, "check", quiet=True)  # the last commits are archived

    live.stop()  # the live cluster is gone: restores must not need it
    into = stack.fresh_dir("latest-wal")
    try:
        assert cli.main(["restore", f"--into={into}"]) == 0  # started, promoted, counted, stopped by the CLI
        restored = start_restored(stack, into)
        try:
            assert_same(expected, snapshot(restored))
        finally:
            restored.stop()
    finally:
        shutil.rmtree(into, ignore_errors=True)
        live.start("archive_mode=on", "fsync=off")


def write_batch_without_exam(conn: psycopg.Connection) -> None:
    with conn.transaction():
        conn.execute("INSERT INTO auth.accounts (id, email, password_hash) VALUES (99999, 'late@example.org', '\\x00')")
