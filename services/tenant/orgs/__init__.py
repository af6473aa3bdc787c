"""Orgs (schools, academies, institutions): zone admins create and list them in their zone, org
admins read and rename theirs; plan and status belong to the zone level (`zone:update`).
Publishes `org.created` and `org.updated` through the outbox, in the same transaction."""
