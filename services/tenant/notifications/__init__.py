"""In-app notifications (issue #13 §3): what happened that concerns one user of one org (a parent
asked to be linked to a student, a link was approved, ...). Features write them with `notify`
inside their own transaction; `GET /api/v1/notifications` lists the caller's own, newest first.
Row-level security keeps every list "mine" (see migration 0007). With SMTP configured each
notification is also emailed to its recipient, from a background sender (`email.py`, migration
0009), never inside the request."""
