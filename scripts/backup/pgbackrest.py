"""The pgBackRest steps: configure (conf file, archive_command, stanza), back up, restore, info.
Each command runs as the data directory's OS user, as `archive_command` does, so the
repository, logs and locks always have one owner. Progress goes to the console
(`--log-level-console=info`): a 1 GB backup prints each file as it is copied."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from psycopg import sql

from scripts.backup.cluster import Cluster, as_user, chown_tree
from scripts.backup.config import BackupConfig, BackupError

BACKUP_TYPES = ("full", "diff", "incr")


def pgbackrest(cfg: BackupConfig, os_user: str, command: str, *args: str, quiet: bool = False) -> str:
    """Run one pgbackrest command; its console log streams to our stdout unless `quiet`."""
    if shutil.which(cfg.binary) is None:
        raise BackupError("pgbackrest is not installed: make setup installs 2.55.1 to /usr/local/bin")
    cmd = [cfg.binary, f"--config={cfg.conf_path}", f"--stanza={cfg.stanza}",
           f"--log-level-console={'warn' if quiet else 'info'}", command, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **as_user(os_user))
    assert proc.stdout is not None
    out = []
    for line in proc.stdout:
        out.append(line)
        if not quiet:
            sys.stdout.write(line)
            sys.stdout.flush()
    text = "".join(out)
    if proc.wait() != 0:
        hint = ""
        if "unexpected control version" in text:
            hint = (f"\nHINT: this pgBackRest ({cfg.binary}) does not know this PostgreSQL major version (Debian "
                    "bookworm's 2.45 stops at 15): make setup installs 2.55.1 to /usr/local/bin")
        raise BackupError(f"pgbackrest {command} failed (exit {proc.returncode}):\n{text.strip()}{hint}")
    return text


def write_conf(cfg: BackupConfig, os_user: str) -> None:
    """pgbackrest.conf (0600) and the folders it names, all owned by the PostgreSQL OS user."""
    cfg.state.mkdir(parents=True, exist_ok=True)
    for sub in ("log", "lock", "spool"):
        (cfg.state / sub).mkdir(exist_ok=True)
    cfg.repo_path.mkdir(parents=True, exist_ok=True)
    cfg.conf_path.touch(mode=0o600)
    cfg.conf_path.chmod(0o600)
    cfg.conf_path.write_text(cfg.render())
    for path in (cfg.state, cfg.repo_path):
        chown_tree(path, os_user)


def configure(cfg: BackupConfig, cluster: Cluster) -> None:
    """Conf file, WAL archiving on the running server (ALTER SYSTEM + reload), stanza, check.
    archive_mode needs a restart: when it is still off we say so instead of backing up a cluster
    whose WAL goes nowhere (a backup without its WAL cannot be restored)."""
    os_user = cluster.os_user
    write_conf(cfg, os_user)
    with cluster.connect() as conn:
        # ALTER SYSTEM takes no bind parameters: a quoted literal, built by psycopg
        conn.execute(sql.SQL("ALTER SYSTEM SET archive_command = {}").format(sql.Literal(cfg.archive_command())))
        conn.execute("ALTER SYSTEM SET archive_mode = 'on'")
        conn.execute("ALTER SYSTEM SET archive_timeout = '60s'")  # RPO: a quiet server still ships WAL each minute
        conn.execute("SELECT pg_reload_conf()")
        row = conn.execute("SHOW archive_mode").fetchone()
    if row is None or row[0] == "off":
        raise BackupError("archive_mode=on is saved (postgresql.auto.conf) but needs one PostgreSQL restart; "
                          "restart it (stop and start `make run`), then run `make backup` again")
    pgbackrest(cfg, os_user, "stanza-create")
    pgbackrest(cfg, os_user, "check")


def backup(cfg: BackupConfig, cluster: Cluster, kind: str = "full", repos: list[int] | None = None) -> None:
    """One backup of `kind` into each repository (pgBackRest writes one repository per run);
    expiry by the retention settings runs at the end of each."""
    if kind not in BACKUP_TYPES:
        raise BackupError(f"backup type must be one of {BACKUP_TYPES}, not {kind!r}")
    for repo in repos or cfg.repos:
        print(f"== {kind} backup of stanza {cfg.stanza} into repo{repo}", flush=True)
        pgbackrest(cfg, cluster.os_user, "backup", f"--type={kind}", f"--repo={repo}")


def info(cfg: BackupConfig, os_user: str) -> list[dict[str, Any]]:
    """`pgbackrest info --output=json`: the backups and WAL ranges of each repository."""
    data: list[dict[str, Any]] = json.loads(pgbackrest(cfg, os_user, "info", "--output=json", quiet=True))
    return data


def restore(cfg: BackupConfig, os_user: str, target: Path, *, target_time: str | None = None, immediate: bool = False,
            repo: int | None = None, backup_set: str | None = None) -> None:
    """Restore into `target` (a fresh, empty or missing folder): to `target_time` (PITR), to the
    end of the backup itself (`immediate`), or else to the end of the archived WAL (latest).
    The copy does not archive (archive-mode=off), so it never writes into the live repository."""
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: restore into a fresh folder")
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    target.chmod(0o700)
    chown_tree(target, os_user)
    args = [f"--pg1-path={target}", "--archive-mode=off"]
    if target_time:
        args += ["--type=time", f"--target={target_time}", "--target-action=promote"]
    elif immediate:
        args += ["--type=immediate", "--target-action=promote"]
    if repo:
        args.append(f"--repo={repo}")
    if backup_set:
        args.append(f"--set={backup_set}")
    print(f"== restore of stanza {cfg.stanza} into {target}"
          + (f" to {target_time}" if target_time else " to the backup's end" if immediate else " to the latest WAL"), flush=True)
    pgbackrest(cfg, os_user, "restore", *args)
