"""Alerts reach someone: Alertmanager and node-exporter in the namespace (`deploy/k8s/alerting.yaml`).

Alertmanager runs the same files as compose, from ConfigMaps: `deploy/alertmanager/alertmanager.yml`
(a template with `${ALERTMANAGER_*}` placeholders), `render-config.sh` (fills them in from the
environment, refuses to start when one is unset, then execs Alertmanager on the rendered copy in
/tmp) and `templates/megacity.tmpl` (its own ConfigMap, mounted at `TEMPLATES_DIR`). Every
placeholder's value comes from Secret `megacity-alertmanager` (`SECRET`, template in
deploy/k8s/secrets/), so no receiver address or password is in git. Two replicas gossip on
`CLUSTER_PORT` (headless `alertmanager-cluster`): silences and the notification log live in
emptyDirs, so a restarted replica gets them back from its peer and a rollout never loses them;
the peers also agree on who notifies, so an alert is sent once. Prometheus (namespace
`monitoring`) reaches `alertmanager:9093`; the pods may reach DNS, SMTP relays (587, 465, 25) and
HTTPS webhooks (443) anywhere.

node-exporter: a DaemonSet on every node (every taint tolerated). The namespace enforces Pod
Security "restricted", which forbids hostPath volumes and host namespaces, so it runs without
them: /proc and /sys are the node's for CPU, memory, load, disks' I/O, pressure and hardware
sensors (`node_cpu_*`, `node_memory_*`, `node_load*`, `node_disk_*`, `node_pressure_*`,
`node_hwmon_*`); filesystems are those the pod sees: `KUBELET_DISK` (an emptyDir, so the
kubelet's disk, usually the node's root filesystem; the container root is overlay, which
node-exporter leaves out). Network counters are the pod's own. A full view (every mount, host
network) needs hostPath `/` and `hostNetwork`, i.e. a namespace with Pod Security "privileged",
which is the cluster's monitoring stack's to run, not this namespace's.
"""
from __future__ import annotations

import hashlib
from typing import Any

from gateway import k8s_cluster as cluster
from gateway import k8s_network, k8s_pods
from gateway.k8s_network import ANYWHERE, peer, pods, ports, rule

COMPONENT = "alerting"
# checkov findings the design answers otherwise (this module imports neither k8s_services nor
# k8s_secrets, so k8s_secrets.catalogue may list SECRET_KEYS from here).
IMAGE_SKIPS = {
    "CKV_K8S_43": "upstream images pinned to a release tag, as in compose; digests are added at promotion",
}
ALERTMANAGER_SKIPS = {
    **IMAGE_SKIPS,
    "CKV_K8S_35": "render-config.sh pastes these Secret keys into the config at start",
}
SOURCE_DIR = cluster.ROOT / "deploy/alertmanager"

ALERTMANAGER = "alertmanager"
ALERTMANAGER_IMAGE = "prom/alertmanager:v0.28.1"  # as in docker-compose.yml
PORT = 9093
CLUSTER_PORT = 9094
CLUSTER_SERVICE = f"{ALERTMANAGER}-cluster"
REPLICAS = 2
CONFIG_DIR = "/etc/alertmanager"
TEMPLATES_DIR = "/etc/alertmanager-templates"
STORAGE_DIR = "/alertmanager"
RENDERED = f"{k8s_pods.TMP}/alertmanager.yml"
SECRET = "megacity-alertmanager"
# Every ${VAR} alertmanager.yml needs but ALERTMANAGER_TEMPLATES_DIR (set here), with its meaning.
SECRET_KEYS: dict[str, str] = {
    "ALERTMANAGER_SMTP_SMARTHOST": "host:port of the mail relay (587 STARTTLS, 465 TLS or 25)",
    "ALERTMANAGER_SMTP_FROM": "sender address",
    "ALERTMANAGER_SMTP_USERNAME": "SMTP login (empty: no SMTP AUTH)",
    "ALERTMANAGER_SMTP_PASSWORD": "SMTP password (empty: no SMTP AUTH)",
    "ALERTMANAGER_SMTP_REQUIRE_TLS": "true (STARTTLS); false only for a relay on a network you trust",
    "ALERTMANAGER_PAGER_WEBHOOK_URL": "critical alerts, every team: the on-call paging bridge (https)",
    "ALERTMANAGER_HEARTBEAT_URL": "dead man's switch: receives Watchdog every minute (https)",
    "ALERTMANAGER_SRE_EMAIL": "SRE mailbox(es), comma-separated",
    "ALERTMANAGER_SRE_WEBHOOK_URL": "SRE chat webhook (https)",
    "ALERTMANAGER_BACKEND_EMAIL": "backend mailbox(es), comma-separated",
    "ALERTMANAGER_BACKEND_WEBHOOK_URL": "backend chat webhook (https)",
    "ALERTMANAGER_ML_EMAIL": "ML mailbox(es), comma-separated",
    "ALERTMANAGER_ML_WEBHOOK_URL": "ML chat webhook (https)",
}
SMTP_PORTS = (587, 465, 25)
HTTPS_PORT = 443

