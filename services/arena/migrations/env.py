from megacity.db.alembic_env import run

run()
