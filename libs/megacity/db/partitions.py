"""Monthly partitions a service's app role can create without owning its tables: the SQL of a
SECURITY DEFINER function `<schema>.ensure_month_partitions(p_from date, p_months int)` that the
owner role creates in a migration. Each new partition gets the parent's tenant RLS (ENABLE +
FORCE and the same policies), so reading a partition directly is isolated too; a month whose rows
already sit in the DEFAULT partition is left there (a warning), so the function never fails an
insert path. Used by exam (attempts, responses) and classroom (messages, session_logs).

The function runs as the owner with `search_path = pg_catalog, <schema>, pg_temp`: pg_temp last,
or a caller's temp table named like a catalogue table (`pg_class`) would be found first. A
deployed function keeps the body it was created with: a fix here needs a migration that runs
`ensure_month_partitions_sql` again (classroom 0002, exam 0005)."""
from __future__ import annotations

import re

from megacity.db.rls import tenant_rls_statements

_IDENT = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# The header of every owner's SECURITY DEFINER function in libs (here and megacity.retention):
# search_path pins pg_catalog first and pg_temp LAST (see above).
DEFINER_PLPGSQL = """LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, __SCHEMA__, pg_temp
"""

_FUNCTION = """
CREATE OR REPLACE FUNCTION __SCHEMA__.ensure_month_partitions(p_from date, p_months integer)
RETURNS integer
""" + DEFINER_PLPGSQL + """AS $$
DECLARE
    parent text;
    m date;
    part text;
    stmt text;
    created integer := 0;
BEGIN
    IF p_months IS NULL OR p_months < 1 OR p_months > 36 THEN
        RAISE EXCEPTION 'p_months must be 1..36';
    END IF;
    -- One creator at a time (several replicas start together).
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('__LOCK__'));
    FOREACH parent IN ARRAY ARRAY[__PARENTS__] LOOP
        FOR i IN 0 .. p_months - 1 LOOP
            m := (date_trunc('month', p_from) + make_interval(months => i))::date;
            part := parent || '_' || to_char(m, 'YYYY_MM');
            IF pg_catalog.to_regclass('__SCHEMA__.' || part) IS NULL THEN
                BEGIN
                    EXECUTE format('CREATE TABLE __SCHEMA__.%I PARTITION OF __SCHEMA__.%I FOR VALUES FROM (%L) TO (%L)',
                                   part, parent, m::timestamptz, (m + interval '1 month')::timestamptz);
                    FOREACH stmt IN ARRAY ARRAY[__RLS__]::text[] LOOP
                        EXECUTE replace(stmt, '__PART__', part);
                    END LOOP;
                    created := created + 1;
                EXCEPTION WHEN check_violation THEN
                    -- Rows for this month already sit in the DEFAULT partition: leave them there.
                    RAISE WARNING 'partition % not created: rows in the default partition', part;
                END;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$"""


def ensure_month_partitions_sql(schema: str, parents: tuple[str, ...], lock: str | None = None) -> str:
    """The CREATE FUNCTION statement; `lock` names the advisory lock (default
    `<schema>.ensure_month_partitions`; share it with anything else that adds or drops partitions)."""
    for name in (schema, *parents):
        if not _IDENT.match(name):
            raise ValueError(f"bad identifier {name!r}")
    rls = tenant_rls_statements(schema, "__PART__")
    assert all("$rls$" not in stmt for stmt in rls)
    return (_FUNCTION.replace("__RLS__", ", ".join(f"$rls${stmt}$rls$" for stmt in rls))
            .replace("__PARENTS__", ", ".join(f"'{p}'" for p in parents))
            .replace("__LOCK__", lock or f"{schema}.ensure_month_partitions")
            .replace("__SCHEMA__", schema))
