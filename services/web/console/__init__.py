"""The admin console on admin.<domain>: orgs and members, the audit log, signing keys, service health."""
