"""Zones: reference data from `libs/megacity/zones.yaml`. `GET /api/v1/zone` brands the page and
`GetZone` answers other services, both from the registry; `tenant.zones` (which orgs reference)
is kept in step with the registry after every migrate (`after_migrate`, `service.sync_registry`)."""
