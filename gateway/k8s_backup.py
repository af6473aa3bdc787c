"""pgBackRest backup CronJobs (issue #17 §1; docs/runbooks/backup-restore.md): a weekly full and a
daily differential backup of stanza `megacity`, retention and expiry as pgBackRest's conf says.

PostgreSQL is outside these manifests, so the job runs pgBackRest as a *repository host*: it
reaches the database's data directory through a `pgbackrest server` (TLS, port 8432) running
beside PostgreSQL (sidecar with the data volume, where `archive_command` also runs). Its
`pgbackrest.conf` (pg1-host, TLS client certificate, repo2 S3 keys, cipher passphrases) comes
from the Secret `pgbackrest`, never from git. The image is ours, `megacity/backup` at the release
tag (deploy/docker/backup.Dockerfile: pgBackRest 2.55.1, PostgreSQL 16 capable, pinned as in
scripts/setup.sh).
"""
from __future__ import annotations

from typing import Any

from gateway import k8s_cluster as cluster
from gateway import k8s_network, k8s_pods
from gateway.k8s_services import IMAGE_SKIPS

NAME = "pgbackrest"
COMPONENT = "backup"
IMAGE = cluster.image("backup")
SECRET = "pgbackrest"
CONF_DIR = "/etc/pgbackrest"
TLS_SERVER_PORT = 8432
# (suffix, schedule, type): Sunday full, Monday-Saturday differential, 01:30 UTC.
SCHEDULES = (("full", "30 1 * * 0", "full"), ("diff", "30 1 * * 1-6", "diff"))
SKIPS = {
    **IMAGE_SKIPS,
    "CKV_K8S_8": "a run-to-completion backup Job serves nothing a liveness probe could check",
    "CKV_K8S_9": "a run-to-completion backup Job takes no traffic, so it has no readiness",
}


def cronjob(suffix: str, schedule: str, kind: str) -> dict[str, Any]:
    tmp_vol, tmp_mount = k8s_pods.tmp_volume("1Gi")
    c = {
        "name": NAME, "image": IMAGE, "imagePullPolicy": "Always",
        "command": ["pgbackrest", f"--config={CONF_DIR}/pgbackrest.conf", "--stanza=megacity",
                    "--log-level-console=info", "--log-path=/tmp", "--lock-path=/tmp/pgbackrest", f"--type={kind}", "backup"],
        "resources": k8s_pods.resources("250m", "256Mi", "2", "1Gi"),
        "securityContext": k8s_pods.container_security(),
        "volumeMounts": [tmp_mount, {"name": "conf", "mountPath": CONF_DIR, "readOnly": True}],
    }
    volumes = [tmp_vol, {"name": "conf", "secret": {"secretName": SECRET, "defaultMode": 0o400}}]
    pod = k8s_pods.pod_spec([c], volumes, service_account=NAME, restartPolicy="Never")
    labels = k8s_pods.labels(NAME, COMPONENT)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": k8s_pods.metadata(f"{NAME}-{suffix}", COMPONENT, k8s_pods.skips(SKIPS)),
            "spec": {"schedule": schedule, "timeZone": "Etc/UTC", "concurrencyPolicy": "Forbid",
                     "startingDeadlineSeconds": 3600, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 5,
                     "jobTemplate": {"spec": {"backoffLimit": 1, "activeDeadlineSeconds": 6 * 3600,
                                              "template": {"metadata": {"labels": labels}, "spec": pod}}}}}


def policy() -> dict[str, Any]:
    """Egress only: the database's pgBackRest TLS server and the object storage (repo2)."""
    return k8s_network.policy(NAME, k8s_pods.selector(NAME), [], [
        k8s_network.rule("to", [k8s_network.peer(cluster.POSTGRES)], k8s_network.ports(TLS_SERVER_PORT)),
        k8s_network.rule("to", [k8s_network.peer(cluster.OBJECTS)], k8s_network.ports(cluster.OBJECTS.port)),
        k8s_network.rule("to", k8s_network.ANYWHERE, k8s_network.ports(443)),  # S3 outside the cluster
    ])


def manifests() -> list[dict[str, Any]]:
    return [k8s_pods.service_account(NAME, COMPONENT),
            *(cronjob(suffix, schedule, kind) for suffix, schedule, kind in SCHEDULES), policy()]
