"""Issue #17 §1: time to back up and restore ~1 GB with pgBackRest (`python -m bench backup`).

A private PostgreSQL 16 cluster (pgserver's binaries, the platform's version) with WAL archiving
into an encrypted (aes-256-cbc), zstd-compressed, bundled, block-incremental local repository
(pgBackRest 2.55.1 from `make setup`) — the same configuration `make backup` writes. Generated
data: service-schema-like rows with incompressible md5 text, loaded until the database reaches
MC_BENCH_BACKUP_MB (default 1024). Timed: full backup, an incremental and a differential after
changing ~5 % each, and a restore into a fresh data directory up to the cluster being promoted
and answering queries.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from scripts.backup import pgbackrest
from scripts.backup.cluster import Cluster, free_port, new_cluster, pgserver_bindir
from scripts.backup.config import BackupConfig, pgbackrest_bin

TARGET_MB = int(os.environ.get("MC_BENCH_BACKUP_MB", "1024"))
CHUNK_ROWS = 500_000


def _du_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def _load(cluster: Cluster) -> tuple[float, float, int]:
    """Rows in exam-like and tenant-like tables until the database holds TARGET_MB: (seconds, MB, rows)."""
    started, rows = time.perf_counter(), 0
    with cluster.connect() as conn:
        conn.execute("CREATE SCHEMA exam; CREATE SCHEMA tenant")
        conn.execute("CREATE TABLE exam.responses (id bigint PRIMARY KEY, org_id int NOT NULL, attempt_id bigint NOT NULL,"
                     " answer text NOT NULL, score numeric(6,3))")
        conn.execute("CREATE TABLE tenant.students (id bigint PRIMARY KEY, org_id int NOT NULL, name text NOT NULL,"
                     " phone text NOT NULL)")
        size_mb = 0.0
        while size_mb < TARGET_MB:
            conn.execute("INSERT INTO exam.responses SELECT g, g %% 97, g / 7, md5(g::text) || md5((g + 1)::text) || "
                         "md5((g * 7)::text), (g %% 1000) / 7.0 FROM generate_series(%s::bigint, %s) g",
                         (rows, rows + CHUNK_ROWS - 1))
            conn.execute("INSERT INTO tenant.students SELECT g, g %% 97, 'student ' || md5(g::text), '+8210' || "
                         "lpad(g::text, 8, '0') FROM generate_series(%s::bigint, %s) g WHERE g %% 5 = 0",
                         (rows, rows + CHUNK_ROWS - 1))
            rows += CHUNK_ROWS
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            size_mb = (row[0] if row else 0) / 2**20
            print(f"  loaded {rows:,} responses, database {size_mb:,.0f} MB", flush=True)
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started, size_mb, rows


def run() -> str:
    bindir = pgserver_bindir()
    if shutil.which(pgbackrest_bin()) is None or bindir is None:
        return "## Backup and restore (pgBackRest, issue #17)\n\nNot run: needs pgbackrest and pgserver (make setup).\n"
    cluster = new_cluster(bindir, "mc-bench-backup-")
    base, data = cluster.socket_dir, cluster.data
    cfg = BackupConfig(pg_data=data, pg_port=cluster.port, pg_socket=base, state=base / "state", repo_path=base / "repo1",
                       cipher_pass="bench-passphrase",
                       # MC_BENCH_BACKUP_BLOCK=n: file-level incrementals, for comparison
                       block_incremental=os.environ.get("MC_BENCH_BACKUP_BLOCK", "y") != "n")
    restored = Cluster(data=base / "restored", port=free_port(), socket_dir=base, user="postgres", bindir=bindir)
    try:
        cluster.start("archive_mode=on", "max_wal_size=2GB", "checkpoint_timeout=30min")
        pgbackrest.configure(cfg, cluster)
        load_s, size_mb, rows = _load(cluster)
        t0 = time.perf_counter()
        pgbackrest.backup(cfg, cluster, "full", [1])
        full_s = time.perf_counter() - t0
        repo_mb = _du_mb(cfg.repo_path / "backup")
        with cluster.connect() as conn:
            # a day's changes: the most recent 5 % of rows (new attempts' scores), a contiguous range of pages
            conn.execute("UPDATE exam.responses SET score = score + 1 WHERE id >= %s", (rows - rows // 20,))
            conn.execute("CHECKPOINT")
        t0 = time.perf_counter()
        pgbackrest.backup(cfg, cluster, "incr", [1])
        incr_s = time.perf_counter() - t0
        incr_mb = _du_mb(cfg.repo_path / "backup") - repo_mb
        with cluster.connect() as conn:
            conn.execute("UPDATE exam.responses SET score = score + 1 WHERE id >= %s AND id < %s",
                         (rows - rows // 10, rows - rows // 20))
            conn.execute("CHECKPOINT")
        t0 = time.perf_counter()
        pgbackrest.backup(cfg, cluster, "diff", [1])  # since the full: both updates
        diff_s = time.perf_counter() - t0
        diff_mb = _du_mb(cfg.repo_path / "backup") - repo_mb - incr_mb
        with cluster.connect() as conn:
            expected = conn.execute("SELECT count(*), sum(score) FROM exam.responses").fetchone()
        t0 = time.perf_counter()
        pgbackrest.restore(cfg, cluster.os_user, restored.data)
        copy_s = time.perf_counter() - t0
        restored.start()
        restored.wait_promoted(timeout=600)
        restore_s = time.perf_counter() - t0
        with restored.connect() as conn:
            got = conn.execute("SELECT count(*), sum(score) FROM exam.responses").fetchone()
        assert got == expected, f"restored {got}, expected {expected}"
    finally:
        restored.stop()
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    block = "bundle + block incremental" if cfg.block_incremental else "file-level incremental"
    return "\n".join([
        "## Backup and restore of ~1 GB (pgBackRest, issue #17 §1)\n",
        f"Private PostgreSQL 16 cluster (pgserver's binaries), {size_mb:,.0f} MB database ({rows:,} exam-like + "
        f"{rows // 5:,} tenant-like rows, md5 text: barely compressible); pgBackRest {pgbackrest_version()}, repo1 local, "
        f"aes-256-cbc, zstd, {block}, process-max={cfg.process_max}, {os.cpu_count()} cores shared with other work. "
        f"Load took {load_s:.0f} s.\n",
        "| step | seconds | MB/s | repository growth |",
        "|---|---|---|---|",
        f"| full backup (start-fast checkpoint, copy, compress, encrypt, WAL to consistency) | {full_s:.1f} | "
        f"{size_mb / full_s:.0f} | {repo_mb:,.0f} MB |",
        f"| incremental after updating the newest 5 % of rows | {incr_s:.1f} | — | {incr_mb:,.0f} MB |",
        f"| differential after updating the 5 % before those (both changes since the full) | {diff_s:.1f} | — | {diff_mb:,.0f} MB |",
        f"| restore (latest: the differential): files into a fresh data directory | {copy_s:.1f} | "
        f"{size_mb / copy_s:.0f} | |",
        f"| restore + start + WAL replay until promoted and answering | {restore_s:.1f} | {size_mb / restore_s:.0f} | |",
        "\nThe restored cluster's row count and score sum equal the source's (checked). Each update changes a "
        "contiguous 5 % of the table's pages, but also part of every 1 GB segment file it touches: a file-level "
        "incremental (pgBackRest 2.45) copies every changed file whole, a block incremental (repo-bundle=y + "
        "repo-block=y, 2.52+) only the changed blocks. An update that touches every page (say every 20th row) changes "
        "every block, and then an incremental costs as much as a full with either. "
        "Timings vary with the other work on the shared cores. RTO for a cluster of this size is the last row plus "
        "starting the services; RPO is at most archive_timeout (60 s) of commits (docs/runbooks/backup-restore.md).\n",
    ])


def pgbackrest_version() -> str:
    out = subprocess.run([pgbackrest_bin(), "version"], capture_output=True, text=True, check=False).stdout.strip()
    return out.removeprefix("pgBackRest ")


if __name__ == "__main__":
    print(run())
