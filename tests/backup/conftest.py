"""A private PostgreSQL 16 cluster (pgserver's binaries, the version `make run`, compose and
production run) with WAL archiving, an encrypted local pgBackRest repository and an encrypted S3
repository on a real moto S3 server (TLS), shared by this folder's tests.

pgBackRest is the one `make setup` installs (2.55.1 in /usr/local/bin, first on PATH): Debian
bookworm's 2.45 refuses PostgreSQL 16, so an older one on PATH fails the tests with that hint.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from scripts.backup import pgbackrest
from scripts.backup.cluster import Cluster, free_port, new_cluster, pgserver_bindir
from scripts.backup.config import BackupConfig, config_from_env, pgbackrest_bin

BUCKET = "mc-backups"


def require_tools() -> Path:
    """pgserver's PostgreSQL 16 binaries; skip (not fail) where the machine lacks pgbackrest or
    pgserver — `make setup` installs both."""
    bindir = pgserver_bindir()
    if shutil.which(pgbackrest_bin()) is None or bindir is None:
        pytest.skip("needs pgbackrest and pgserver's PostgreSQL 16 (make setup)")
    return bindir


PG_BIN = pgserver_bindir() or Path("/nonexistent")  # the restored copies run the same binaries


@dataclass
class Stack:
    base: Path
    cluster: Cluster
    cfg: BackupConfig
    env: dict[str, str]

    def fresh_dir(self, name: str) -> Path:
        return self.base / name


def _wait_tcp(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto_server did not listen")


@dataclass
class S3Server:
    port: int
    ca_file: Path


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """moto's S3 as a real HTTPS server process (s3_server.py; self-signed certificate that the
    clients trust as their CA: pgBackRest speaks TLS only), with the backup bucket."""
    require_tools()
    port = free_port()
    certs = Path(tempfile.mkdtemp(prefix="mc-backup-s3-"))
    certs.chmod(0o755)
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("s3_server.py")), str(port), str(certs)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_tcp(port, proc)
        ca_file = certs / "cert.pem"
        s3 = boto3.client("s3", endpoint_url=f"https://127.0.0.1:{port}", region_name="us-east-1", verify=str(ca_file),
                          aws_access_key_id="test", aws_secret_access_key="test",
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=BUCKET)
        yield S3Server(port, ca_file)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:  # a client's keep-alive connection can hold a graceful stop
            proc.kill()
            proc.wait(10)
        shutil.rmtree(certs, ignore_errors=True)


@pytest.fixture(scope="session")
def stack(s3_server: S3Server) -> Iterator[Stack]:
    """initdb + start (archive_mode=on) as the unprivileged OS user, then `configure` the way `make backup` does
    (conf file, ALTER SYSTEM archive_command, stanza-create, check), and a first full backup in both repos."""
    bindir = require_tools()
    cluster = new_cluster(bindir, "mc-backup-test-", "-E", "utf8")
    base, data = cluster.socket_dir, cluster.data
    env = {"MC_BACKUP_STATE_DIR": str(base / "state"), "MC_BACKUP_REPO_PATH": str(base / "repo1"),
           "MC_BACKUP_CIPHER_PASS": "test-repo1-passphrase", "MC_BACKUP_S3_ENDPOINT": f"https://127.0.0.1:{s3_server.port}",
           "MC_BACKUP_S3_BUCKET": BUCKET, "MC_BACKUP_S3_KEY": "test", "MC_BACKUP_S3_KEY_SECRET": "test",
           "MC_BACKUP_S3_CA_FILE": str(s3_server.ca_file), "MC_BACKUP_S3_CIPHER_PASS": "test-repo2-passphrase",
           "MC_BACKUP_PG_DATA": str(data)}
    try:
        cluster.start("archive_mode=on", "fsync=off", "max_wal_size=256MB")
        cfg = config_from_env(data, cluster.port, cluster.socket_dir, env)
        pgbackrest.configure(cfg, cluster)
        pgbackrest.backup(cfg, cluster, "full")  # both repos: later diff/incr build on it
        yield Stack(base, cluster, cfg, env)
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
