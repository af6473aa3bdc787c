"""Prometheus config rendered from the zone registry: every service's /metrics on its HTTP port
(compose hostnames), plus the edge, NATS exporter, node exporter (disk), Alertmanager and GPU
exporter; alert rules from alerts.yml, sent to Alertmanager."""
from __future__ import annotations

from typing import Any

from gateway.traefik import OPS_PORT
from megacity.zones import Registry, registry

# Jobs whose targets must be up; `up == 0` on them fires the ServiceDown alert (alerts.yml).
SERVICE_JOB = "megacity"
# deploy/alertmanager/alertmanager.yml runs here (compose service / k8s Service `alertmanager`).
ALERTMANAGER = "alertmanager:9093"


def scrape_config(reg: Registry | None = None) -> dict[str, Any]:
    reg = reg or registry()
    return {
        "global": {"scrape_interval": "15s", "evaluation_interval": "15s"},
        "rule_files": ["alerts.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [ALERTMANAGER]}]}]},
        "scrape_configs": [
            {
                "job_name": SERVICE_JOB,
                "metrics_path": "/metrics",
                # The services label their series with `service` themselves (same value).
                "honor_labels": True,
                "static_configs": [
                    {"targets": [f"{name}:{spec.http_port}"], "labels": {"service": name}}
                    for name, spec in reg.services.items()
                ],
            },
            {"job_name": "traefik", "static_configs": [{"targets": [f"traefik:{OPS_PORT}"],
                                                         "labels": {"service": "traefik"}}]},
            # prometheus-nats-exporter: JetStream stream / consumer depth (jetstream_* metrics).
            {"job_name": "nats", "static_configs": [{"targets": ["nats-exporter:7777"], "labels": {"service": "nats"}}]},
            # node_exporter: filesystem space for the disk alerts (node_filesystem_* metrics).
            {"job_name": "node", "static_configs": [{"targets": ["node-exporter:9100"],
                                                      "labels": {"service": "node-exporter"}}]},
            # Its own delivery failures (alertmanager_notifications_failed_total).
            {"job_name": "alertmanager", "static_configs": [{"targets": [ALERTMANAGER],
                                                              "labels": {"service": "alertmanager"}}]},
            # dcgm-exporter runs only with deploy/compose.gpu.yml; without it this target is simply down.
            {"job_name": "gpu", "static_configs": [{"targets": ["dcgm-exporter:9400"], "labels": {"service": "gpu"}}]},
        ],
    }
