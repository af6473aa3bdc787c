"""Zones: reference data from `libs/megacity/zones.yaml` (no table reads, hence no queries.py).
`GET /api/v1/zone` brands the page; `GetZone` answers other services."""
