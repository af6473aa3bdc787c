"""deploy/k8s/alerting.yaml: the Alertmanager pods render deploy/alertmanager's config exactly as
compose does (render-config.sh, run for real on the ConfigMaps' contents with the Deployment's
command and env, then `amtool check-config`), every placeholder has a Secret key, Prometheus
reaches Alertmanager and node-exporter and nothing else does, and node-exporter runs as
restricted as the namespace's Pod Security demands (no hostPath, no host namespaces)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gateway import k8s, k8s_alerting, k8s_cluster
from tests.gateway.test_k8s_manifests import app, flows, named, of_kind, pod_of, store

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"\$\{(ALERTMANAGER_[A-Z_]+)\}")


@pytest.fixture(scope="module")
def docs() -> list[dict[str, Any]]:
    return k8s.manifests()["alerting"]


def _container(docs: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    c: dict[str, Any] = pod_of(named(docs, kind, name))["containers"][0]
    return c


def _throwaway(key: str) -> str:
    if key.endswith("_REQUIRE_TLS"):
        return "true"
    if key.endswith("_SMARTHOST"):
        return "smtp.example.org:587"
    if key.endswith("_URL"):
        return f"https://hooks.example.org/{key.lower()}"
    if key.endswith(("_EMAIL", "_FROM")):
        return f"{key.lower()}@example.org"
    return f"throwaway-{key.lower()}"


def test_the_configmaps_carry_deploy_alertmanager_unchanged(docs: list[dict[str, Any]]) -> None:
    source = ROOT / "deploy/alertmanager"
    config = named(docs, "ConfigMap", "alertmanager")["data"]
    assert config == {n: (source / n).read_text() for n in ("alertmanager.yml", "render-config.sh")}
    templates = named(docs, "ConfigMap", "alertmanager-templates")["data"]
    assert templates == {p.name: p.read_text() for p in (source / "templates").glob("*.tmpl")} != {}


def test_every_placeholder_has_a_secret_key_or_a_value(docs: list[dict[str, Any]]) -> None:
    text = named(docs, "ConfigMap", "alertmanager")["data"]["alertmanager.yml"]
    used = set(PLACEHOLDER.findall("\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))))
    env = {e["name"]: e for e in _container(docs, "Deployment", "alertmanager")["env"]}
    assert used <= set(env)
    from_secret = {n for n, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
    assert from_secret == used - {"ALERTMANAGER_TEMPLATES_DIR"} == set(k8s_alerting.SECRET_KEYS)
    assert all(env[n]["valueFrom"]["secretKeyRef"]["name"] == k8s_alerting.SECRET for n in from_secret)
    template = k8s.secret_templates()[f"{k8s_alerting.SECRET}.env.example"]
    assert set(re.findall(r"(?m)^([A-Z_]+)=$", template)) == from_secret
    assert not re.search(r"(?m)^[A-Z_]+=.+$", template), "keys only, never values"


@pytest.mark.skipif(not shutil.which("amtool"), reason="amtool missing: scripts/setup.sh installs prometheus-alertmanager")
def test_alertmanager_pod_renders_a_config_amtool_accepts(docs: list[dict[str, Any]], tmp_path: Path) -> None:
    """Lay the ConfigMaps out where the pod mounts them (under tmp_path), run the Deployment's
    command up to its `--` with the Deployment's env (Secret keys: throwaway values), then check
    the rendered file with amtool: what the pod would hand Alertmanager."""
    deployment = named(docs, "Deployment", "alertmanager")
    pod, c = pod_of(deployment), _container(docs, "Deployment", "alertmanager")
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    for volume in pod["volumes"]:
        where = tmp_path / mounts[volume["name"]].lstrip("/")
        where.mkdir(parents=True, exist_ok=True)
        if "configMap" in volume:
            for key, text in named(docs, "ConfigMap", volume["configMap"]["name"])["data"].items():
                (where / key).write_text(text)
        else:
            assert "emptyDir" in volume, volume["name"]

    def local(arg: str) -> str:
        for path in sorted(mounts.values(), key=len, reverse=True):
            if arg.startswith(path + "/") or arg == path:
                return str(tmp_path / arg.lstrip("/"))
        return arg

    command = c["command"]
    split = command.index("--")
    shell, script, src, out = command[:split]
    assert shell == "/bin/sh" and command[split + 1] == "/bin/alertmanager"
    assert f"--config.file={out}" in command and out.startswith("/tmp/")
    env: dict[str, str] = {"PATH": "/usr/bin:/bin"}
    for e in c["env"]:
        if "value" in e:
            env[e["name"]] = local(e["value"])
        elif "secretKeyRef" in e["valueFrom"]:
            env[e["name"]] = _throwaway(e["name"])
    proc = subprocess.run(["sh", local(script), local(src), local(out)], env=env, capture_output=True,
                          text=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr
    rendered = Path(local(out))
    text = rendered.read_text()
    assert "${" not in "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#"))
    assert f"'{local(k8s_alerting.TEMPLATES_DIR)}/*.tmpl'" in text, "templates from their own ConfigMap"
    check = subprocess.run(["amtool", "check-config", str(rendered)], capture_output=True, text=True, timeout=30,
                           check=False)
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr
    assert "5 receivers" in check.stdout and "1 templates" in check.stdout

    # A missing Secret key stops the pod before Alertmanager starts.
    env.pop("ALERTMANAGER_HEARTBEAT_URL")
    failed = subprocess.run(["sh", local(script), local(src), str(tmp_path / "missing.yml")], env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert failed.returncode == 2 and "ALERTMANAGER_HEARTBEAT_URL is not set" in failed.stderr


def test_alertmanager_pod_is_writable_only_where_it_writes(docs: list[dict[str, Any]]) -> None:
    c = _container(docs, "Deployment", "alertmanager")
    pod = pod_of(named(docs, "Deployment", "alertmanager"))
    empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    writable = {m["mountPath"] for m in c["volumeMounts"] if m["name"] in empty and not m.get("readOnly")}
    assert writable == {"/tmp", k8s_alerting.STORAGE_DIR}
    assert f"--storage.path={k8s_alerting.STORAGE_DIR}" in c["command"]
    assert c["readinessProbe"]["httpGet"]["path"] == "/-/ready"
    assert c["livenessProbe"]["httpGet"]["path"] == "/-/healthy"
    assert c["image"] == k8s_alerting.ALERTMANAGER_IMAGE and not c["image"].endswith(":latest")
    compose = (ROOT / "docker-compose.yml").read_text()
    assert f"image: {k8s_alerting.ALERTMANAGER_IMAGE}" in compose, "the same release as compose"
    service = named(docs, "Service", "alertmanager")["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in service] == [(9093, "http")]
    peers = next(a for a in c["command"] if a.startswith("--cluster.peer="))
    assert k8s_alerting.CLUSTER_SERVICE in peers
    assert named(docs, "Service", k8s_alerting.CLUSTER_SERVICE)["spec"]["clusterIP"] == "None"
    assert named(docs, "Deployment", "alertmanager")["spec"]["replicas"] >= 2
    assert named(docs, "PodDisruptionBudget", "alertmanager")["spec"]["minAvailable"] == 1


def test_node_exporter_is_restricted(docs: list[dict[str, Any]]) -> None:
    ds = named(docs, "DaemonSet", "node-exporter")
    pod = pod_of(ds)
    assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC"))
    assert all("hostPath" not in v for v in pod["volumes"]), "Pod Security restricted forbids hostPath"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False and pod["serviceAccountName"] == "node-exporter"
    assert {"operator": "Exists"} in pod["tolerations"], "every node, GPU nodes included"
    (c,) = pod["containers"]
    sc = c["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True
    assert sc["privileged"] is False and sc["capabilities"] == {"drop": ["ALL"]} and sc["runAsNonRoot"] is True
    assert all(m.get("readOnly") for m in c["volumeMounts"])
    assert {"cpu", "memory"} <= set(c["resources"]["limits"]) and {"livenessProbe", "readinessProbe"} <= set(c)
    assert c["image"] == k8s_alerting.NODE_EXPORTER_IMAGE and not c["image"].endswith(":latest")
    assert ds["spec"]["template"]["metadata"]["annotations"]["prometheus.io/port"] == "9100"
    service = named(docs, "Service", "node-exporter")["spec"]["ports"]
    assert [(p["port"], p["targetPort"]) for p in service] == [(9100, "metrics")]


def test_prometheus_reaches_both_and_alertmanager_reaches_receivers(docs: list[dict[str, Any]]) -> None:
    policies = of_kind(k8s.manifests()["namespace"], "NetworkPolicy") + of_kind(docs, "NetworkPolicy")
    prometheus = store(k8s_cluster.PROMETHEUS)
    am, ne = app("alertmanager", "alerting"), app("node-exporter", "alerting")
    internet = ("internet", {})
    assert flows(policies, prometheus, am, 9093) and flows(policies, prometheus, ne, 9100)
    assert not flows(policies, app("auth"), am, 9093) and not flows(policies, app("auth"), ne, 9100)
    assert not flows(policies, internet, am, 9093)
    for port in (587, 465, 25, 443):
        assert flows(policies, am, internet, port), port
    assert not flows(policies, am, internet, 80)
    assert not flows(policies, ne, internet, 443)
    assert flows(policies, am, store(k8s_cluster.DNS), 53)
    assert flows(policies, am, am, k8s_alerting.CLUSTER_PORT), "the replicas gossip"
