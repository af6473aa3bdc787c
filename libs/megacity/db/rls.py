"""DDL for tenant tables: ENABLE + FORCE row-level security with explicit policies.

Three permissive policies, OR-ed by PostgreSQL:
- tenant:      the row's (zone_id, org_id) equals the transaction's app.zone_id / app.org_id;
- zone_admin:  app.role = 'zone_admin' and the row is in app.zone_id;
- super_admin: app.role = 'super_admin' and the row is in app.zone_id.
The request's zone (from its Host, equal to the token's zone) bounds every role, super admins
included: a super admin acts on another zone only through that zone's host, so a leaked or
misused token of one zone never reads or writes another zone's rows.
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
        _super_admin_policy(t),
    ]


def _super_admin_policy(t: str) -> str:
    bound = f"{_ROLE} = 'super_admin' AND zone_id = {_ZONE}"
    return f"CREATE POLICY super_admin ON {t} USING ({bound}) WITH CHECK ({bound})"


def bound_super_admin_to_zone(schema: str, *, bound: bool = True) -> None:
    """Alembic step: re-create the super_admin policy of every table of `schema` bounded by the
    request's zone (bound=False restores the old zone-less policy, for downgrade). It fixed the
    cross-zone read where a super admin of zone A, on zone A's host, read zone B's rows."""
    from alembic import op
    from sqlalchemy import text

    tables = [r[0] for r in op.get_bind().execute(text(
        "SELECT tablename FROM pg_policies WHERE schemaname = :s AND policyname = 'super_admin' ORDER BY 1"),
        {"s": schema})]
    for table in tables:
        t = f"{_quote(schema)}.{_quote(table)}"
        op.execute(f"DROP POLICY super_admin ON {t}")
        op.execute(_super_admin_policy(t) if bound else
                   f"CREATE POLICY super_admin ON {t} USING ({_ROLE} = 'super_admin') WITH CHECK ({_ROLE} = 'super_admin')")


def drop_tenant_rls_statements(schema: str, table: str) -> list[str]:
    t = f"{_quote(schema)}.{_quote(table)}"
    return [f"DROP POLICY IF EXISTS {p} ON {t}" for p in ("tenant_isolation", "zone_admin", "super_admin")] + [
        f"ALTER TABLE {t} NO FORCE ROW LEVEL SECURITY",
        f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY",
    ]
