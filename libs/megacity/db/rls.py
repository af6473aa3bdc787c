"""DDL for tenant tables: ENABLE + FORCE row-level security with explicit policies.

Three permissive policies, OR-ed by PostgreSQL:
- tenant:      the row's (zone_id, org_id) equals the transaction's app.zone_id / app.org_id;
- zone_admin:  app.role = 'zone_admin' and the row is in app.zone_id;
- super_admin: app.role = 'super_admin'.
With no context set every setting is empty, so no tenant row is visible or writable.
The `(SELECT current_setting(...))` form is evaluated once per statement, not per row.
"""
from __future__ import annotations

_ZONE = "(SELECT nullif(current_setting('app.zone_id', true), '')::int)"
_ORG = "(SELECT nullif(current_setting('app.org_id', true), '')::uuid)"
_ROLE = "(SELECT current_setting('app.role', true))"


def _quote(ident: str) -> str:
    if not ident.replace("_", "").isalnum():
        raise ValueError(f"bad identifier {ident!r}")
    return f'"{ident}"'


def tenant_rls_statements(schema: str, table: str, *, org_column: str | None = "org_id") -> list[str]:
    """Statements that put a table under tenant RLS.

    org_column names the column holding the org (the `orgs` table itself uses `id`);
    None makes it a zone-level table that every actor of the zone may see.
    """
    t = f"{_quote(schema)}.{_quote(table)}"
    tenant = f"zone_id = {_ZONE} AND {_quote(org_column)} = {_ORG}" if org_column else f"zone_id = {_ZONE}"
    zone_admin = f"{_ROLE} = 'zone_admin' AND zone_id = {_ZONE}"
    return [
        f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY tenant_isolation ON {t} USING ({tenant}) WITH CHECK ({tenant})",
        f"CREATE POLICY zone_admin ON {t} USING ({zone_admin}) WITH CHECK ({zone_admin})",
        f"CREATE POLICY super_admin ON {t} USING ({_ROLE} = 'super_admin') WITH CHECK ({_ROLE} = 'super_admin')",
    ]


def drop_tenant_rls_statements(schema: str, table: str) -> list[str]:
    t = f"{_quote(schema)}.{_quote(table)}"
    return [f"DROP POLICY IF EXISTS {p} ON {t}" for p in ("tenant_isolation", "zone_admin", "super_admin")] + [
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]
