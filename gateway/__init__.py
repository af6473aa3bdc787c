"""Edge and deployment configuration generated from the zone registry (libs/megacity/zones.yaml).

- `routes`: what each public host and path goes to (one table, so the edges cannot drift).
- `policy`: security headers, CORS, the pages' CSP, TLS settings and the edge's problem JSON.
- `traefik`: Traefik v3 static + dynamic config (native, compose and k8s edge).
- `edge_answers` + `local_edge`: the edge's own answers and the native edge's runner (`make run`).
- `k8s`, `prometheus`: manifests and scrape targets that list the registry's services.

`python -m gateway generate` writes every generated file; `python -m gateway check` fails when
one is stale.
"""
