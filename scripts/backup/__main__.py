"""`python -m scripts.backup {configure,backup,restore,info}` (`make backup`, `make restore`).

The cluster is the one running on MC_BACKUP_PG_DATA (default: `make run`'s `.state/postgres`),
found through its postmaster.pid. Restores go into a fresh folder (default
`.state/restore/<stamp>`), are started on a free port to prove they recover, checked, then
stopped; the runbook says how to put one in place of the live data directory.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from scripts.backup import pgbackrest
from scripts.backup.cluster import Cluster, bindir_for, free_port, major_version, os_user_of, running_cluster
from scripts.backup.config import ROOT, BackupError, config_from_env


def _cluster(need_running: bool) -> Cluster:
    """The live cluster; for restore/info also a stopped or lost one (that is when restores happen):
    then pgBackRest runs as the owner of the backup state folder."""
    data = Path(os.environ.get("MC_BACKUP_PG_DATA", str(ROOT / ".state" / "postgres"))).resolve()
    user = os.environ.get("MC_BACKUP_PG_USER", "postgres")
    try:
        return running_cluster(data, user=user)
    except BackupError:
        if need_running:
            raise
        return Cluster(data=data, port=5432, socket_dir=Path("/tmp"), user=user)


def _os_user(cluster: Cluster, state: Path) -> str:
    for path in (cluster.data, state):
        if path.exists():
            return os_user_of(path)
    return "postgres"


def verify(restored: Cluster) -> str:
    """Start the restored copy, wait for it to promote, count each database's tables, stop it."""
    restored.start()
    try:
        restored.wait_promoted()
        with restored.connect() as conn:
            dbs = [r[0] for r in conn.execute("SELECT datname FROM pg_database WHERE NOT datistemplate").fetchall()]
        lines = []
        for db in dbs:
            with restored.connect(db) as conn:
                row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
                                   "'information_schema')").fetchone()
                lines.append(f"  {db}: {row[0] if row else 0} tables")
        return "\n".join(lines)
    finally:
        restored.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("configure", help="write pgbackrest.conf, turn WAL archiving on, create the stanza")
    b = sub.add_parser("backup", help="configure (idempotent), then back up into every repository")
    b.add_argument("--type", default="full", choices=pgbackrest.BACKUP_TYPES)
    b.add_argument("--repo", type=int, action="append", help="only this repository (1 local, 2 S3); repeatable")
    r = sub.add_parser("restore", help="restore into a fresh folder and prove it starts")
    r.add_argument("--target-time", default="", help="e.g. '2026-12-07 16:20:00+00'; empty: latest")
    r.add_argument("--immediate", action="store_true", help="stop at the end of the backup, replay no later WAL")
    r.add_argument("--repo", type=int)
    r.add_argument("--set", dest="backup_set")
    r.add_argument("--into", type=Path, help="fresh data folder (default .state/restore/<stamp>)")
    r.add_argument("--no-verify", action="store_true", help="do not start the restored copy")
    sub.add_parser("info", help="backups and WAL ranges per repository")
    args = parser.parse_args(argv)
    try:
        cluster = _cluster(need_running=args.command in ("configure", "backup"))
        cfg = config_from_env(cluster.data, cluster.port, cluster.socket_dir)
        os_user = _os_user(cluster, cfg.state)
        if not cfg.conf_path.exists():  # e.g. a new machine restoring from repo2 with the same MC_BACKUP_* settings
            pgbackrest.write_conf(cfg, os_user)
        if args.command in ("configure", "backup"):  # idempotent; picks up changed settings
            pgbackrest.configure(cfg, cluster)
        if args.command == "backup":
            pgbackrest.backup(cfg, cluster, args.type, args.repo)
            print(pgbackrest.pgbackrest(cfg, os_user, "info", quiet=True))
        elif args.command == "info":
            print(pgbackrest.pgbackrest(cfg, os_user, "info", quiet=True))
        elif args.command == "restore":
            into = args.into or ROOT / ".state" / "restore" / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
            pgbackrest.restore(cfg, os_user, into.resolve(), target_time=args.target_time or None,
                               immediate=args.immediate, repo=args.repo, backup_set=args.backup_set)
            if not args.no_verify:
                restored = Cluster(data=into.resolve(), port=free_port(), socket_dir=into.resolve(), user=cluster.user,
                                   bindir=bindir_for(major_version(into)))
                print(f"== restored copy recovered and promoted:\n{verify(restored)}")
            print(f"restored data directory: {into}\n(put in place: see docs/runbooks/backup-restore.md)")
    except BackupError as exc:
        print(f"backup: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
