# megacity/backup: the pgBackRest CronJobs' image (deploy/k8s/backup.yaml, gateway/k8s_backup.py),
# built like our other images from Debian and PyPI packages, no third-party image:
#   docker build -f deploy/docker/backup.Dockerfile -t megacity/backup:<release tag> .
# pgBackRest 2.55.1 is installed the way scripts/setup.sh does it: bookworm's package for its
# libraries, then Debian trixie's build of the binary (PostgreSQL 16 support arrived in 2.47;
# bookworm's 2.45 refuses 16), checked against the same pinned digest. Plus `python -m
# scripts.backup` (configure/backup/restore/info) for restores run from the image.
# Machines without a registry: --build-arg BASE_IMAGE=megacity/base:bookworm (deploy/docker/base-image.sh).
ARG BASE_IMAGE=python:3.11-slim-bookworm
FROM ${BASE_IMAGE} AS backup
ARG PGBR_VERSION=2.55.1
ARG PGBR_SHA256=4143a01dba71c12aab93e67b012b5cb93ec9f80e408080ddbde6261115da381d
ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONPATH=/app
RUN apt-get update -qq \
 && apt-get install -y -qq --no-install-recommends pgbackrest ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && deb=pgbackrest_${PGBR_VERSION}-1_amd64.deb \
 && python3 -c "import sys, urllib.request; urllib.request.urlretrieve(sys.argv[1], sys.argv[2])" \
      "http://deb.debian.org/debian/pool/main/p/pgbackrest/$deb" "/tmp/$deb" \
 && echo "${PGBR_SHA256}  /tmp/$deb" | sha256sum -c --quiet \
 && dpkg-deb -x "/tmp/$deb" /tmp/pgbr \
 && install -m 0755 /tmp/pgbr/usr/bin/pgbackrest /usr/local/bin/pgbackrest \
 && rm -rf /tmp/pgbr "/tmp/$deb" \
 && test "$(/usr/local/bin/pgbackrest version)" = "pgBackRest ${PGBR_VERSION}" \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin megacity
WORKDIR /app
# scripts.backup needs psycopg only; the pin is requirements.txt's.
COPY requirements.txt ./
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install -q "$(grep -E '^psycopg\[binary\]==' requirements.txt)"
COPY scripts/backup/ scripts/backup/
ENV PATH=/usr/local/bin:/opt/venv/bin:$PATH
USER 10001
CMD ["pgbackrest", "version"]
