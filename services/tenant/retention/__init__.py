"""Retention of roster imports: finished imports with their per-row errors after
`TENANT_ROSTER_IMPORT_RETENTION_DAYS`, and upload files a dead process left (`service`)."""