NODE_EXPORTER = "node-exporter"
NODE_EXPORTER_IMAGE = "prom/node-exporter:v1.9.1"
NODE_EXPORTER_PORT = 9100
KUBELET_DISK = "/node/kubelet"


def _sources() -> dict[str, str]:
    return {name: (SOURCE_DIR / name).read_text() for name in ("alertmanager.yml", "render-config.sh")}


def _templates() -> dict[str, str]:
    """ConfigMap keys cannot hold `/`: the templates/ folder is a ConfigMap of its own."""
    return {p.name: p.read_text() for p in sorted((SOURCE_DIR / "templates").glob("*.tmpl"))}


def _configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": k8s_pods.metadata(name, COMPONENT), "data": data}


def command() -> list[str]:
    """render-config.sh SRC OUT -- alertmanager ...: the compose entrypoint, clustered."""
    return ["/bin/sh", f"{CONFIG_DIR}/render-config.sh", f"{CONFIG_DIR}/alertmanager.yml", RENDERED, "--",
            "/bin/alertmanager", f"--config.file={RENDERED}", f"--storage.path={STORAGE_DIR}",
            f"--web.listen-address=:{PORT}",
            f"--cluster.listen-address=0.0.0.0:{CLUSTER_PORT}",
            # Pod addresses need not be RFC 1918 ones (which Alertmanager would guess from).
            f"--cluster.advertise-address=$(POD_IP):{CLUSTER_PORT}",
            f"--cluster.peer={cluster.service_host(CLUSTER_SERVICE)}:{CLUSTER_PORT}"]


def env() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "ALERTMANAGER_TEMPLATES_DIR", "value": TEMPLATES_DIR},
    ]
    items += [{"name": key, "valueFrom": {"secretKeyRef": {"name": SECRET, "key": key}}} for key in SECRET_KEYS]
    return items


def alertmanager_deployment() -> dict[str, Any]:
    tmp_vol, tmp_mount = k8s_pods.tmp_volume("16Mi")
    c = {
        "name": ALERTMANAGER, "image": ALERTMANAGER_IMAGE, "imagePullPolicy": "Always",
        "command": command(),
        "env": env(),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"},
                  {"name": "mesh-tcp", "containerPort": CLUSTER_PORT, "protocol": "TCP"},
                  {"name": "mesh-udp", "containerPort": CLUSTER_PORT, "protocol": "UDP"}],
        "resources": k8s_pods.resources("50m", "64Mi", "500m", "256Mi"),
        **k8s_pods.http_probes("http", ready="/-/ready", live="/-/healthy"),
        "lifecycle": k8s_pods.prestop_drain(),
        "securityContext": k8s_pods.container_security(),
        "volumeMounts": [tmp_mount,
                         {"name": "storage", "mountPath": STORAGE_DIR},
                         {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
                         {"name": "templates", "mountPath": TEMPLATES_DIR, "readOnly": True}],
    }
    volumes = [tmp_vol, {"name": "storage", "emptyDir": {"sizeLimit": "256Mi"}},
               {"name": "config", "configMap": {"name": ALERTMANAGER}},
               {"name": "templates", "configMap": {"name": f"{ALERTMANAGER}-templates"}}]
    pod = k8s_pods.pod_spec([c], volumes, service_account=ALERTMANAGER, spread=ALERTMANAGER)
    # render-config.sh runs at start only: a changed file rolls the pods.
    digest = hashlib.sha256("".join(v for d in (_sources(), _templates()) for v in d.values()).encode()).hexdigest()
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": str(PORT), "prometheus.io/path": "/metrics",
                   "megacity/config-sha": digest[:16]}
    return k8s_pods.deployment(ALERTMANAGER, COMPONENT, pod, replicas=REPLICAS, strategy=k8s_pods.ROLLING,
                               annotations=k8s_pods.skips(ALERTMANAGER_SKIPS), pod_annotations=annotations)


