"""What pgBackRest needs to know, from the environment, rendered as one pgbackrest.conf.

Secrets (cipher passphrases, S3 keys) live in the conf file, mode 0600 and owned by the
PostgreSQL OS user, because `archive_command` runs in the server's environment, not ours.
"""
from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

STANZA = "megacity"
ROOT = Path(__file__).resolve().parents[2]


class BackupError(RuntimeError):
    """A backup/restore step failed; the message says what to do."""


def pgbackrest_bin() -> str:
    """pgbackrest as an absolute path, so `archive_command` (the server's PATH) runs the same binary
    as we do: MC_BACKUP_PGBACKREST, else the first on PATH (`make setup` puts 2.55.1 in /usr/local/bin,
    ahead of Debian bookworm's 2.45, which refuses PostgreSQL 16)."""
    return os.environ.get("MC_BACKUP_PGBACKREST") or shutil.which("pgbackrest") or "pgbackrest"


@dataclass(frozen=True)
class Retention:
    """Seed 000 §11: 7 daily + weekly. Schedule: a full backup every Sunday, a differential every
    other day. `full` weekly fulls are kept (with all WAL since the oldest, so any moment in those
    weeks can be restored); `diff` daily differentials are kept on top of them."""

    full: int = 4
    diff: int = 7


@dataclass(frozen=True)
class S3Repo:
    """repo2: an S3 bucket (MinIO in compose, any S3 in production). pgBackRest speaks HTTPS only."""

    endpoint: str  # host name, no scheme
    bucket: str
    key: str
    key_secret: str
    cipher_pass: str
    port: int = 443
    region: str = "us-east-1"
    path: str = "/pgbackrest"
    verify_tls: bool = True
    ca_file: str | None = None
    uri_style: str = "path"  # MinIO and moto serve buckets by path, not by virtual host
    retention: Retention = field(default_factory=lambda: Retention(full=8, diff=7))


@dataclass(frozen=True)
class BackupConfig:
    """One cluster (pg1) and its repositories; `state` holds conf, logs, locks and spool."""

    pg_data: Path
    pg_port: int
    pg_socket: Path
    state: Path
    repo_path: Path
    cipher_pass: str
    s3: S3Repo | None = None
    pg_user: str = "postgres"  # database superuser pgBackRest connects as
    retention: Retention = field(default_factory=Retention)
    process_max: int = 2
    compress_type: str = "zst"
    block_incremental: bool = True  # repo-bundle + repo-block (2.52+): incrementals copy changed blocks, not files
    stanza: str = STANZA
    binary: str = field(default_factory=pgbackrest_bin)

    @property
    def conf_path(self) -> Path:
        return self.state / "pgbackrest.conf"

    @property
    def repos(self) -> list[int]:
        return [1, 2] if self.s3 else [1]

    def archive_command(self) -> str:
        """The server's archive_command: every finished WAL segment goes to every repository."""
        return f"{self.binary} --config={self.conf_path} --stanza={self.stanza} archive-push %p"

    def _block_lines(self, repo: int) -> list[str]:
        """Bundling (small files packed together) and block incremental: a diff/incr copies only the
        changed blocks of a changed file instead of the whole 1 GB segment."""
        return [f"repo{repo}-bundle=y", f"repo{repo}-block=y"] if self.block_incremental else []

    def render(self) -> str:
        """pgbackrest.conf text."""
        lines = [
            "[global]",
            f"log-path={self.state / 'log'}",
            f"lock-path={self.state / 'lock'}",
            f"spool-path={self.state / 'spool'}",
            "log-level-file=detail",
            f"process-max={self.process_max}",
            f"compress-type={self.compress_type}",
            "start-fast=y",  # checkpoint at once: backups start now, not at the next timed checkpoint
            "",
            f"repo1-path={self.repo_path}",
            "repo1-cipher-type=aes-256-cbc",
            f"repo1-cipher-pass={self.cipher_pass}",
            "repo1-retention-full-type=count",
            f"repo1-retention-full={self.retention.full}",
            f"repo1-retention-diff={self.retention.diff}",
            *self._block_lines(1),
        ]
        if self.s3:
            s3 = self.s3
            lines += [
                "",
                "repo2-type=s3",
                f"repo2-path={s3.path}",
                f"repo2-s3-endpoint={s3.endpoint}",
                f"repo2-storage-port={s3.port}",
                f"repo2-s3-bucket={s3.bucket}",
                f"repo2-s3-region={s3.region}",
                f"repo2-s3-key={s3.key}",
                f"repo2-s3-key-secret={s3.key_secret}",
                f"repo2-s3-uri-style={s3.uri_style}",
                f"repo2-storage-verify-tls={'y' if s3.verify_tls else 'n'}",
                *([f"repo2-storage-ca-file={s3.ca_file}"] if s3.ca_file else []),
                "repo2-cipher-type=aes-256-cbc",
                f"repo2-cipher-pass={s3.cipher_pass}",
                "repo2-retention-full-type=count",
                f"repo2-retention-full={s3.retention.full}",
                f"repo2-retention-diff={s3.retention.diff}",
                *self._block_lines(2),
            ]
        lines += [
            "",
            f"[{self.stanza}]",
            f"pg1-path={self.pg_data}",
            f"pg1-port={self.pg_port}",
            f"pg1-socket-path={self.pg_socket}",
            f"pg1-user={self.pg_user}",
        ]
        return "\n".join(lines) + "\n"


