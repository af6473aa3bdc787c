"""A PostgreSQL cluster on this machine as pgBackRest sees it: its data directory, the OS user
that owns it (pgBackRest must run as that user, like `archive_command` does), how to reach it
over its Unix socket, and how to start a restored copy."""
from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from scripts.backup.config import BackupError


def os_user_of(path: Path) -> str:
    """The owner of `path`: postgres only runs as the owner of its data directory."""
    return pwd.getpwuid(path.stat().st_uid).pw_name


def as_user(user: str) -> dict[str, Any]:
    """subprocess keyword arguments that run a command as `user` (with its own group, not root's):
    only when we are root and someone else owns the data."""
    if os.geteuid() == 0 and user != "root":
        entry = pwd.getpwnam(user)
        return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
    return {}


def chown_tree(path: Path, user: str) -> None:
    """Hand a folder we made (as root) to the PostgreSQL OS user."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for dirpath, _dirs, files in os.walk(path):
        os.chown(dirpath, entry.pw_uid, entry.pw_gid)
        for name in files:
            os.chown(os.path.join(dirpath, name), entry.pw_uid, entry.pw_gid)


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def major_version(data: Path) -> int:
    return int((data / "PG_VERSION").read_text().strip().split(".")[0])


def pgserver_bindir() -> Path | None:
    """The PostgreSQL 16 binaries shipped by the `pgserver` package: what `make run` and the tests run."""
    spec = importlib.util.find_spec("pgserver")
    if spec and spec.submodule_search_locations:
        shipped = Path(next(iter(spec.submodule_search_locations)), "pginstall", "bin")
        if (shipped / "postgres").exists():
            return shipped
    return None


def bindir_for(version: int) -> Path:
    """Server binaries of `version`: pgserver's (16, the platform's version), else Debian's
    /usr/lib/postgresql/<v>/bin."""
    shipped = pgserver_bindir()
    if shipped and f"PostgreSQL) {version}." in subprocess.run(
            [str(shipped / "postgres"), "--version"], capture_output=True, text=True, check=False).stdout:
        return shipped
    debian = Path(f"/usr/lib/postgresql/{version}/bin")
    if (debian / "postgres").exists():
        return debian
    raise BackupError(f"no PostgreSQL {version} server binaries found (make setup installs pgserver's 16)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    """A cluster's data directory and where it listens; `start`/`stop` for the ones we run."""

    data: Path
    port: int
    socket_dir: Path
    user: str  # database superuser
    bindir: Path | None = None

    @property
    def os_user(self) -> str:
        return os_user_of(self.data)

    def conninfo(self, dbname: str = "postgres") -> str:
        return f"host={self.socket_dir} port={self.port} user={self.user} dbname={dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(self.conninfo(dbname), autocommit=True, connect_timeout=5)

    def start(self, *settings: str, log: Path | None = None) -> None:
        """pg_ctl start (waits until connections are accepted); `settings` are name=value."""
        bindir = self.bindir or bindir_for(major_version(self.data))
        opts = " ".join([f"-p {self.port}", f"-k {self.socket_dir}", "-c listen_addresses=''",
                         *(f"-c {s}" for s in settings)])
        log = log or self.data.parent / f"{self.data.name}.log"
        if os.geteuid() == 0:
            log.touch()
            os.chown(log, *_ids(self.os_user))
        run = subprocess.run([str(bindir / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(log), "-w", "-t", "120",
                              "start"], capture_output=True, text=True, check=False, **as_user(self.os_user))
        if run.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise BackupError(f"PostgreSQL in {self.data} did not start:\n{run.stdout}{run.stderr}\n{tail}")

    def stop(self) -> None:
        """pg_ctl stop -m fast, if it runs."""
        if not (self.data / "postmaster.pid").exists():
            return
        bindir = self.bindir or bindir_for(major_version(self.data))
        subprocess.run([str(bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                       capture_output=True, check=False, **as_user(self.os_user))

    def wait_promoted(self, timeout: float = 120.0) -> None:
        """Block until recovery has finished (target reached, promoted): a restore is usable then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not (self.data / "postmaster.pid").exists():  # recovery failed and the server shut down
                log = self.data.parent / f"{self.data.name}.log"
                tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
                hint = ("\nHINT: the archive holds no commit at or after the target yet: WAL is archived when a "
                        "segment fills or after archive_timeout (60 s); restore again a minute later, or pick an "
                        "earlier time" if "recovery ended before configured recovery target" in tail else "")
                raise BackupError(f"the restored cluster in {self.data} stopped during recovery:\n{tail}{hint}")
            try:
                with self.connect() as conn:
                    row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
                    if row is not None and not row[0]:
                        return
            except psycopg.OperationalError:
                pass
            time.sleep(0.2)
        raise BackupError(f"the restored cluster in {self.data} is still in recovery after {timeout:.0f}s")


def new_cluster(bindir: Path, prefix: str, *initdb_options: str) -> Cluster:
    """A fresh, stopped cluster for a test or the bench: initdb (superuser `postgres`, trust) into
    `data/` of a new folder under /tmp, which is also its socket folder, owned by the OS user
    postgres runs as (`pgserver` when we are root: postgres refuses root, as in `make run`)."""
    from scripts import local_deps  # not in the backup image, which never makes a cluster

    base = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    base.chmod(0o755)
    user = local_deps._run_as()
    data = base / "data"
    data.mkdir(mode=0o700)
    if user:
        shutil.chown(base, user, user)
        shutil.chown(data, user, user)
    subprocess.run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", *initdb_options,
                    "--no-locale"], user=user, check=True, capture_output=True)
    return Cluster(data=data, port=free_port(), socket_dir=base, user="postgres", bindir=bindir)


def running_cluster(data: Path, user: str = "postgres") -> Cluster:
    """The cluster running on `data`, located through its postmaster.pid (port, socket folder)."""
    pid_file = data / "postmaster.pid"
    if not pid_file.exists():
        raise BackupError(f"no PostgreSQL runs on {data} (no postmaster.pid): start it first (`make run`)")
    lines = pid_file.read_text().splitlines()
    port, sockets = int(lines[3]), lines[4].strip()
    if not sockets:
        raise BackupError(f"the PostgreSQL on {data} listens on no Unix socket (started with -k ''); pgBackRest "
                          "connects through one: start it with unix_socket_directories set")
    return Cluster(data=data, port=port, socket_dir=Path(sockets.split(",")[0]), user=user)