def alertmanager_services() -> list[dict[str, Any]]:
    mesh = [{"name": "mesh-tcp", "port": CLUSTER_PORT, "targetPort": "mesh-tcp", "protocol": "TCP"},
            {"name": "mesh-udp", "port": CLUSTER_PORT, "targetPort": "mesh-udp", "protocol": "UDP"}]
    return [
        {"apiVersion": "v1", "kind": "Service", "metadata": k8s_pods.metadata(ALERTMANAGER, COMPONENT),
         "spec": {"selector": k8s_pods.selector(ALERTMANAGER),
                  "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}]}},
        # Peers find each other before they are ready (a replica settles its state from the peers).
        {"apiVersion": "v1", "kind": "Service", "metadata": k8s_pods.metadata(CLUSTER_SERVICE, COMPONENT),
         "spec": {"clusterIP": "None", "publishNotReadyAddresses": True, "selector": k8s_pods.selector(ALERTMANAGER),
                  "ports": mesh}},
    ]


def alertmanager_policy() -> dict[str, Any]:
    def gossip(side: str) -> dict[str, Any]:  # fresh lists: shared ones would dump as YAML anchors
        return rule(side, pods(ALERTMANAGER), ports(CLUSTER_PORT) + ports(CLUSTER_PORT, protocol="UDP"))

    return k8s_network.policy(
        ALERTMANAGER, k8s_pods.selector(ALERTMANAGER),
        [rule("from", [peer(cluster.PROMETHEUS)], ports(PORT)), gossip("from")],
        [gossip("to"), rule("to", ANYWHERE, ports(*SMTP_PORTS, HTTPS_PORT))])


def alertmanager_manifests() -> list[dict[str, Any]]:
    return [
        k8s_pods.service_account(ALERTMANAGER, COMPONENT),
        _configmap(ALERTMANAGER, _sources()),
        _configmap(f"{ALERTMANAGER}-templates", _templates()),
        alertmanager_deployment(),
        *alertmanager_services(),
        k8s_pods.pdb(ALERTMANAGER, COMPONENT),
        alertmanager_policy(),
    ]


def node_exporter_daemonset() -> dict[str, Any]:
    c = {
        "name": NODE_EXPORTER, "image": NODE_EXPORTER_IMAGE, "imagePullPolicy": "Always",
        "args": [f"--web.listen-address=:{NODE_EXPORTER_PORT}",
                 # The pod's own bind mounts (/etc/hosts, …) repeat the kubelet's disk.
                 "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|etc|run|var/run)($|/)"],
        "ports": [{"name": "metrics", "containerPort": NODE_EXPORTER_PORT, "protocol": "TCP"}],
        "resources": k8s_pods.resources("20m", "32Mi", "250m", "128Mi"),
        **k8s_pods.http_probes("metrics", ready="/", live="/"),
        "securityContext": k8s_pods.container_security(),
        "volumeMounts": [{"name": "kubelet-disk", "mountPath": KUBELET_DISK, "readOnly": True}],
    }
    volumes = [{"name": "kubelet-disk", "emptyDir": {"sizeLimit": "1Mi"}}]
    pod = k8s_pods.pod_spec([c], volumes, service_account=NODE_EXPORTER, grace=30,
                            tolerations=[{"operator": "Exists"}])
    scrape = {"prometheus.io/scrape": "true", "prometheus.io/port": str(NODE_EXPORTER_PORT),
              "prometheus.io/path": "/metrics"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": k8s_pods.metadata(NODE_EXPORTER, COMPONENT, k8s_pods.skips(IMAGE_SKIPS)),
        "spec": {
            "selector": {"matchLabels": k8s_pods.selector(NODE_EXPORTER)},
            "revisionHistoryLimit": 5,
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {"metadata": {"labels": k8s_pods.labels(NODE_EXPORTER, COMPONENT), "annotations": scrape},
                         "spec": pod},
        },
    }


def node_exporter_manifests() -> list[dict[str, Any]]:
    return [
        k8s_pods.service_account(NODE_EXPORTER, COMPONENT),
        node_exporter_daemonset(),
        {"apiVersion": "v1", "kind": "Service", "metadata": k8s_pods.metadata(NODE_EXPORTER, COMPONENT),
         "spec": {"selector": k8s_pods.selector(NODE_EXPORTER),
                  "ports": [{"name": "metrics", "port": NODE_EXPORTER_PORT, "targetPort": "metrics", "protocol": "TCP"}]}},
        k8s_network.policy(NODE_EXPORTER, k8s_pods.selector(NODE_EXPORTER),
                           [rule("from", [peer(cluster.PROMETHEUS)], ports(NODE_EXPORTER_PORT))], []),
    ]


def manifests() -> list[dict[str, Any]]:
    return [*alertmanager_manifests(), *node_exporter_manifests()]


def secret_catalogue() -> dict[str, list[str]]:
    return {SECRET: list(SECRET_KEYS)}


def secret_templates() -> dict[str, str]:
    head = (f"# Secret {SECRET}: keys only, never values in git. Fill in a copy outside the repo, then\n"
            f"#   kubectl -n {cluster.NAMESPACE} create secret generic {SECRET} --from-env-file=<the copy>\n"
            "# render-config.sh pastes each into a single-quoted YAML string: no quotes, no newlines.\n"
            "# Every key must be present (Alertmanager does not start otherwise); SMTP user/password may be empty.\n")
    body = "".join(f"# {meaning}\n{key}=\n" for key, meaning in SECRET_KEYS.items())
    return {f"{SECRET}.env.example": head + body}

