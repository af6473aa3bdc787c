"""Account emails (password reset, email verification): queued in the database in the
transaction of the change that asks for one, sent by a background loop (`sender.py`)."""
