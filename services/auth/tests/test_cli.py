"""The operator commands, run the way operators run them (subprocesses against the database)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from megacity.db import TenantContext, make_engine, make_sessionmaker, tenant_transaction

ROOT = Path(__file__).resolve().parents[3]


def _run(args: list[str], db, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'libs'}", "AUTH_ENVIRONMENT": "test",
           "AUTH_DATABASE_URL": db.app_url("auth"), "AUTH_ARGON2_TIME_COST": "1", "AUTH_ARGON2_MEMORY_KIB": "1024",
           "AUTH_ARGON2_PARALLELISM": "1", "AUTH_LOG_LEVEL": "WARNING"}
    env.pop("AUTH_ADMIN_PASSWORD", None)
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, env=env, input=stdin, capture_output=True,
                          text=True, timeout=60)


async def test_bootstrap_admin_and_key_rotation_commands(test_db) -> None:
    done = _run(["services.auth.admin", "create-super-admin", "--zone", "univ", "--email", "Root@Example.com"],
                test_db, stdin="Sup3r-Secret!\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("created super_admin ")
    weak = _run(["services.auth.admin", "create-super-admin", "--zone", "univ", "--email", "x@example.com"],
                test_db, stdin="weak\n")
    assert weak.returncode != 0 and "auth.password_weak" in weak.stderr
    first = _run(["services.auth.keys", "list"], test_db)
    scheduled = _run(["services.auth.keys", "rotate"], test_db)
    rotated = _run(["services.auth.keys", "rotate", "--now"], test_db)
    assert first.returncode == scheduled.returncode == rotated.returncode == 0, first.stderr + rotated.stderr
    old_kid = first.stdout.split()[0]
    next_kid = scheduled.stdout.split()[2]
    assert f"{old_kid}  active" in scheduled.stdout and f"{next_kid}  next" in scheduled.stdout
    assert rotated.stdout.split()[3] == next_kid  # --now activates the key already published
    assert f"{next_kid}  active" in rotated.stdout and f"{old_kid}  passive" in rotated.stdout

    engine = make_engine(test_db.app_url("auth"), pool_size=1)
    try:
        async with tenant_transaction(make_sessionmaker(engine), TenantContext(1, role="super_admin")) as s:
            user = (await s.execute(text("SELECT email, platform_role, mfa_enabled_at FROM auth.users"))).one()
            actions = (await s.execute(text("SELECT action FROM auth.audit_logs WHERE zone_id = 1"
                                            " ORDER BY id"))).scalars().all()
    finally:
        await engine.dispose()
    assert (user.email, user.platform_role, user.mfa_enabled_at) == ("root@example.com", "super_admin", None)
    # the super admin, then zone 1's record of each key change (every zone gets one)
    assert actions[0] == "admin.super_admin.created" and actions.count("admin.super_admin.created") == 1
    assert {"auth.signing_key.published", "auth.signing_key.rotated"} <= set(actions[1:])
