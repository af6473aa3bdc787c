"""NetworkPolicies: everything in the namespace is denied both ways, then each workload gets the
paths of the mesh it needs, and nothing else.

Allowed paths: the internet -> edge (Traefik); edge -> public services' HTTP, edge answers and
object storage; gRPC caller -> callee (`GRPC_CALLS`, checked against the services' code by the
tests); token verifiers -> auth's JWKS (HTTP); the health prober (web's admin health page) ->
every service's HTTP port (`/readyz`); services -> PgBouncer, Redis, NATS; PgBouncer and
migration Jobs -> PostgreSQL; every platform pod -> the OTLP collector and DNS; Prometheus ->
metrics ports. The data stores living in the namespace (PostgreSQL, Redis, NATS, MinIO, the
collector) get their clients' ingress and their own pods' peer traffic (replication, clustering).
"""
from __future__ import annotations

import copy
from typing import Any

from gateway import k8s_cluster as cluster
from gateway.k8s_cluster import NAMESPACE, Peer
from gateway.k8s_pods import PART_OF, metadata
from megacity.db.migrations import has_migrations
from megacity.zones import Registry

# caller -> services it calls over gRPC.
GRPC_CALLS: dict[str, tuple[str, ...]] = {
    "auth": ("tenant",),
    "tenant": ("auth",),
    "exam": ("cat", "tenant", "auth"),
    "kzone": ("inference",),
    "classroom": ("tenant",),
    "arena": ("inference",),
}
# Reads every service's /readyz over HTTP (the admin console's health page: ops data only).
HEALTH_PROBER = "web"
EDGE = "traefik"
EDGE_ANSWERS = "edge-answers"
EDGE_ANSWERS_PORT = 8080
MIGRATION = "migration"
ANYWHERE = [{"ipBlock": {"cidr": "0.0.0.0/0"}}, {"ipBlock": {"cidr": "::/0"}}]
# Services that send email themselves (auth: password reset and verification links), to a relay
# on submission (587 STARTTLS), SMTPS (465) or plain SMTP (25).
MAIL_SENDERS = frozenset({"auth"})
SMTP_PORTS = (587, 465, 25)


def pods(*names: str) -> list[dict[str, Any]]:
    return [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": n}}} for n in names]


def peer(p: Peer) -> dict[str, Any]:
    """Pods of a Peer, in its namespace."""
    sel: dict[str, Any] = {"podSelector": {"matchLabels": {p.label_key: p.name}}}
    if p.namespace != NAMESPACE:
        sel["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": p.namespace}}
    return sel


