from megacity.db.alembic_env import run
from services.tenant.zones.after_migrate import sync_after_upgrade

run()
sync_after_upgrade()  # zone rows follow libs/megacity/zones.yaml after every migrate
