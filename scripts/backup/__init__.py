"""Backups and point-in-time recovery of the platform's PostgreSQL with pgBackRest (issue #17 §1).

`python -m scripts.backup` (`make backup`, `make restore TARGET_TIME=...`): a pgbackrest.conf for
stanza `megacity` with an encrypted local repository (repo1) and an encrypted S3 repository
(repo2, the platform's object storage), continuous WAL archiving through `archive-push`,
full/diff/incr backups with retention, and restores into a fresh data directory.
Runbook: docs/runbooks/backup-restore.md.
"""
