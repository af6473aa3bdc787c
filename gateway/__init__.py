"""Edge and deployment configuration generated from the zone registry (libs/megacity/zones.yaml).

- `routes`: what each public host and path goes to (shared by both edges, so they cannot drift).
- `policy`: security headers, TLS settings and the edge's own problem-JSON answers.
- `traefik`: Traefik v3 static + dynamic config (compose / k8s edge).
- `nginx` + `local_edge`: nginx config and runner for the native edge (`make run`).
- `k8s`, `prometheus`: manifests and scrape targets that list the registry's services.

`python -m gateway generate` writes every generated file; `python -m gateway check` fails when
one is stale.
"""
