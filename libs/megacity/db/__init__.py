"""PostgreSQL access: async engines, per-transaction tenant context, RLS DDL, roles, migrations."""
from megacity.db.engine import make_engine, make_sessionmaker
from megacity.db.tenant import TenantContext, set_tenant, system_transaction, tenant_transaction

__all__ = ["TenantContext", "make_engine", "make_sessionmaker", "set_tenant", "system_transaction", "tenant_transaction"]
