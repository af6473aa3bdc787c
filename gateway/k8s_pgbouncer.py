"""PgBouncer in transaction pooling mode between the services and PostgreSQL.

Only the app roles connect through it (their SCRAM verifiers are its `userlist.txt`, from the
Secret `megacity-pgbouncer`); with SCRAM pass-through PgBouncer logs in to PostgreSQL with the
client's own proof, so it holds no password. Transaction pooling keeps no server-side prepared
statements, which the services leave off (psycopg `prepare_threshold=None`).
"""
from __future__ import annotations

import hashlib
from typing import Any

from gateway import k8s_cluster as cluster
from gateway import k8s_network, k8s_pods
from gateway.k8s_secrets import PGBOUNCER, PGBOUNCER_USERLIST
from gateway.k8s_services import IMAGE_SKIPS
from megacity.zones import Registry

NAME = cluster.PGBOUNCER.name
COMPONENT = "database-pooler"
CONFIG_DIR = "/etc/pgbouncer"
AUTH_DIR = "/etc/pgbouncer-auth"


def ini() -> str:
    pg = cluster.POSTGRES
    return "\n".join([
        "[databases]",
        f"{cluster.DATABASE} = host={pg.host} port={pg.port} dbname={cluster.DATABASE}",
        "",
        "[pgbouncer]",
        "listen_addr = 0.0.0.0",
        f"listen_port = {cluster.PGBOUNCER.port}",
        "unix_socket_dir =",
        "auth_type = scram-sha-256",
        f"auth_file = {AUTH_DIR}/{PGBOUNCER_USERLIST}",
        "pool_mode = transaction",
        "max_client_conn = 2000",
        "default_pool_size = 20",
        "reserve_pool_size = 5",
        "server_tls_sslmode = prefer",
        "ignore_startup_parameters = extra_float_digits",
        "server_reset_query =",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
    ])


def manifests(reg: Registry) -> list[dict[str, Any]]:
    tmp_vol, tmp_mount = k8s_pods.tmp_volume("16Mi")
    port = cluster.PGBOUNCER.port
    c = {
        "name": NAME, "image": cluster.PGBOUNCER_IMAGE, "imagePullPolicy": "Always",
        # The binary directly: the image's entrypoint writes its config, which a read-only root forbids.
        "command": ["/usr/bin/pgbouncer", f"{CONFIG_DIR}/pgbouncer.ini"],
        "ports": [{"name": "postgres", "containerPort": port, "protocol": "TCP"}],
        "resources": k8s_pods.resources("100m", "64Mi", "1", "256Mi"),
        **k8s_pods.tcp_probes("postgres"),
        "lifecycle": k8s_pods.prestop_drain(),
        "securityContext": k8s_pods.container_security(),
        "volumeMounts": [tmp_mount, {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "auth", "mountPath": AUTH_DIR, "readOnly": True}],
    }
    volumes = [tmp_vol, {"name": "config", "configMap": {"name": NAME}},
               {"name": "auth", "secret": {"secretName": PGBOUNCER, "defaultMode": 0o440}}]
    pod = k8s_pods.pod_spec([c], volumes, service_account=NAME, spread=NAME)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": k8s_pods.metadata(NAME, COMPONENT),
              "data": {"pgbouncer.ini": ini()}}
    # A changed config rolls the pods (PgBouncer reads it at start).
    digest = hashlib.sha256(ini().encode()).hexdigest()[:16]
    return [
        k8s_pods.service_account(NAME, COMPONENT),
        config,
        k8s_pods.deployment(NAME, COMPONENT, pod, replicas=2, strategy=k8s_pods.ROLLING,
                            annotations=k8s_pods.skips(IMAGE_SKIPS), pod_annotations={"megacity/config-sha": digest}),
        {"apiVersion": "v1", "kind": "Service", "metadata": k8s_pods.metadata(NAME, COMPONENT),
         "spec": {"selector": k8s_pods.selector(NAME),
                  "ports": [{"name": "postgres", "port": port, "targetPort": "postgres", "protocol": "TCP"}]}},
        k8s_pods.pdb(NAME, COMPONENT),
        k8s_network.pgbouncer_policy(reg),
    ]