def _secret(env: Mapping[str, str], name: str, keep: Path) -> str:
    """`name` from the environment, else one generated once and kept in `keep` (mode 0600):
    local development only — losing it loses every backup, so production sets the variable."""
    if env.get(name):
        return env[name]
    if keep.exists():
        return keep.read_text().strip()
    keep.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    keep.touch(mode=0o600)
    keep.write_text(value + "\n")
    return value


def s3_from_env(env: Mapping[str, str], state: Path) -> S3Repo | None:
    """repo2 when MC_BACKUP_S3_ENDPOINT is set (host or https://host:port)."""
    endpoint = env.get("MC_BACKUP_S3_ENDPOINT", "")
    if not endpoint:
        return None
    host, port = endpoint.removeprefix("https://"), 443
    if endpoint.startswith("http://"):
        raise BackupError("MC_BACKUP_S3_ENDPOINT must be https: pgBackRest talks to S3 over TLS only")
    if ":" in host:
        host, _, raw = host.partition(":")
        port = int(raw.rstrip("/"))
    missing = [n for n in ("MC_BACKUP_S3_BUCKET", "MC_BACKUP_S3_KEY", "MC_BACKUP_S3_KEY_SECRET") if not env.get(n)]
    if missing:
        raise BackupError(f"repo2 (S3) needs {', '.join(missing)}")
    return S3Repo(endpoint=host.rstrip("/"), port=port, bucket=env["MC_BACKUP_S3_BUCKET"], key=env["MC_BACKUP_S3_KEY"],
                  key_secret=env["MC_BACKUP_S3_KEY_SECRET"], region=env.get("MC_BACKUP_S3_REGION", "us-east-1"),
                  path=env.get("MC_BACKUP_S3_PATH", "/pgbackrest"),
                  verify_tls=env.get("MC_BACKUP_S3_VERIFY_TLS", "y").lower() not in ("n", "no", "0", "false"),
                  ca_file=env.get("MC_BACKUP_S3_CA_FILE") or None,
                  cipher_pass=_secret(env, "MC_BACKUP_S3_CIPHER_PASS", state / "repo2.pass"))


def config_from_env(pg_data: Path, pg_port: int, pg_socket: Path, env: Mapping[str, str] | None = None) -> BackupConfig:
    """The configuration for one running cluster; paths and secrets from MC_BACKUP_* variables."""
    env = os.environ if env is None else env
    state = Path(env.get("MC_BACKUP_STATE_DIR", str(ROOT / ".state" / "backup"))).resolve()
    return BackupConfig(
        pg_data=pg_data, pg_port=pg_port, pg_socket=pg_socket, state=state,
        repo_path=Path(env.get("MC_BACKUP_REPO_PATH", str(state / "repo1"))).resolve(),
        cipher_pass=_secret(env, "MC_BACKUP_CIPHER_PASS", state / "repo1.pass"),
        s3=s3_from_env(env, state),
        retention=Retention(full=int(env.get("MC_BACKUP_RETENTION_FULL", 4)), diff=int(env.get("MC_BACKUP_RETENTION_DIFF", 7))),
        process_max=int(env.get("MC_BACKUP_PROCESS_MAX", 2)),
        block_incremental=env.get("MC_BACKUP_BLOCK_INCREMENTAL", "y").lower() not in ("n", "no", "0", "false"),
    )