def ports(*numbers: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": n} for n in numbers]


def rule(side: str, peers: list[dict[str, Any]], port_list: list[dict[str, Any]]) -> dict[str, Any]:
    return {side: peers, "ports": port_list}


def policy(name: str, selector: dict[str, str], ingress: list[dict[str, Any]] | None,
           egress: list[dict[str, Any]] | None) -> dict[str, Any]:
    """`None` leaves that direction to the namespace default (deny); `[]` also denies, explicitly."""
    spec: dict[str, Any] = {"podSelector": {"matchLabels": selector} if selector else {}, "policyTypes": []}
    for kind, rules in (("Ingress", ingress), ("Egress", egress)):
        if rules is not None:
            spec["policyTypes"].append(kind)
            spec[kind.lower()] = [r for r in rules if r[next(iter(r))]]  # drop rules with no peers
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": metadata(name, "network-policy"), "spec": spec}


def callers(reg: Registry, callee: str) -> list[str]:
    return [c for c, callees in GRPC_CALLS.items() if callee in callees and c in reg.services]


def jwks_clients(reg: Registry) -> list[str]:
    """Services that verify access tokens locally (every public one but auth, which signs them)."""
    return [n for n, s in reg.services.items() if s.public and n != "auth"]


def db_services(reg: Registry) -> list[str]:
    return [n for n in reg.services if has_migrations(n)]


def namespace_policies() -> list[dict[str, Any]]:
    platform = {"app.kubernetes.io/part-of": PART_OF}
    return [
        policy("default-deny", {}, [], []),
        policy("allow-dns", {}, None, [rule("to", [peer(cluster.DNS)], ports(53, protocol="UDP") + ports(53))]),
        policy("allow-otlp", platform, None, [rule("to", [peer(cluster.OTEL_COLLECTOR)], ports(4317, 4318))]),
    ]


def service_policy(reg: Registry, name: str) -> dict[str, Any]:
    spec = reg.services[name]
    ingress = [rule("from", [peer(cluster.PROMETHEUS)], ports(spec.http_port)),
               rule("from", pods(*callers(reg, name)), ports(spec.grpc_port))]
    if spec.public:
        ingress.append(rule("from", pods(EDGE), ports(spec.http_port)))
    if name == "auth":
        ingress.append(rule("from", pods(*jwks_clients(reg)), ports(spec.http_port)))
    if HEALTH_PROBER in reg.services and name != HEALTH_PROBER:
        ingress.append(rule("from", pods(HEALTH_PROBER), ports(spec.http_port)))
    egress = [rule("to", [peer(cluster.REDIS)], ports(cluster.REDIS.port)),
              rule("to", [peer(cluster.NATS)], ports(cluster.NATS.port))]
    if has_migrations(name):
        egress.append(rule("to", [peer(cluster.PGBOUNCER)], ports(cluster.PGBOUNCER.port)))
    if name in jwks_clients(reg) and "auth" in reg.services:
        egress.append(rule("to", pods("auth"), ports(reg.services["auth"].http_port)))
    for callee in GRPC_CALLS.get(name, ()):
        if callee in reg.services:
            egress.append(rule("to", pods(callee), ports(reg.services[callee].grpc_port)))
    if name in ("kzone", "inference"):
        egress.append(rule("to", [peer(cluster.OBJECTS)], ports(cluster.OBJECTS.port)))
    if name in MAIL_SENDERS:  # the mail relay is outside the cluster, wherever the operator has it
        egress.append(rule("to", copy.deepcopy(ANYWHERE), ports(*SMTP_PORTS)))
    if name == HEALTH_PROBER:
        egress += [rule("to", pods(n), ports(s.http_port)) for n, s in reg.services.items() if n != name]
    return policy(name, {"app.kubernetes.io/name": name}, ingress, egress)


def edge_policies(reg: Registry, web_port: int, websecure_port: int, ops_port: int) -> list[dict[str, Any]]:
    public = [(n, s.http_port) for n, s in reg.services.items() if s.public]
    egress = [rule("to", pods(n), ports(p)) for n, p in public]
    egress += [rule("to", pods(EDGE_ANSWERS), ports(EDGE_ANSWERS_PORT)),
               rule("to", [peer(cluster.OBJECTS)], ports(cluster.OBJECTS.port))]
    return [
        policy(EDGE, {"app.kubernetes.io/name": EDGE},
               [rule("from", ANYWHERE, ports(web_port, websecure_port)),
                rule("from", [peer(cluster.PROMETHEUS)], ports(ops_port))], egress),
        policy(EDGE_ANSWERS, {"app.kubernetes.io/name": EDGE_ANSWERS},
               [rule("from", pods(EDGE), ports(EDGE_ANSWERS_PORT))], []),
    ]


def pgbouncer_policy(reg: Registry) -> dict[str, Any]:
    return policy(cluster.PGBOUNCER.name, {"app.kubernetes.io/name": cluster.PGBOUNCER.name},
                  [rule("from", pods(*db_services(reg)), ports(cluster.PGBOUNCER.port))],
                  [rule("to", [peer(cluster.POSTGRES)], ports(cluster.POSTGRES.port))])


def migration_policy() -> dict[str, Any]:
    return policy("migrations", {"app.kubernetes.io/component": MIGRATION}, [],
                  [rule("to", [peer(cluster.POSTGRES)], ports(cluster.POSTGRES.port))])


def data_store_policies(reg: Registry) -> list[dict[str, Any]]:
    """Ingress for the stores in the namespace from their clients, plus their own pods' traffic."""
    services = list(reg.services)
    clients: list[tuple[Peer, list[dict[str, Any]], list[int]]] = [
        (cluster.POSTGRES, pods(cluster.PGBOUNCER.name) + [{"podSelector": {"matchLabels": {
            "app.kubernetes.io/component": MIGRATION}}}], [cluster.POSTGRES.port]),
        (cluster.REDIS, pods(*services), [cluster.REDIS.port]),
        (cluster.NATS, pods(*services), [cluster.NATS.port]),
        (cluster.OBJECTS, pods(EDGE, *[s for s in ("kzone", "inference") if s in reg.services]), [cluster.OBJECTS.port]),
        (cluster.OTEL_COLLECTOR, [{"podSelector": {"matchLabels": {"app.kubernetes.io/part-of": PART_OF}}}],
         [4317, 4318]),
    ]
    docs = []
    for store, peers, store_ports in clients:
        if store.namespace != NAMESPACE:
            continue
        own = [peer(store)]
        ingress = [rule("from", peers, ports(*store_ports)), {"from": own}]
        # The collector exports to wherever traces are kept (outside this namespace's say).
        egress = [{"to": own}] if store is not cluster.OTEL_COLLECTOR else [{"to": ANYWHERE}]
        docs.append(policy(store.name, {store.label_key: store.name}, ingress, egress))
    return docs
