"""Run a command (the test suite) against a PostgreSQL that has pgvector.

`MC_TEST_PG_URL` (default the machine's 127.0.0.1:5432) is used when it offers the `vector`
extension. Otherwise — Debian's PostgreSQL 15 here has no pgvector package — a throwaway
pgserver PostgreSQL 16 (pgvector bundled) is started in a temporary directory, the command runs
with `MC_TEST_PG_URL` pointing at it, and the server is stopped and deleted afterwards, whatever
the command's outcome. The command's exit status is ours.

    python scripts/with_test_postgres.py -- python -m pytest -q
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import local_deps  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# A test server: no durability needed, many connections (each test's services keep pools).
TEST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
                 "max_connections": "400", "shared_buffers": "256MB"}


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    url = os.environ.get("MC_TEST_PG_URL", DEFAULT_URL)
    if local_deps.has_pgvector(url):
        return subprocess.call(argv)
    state = Path(tempfile.mkdtemp(prefix="mc-test-pg-"))
    state.chmod(0o755)  # postgres runs as the unprivileged `pgserver` user when we are root
    dep = None
    try:
        print(f"tests: {local_deps.display_url(url)} has no pgvector; starting pgserver's PostgreSQL 16 "
              f"under {state}", flush=True)
        dep = local_deps.start_postgres(state, TEST_SETTINGS)
        print(f"tests: MC_TEST_PG_URL={dep.url}", flush=True)
        return subprocess.call(argv, env=dict(os.environ, MC_TEST_PG_URL=dep.url))
    except local_deps.DependencyError as exc:
        print(f"tests: {exc}", file=sys.stderr)
        return 1
    finally:
        if dep is not None:
            dep.stop()
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
