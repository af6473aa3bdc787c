"""Operator commands (run where TENANT_DATABASE_URL, TENANT_PII_KEYS and TENANT_PII_INDEX_KEY are set):

    python -m services.tenant.admin rotate-pii [--batch 500]   # re-encrypt roster PII under the first key

`rotate-pii` re-encrypts every stored phone number and email (students, teachers, parents) under
the first TENANT_PII_KEYS key and recomputes its blind index under TENANT_PII_INDEX_KEY, for the
rows whose `pii_key_id` is not the current keys' id. It walks each table and zone in primary-key
order (keyset), `--batch` rows per transaction, rows locked while they are rewritten, printing a
progress line. Resumable: a stopped run leaves finished rows marked with the new id and the next
run starts on the rest. Idempotent: a run with nothing left changes nothing ("0 rows"). Each
zone where rows changed gets a `tenant.pii.key_rotated` audit record (`megacity.audit`).
Procedure: docs/runbooks/pii-key-rotation.md.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from megacity.audit import AuditActor, record_audit
from megacity.db import TenantContext, tenant_transaction
from megacity.zones import registry
from services.tenant.pii import TenantPii

BATCH = 500
# table -> its personal-data columns and how each is indexed (the columns of migration 0011)
TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "students": (("parent_phone", "phone"), ("email", "email"), ("parent_email", "email")),
    "teachers": (("email", "email"), ("phone", "phone")),
    "parents": (("email", "email"), ("phone", "phone")),
}


@dataclass
class Rotation:
    """What a run did: rows rewritten per table and per zone, and the key ids it replaced."""

    key_id: str
    rows: dict[str, int] = field(default_factory=dict)
    zones: dict[int, dict[str, int]] = field(default_factory=dict)
    replaced: set[str] = field(default_factory=set)
    zone_replaced: dict[int, set[str]] = field(default_factory=dict)  # the audit names a zone's own

    @property
    def total(self) -> int:
        return sum(self.rows.values())


class ProgressLine:
    """One line on a terminal (rewritten in place), a line per step elsewhere (logs)."""

    def __init__(self, out: TextIO, total: int) -> None:
        self.out, self.total, self.done, self.started = out, total, 0, time.monotonic()
        self.tty = out.isatty()

    def advance(self, n: int, label: str) -> None:
        self.done += n
        rate = self.done / max(time.monotonic() - self.started, 1e-6)
        pct = 100.0 * self.done / self.total if self.total else 100.0
        width = 30
        bar = "#" * int(width * pct / 100) + "-" * (width - int(width * pct / 100))
        line = f"rotate-pii [{bar}] {self.done}/{self.total} rows ({pct:.0f}%) {rate:,.0f} rows/s {label}"
        self.out.write(("\r" + line) if self.tty else line + "\n")
        self.out.flush()

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


async def pending_rows(sessions: async_sessionmaker[AsyncSession], pii: TenantPii) -> dict[str, int]:
    """Rows per table still written under other keys than the current ones."""
    out = dict.fromkeys(TABLES, 0)
    for zone in registry().zones:
        async with tenant_transaction(sessions, TenantContext(zone_id=zone.id, role="zone_admin")) as s:
            for table in TABLES:
                out[table] += (await s.execute(text(
                    f"SELECT count(*) FROM tenant.{table} WHERE zone_id = :z AND pii_key_id <> :kid"),
                    {"z": zone.id, "kid": pii.key_id})).scalar_one()
    return out


def _reseal(pii: TenantPii, kind: str, token: str | None) -> tuple[str | None, bytes | None]:
    """Decrypt with any configured key, encrypt with the first, index with the current index key."""
    value = pii.open(token, where=f"rotate-pii:{kind}")
    return pii.seal_phone(value) if kind == "phone" else pii.seal_email(value)


async def _rotate_chunk(s: AsyncSession, pii: TenantPii, table: str, zone_id: int,
                        after: tuple[uuid.UUID, uuid.UUID], batch: int) -> tuple[Sequence[Any], set[str]]:
    columns = TABLES[table]
    rows = (await s.execute(text(
        f"SELECT org_id, id, pii_key_id, {', '.join(f'{c}_encrypted' for c, _ in columns)} FROM tenant.{table}"
        " WHERE zone_id = :z AND pii_key_id <> :kid AND (org_id, id) > (:o, :i)"
        " ORDER BY org_id, id LIMIT :n FOR UPDATE"),
        {"z": zone_id, "kid": pii.key_id, "o": after[0], "i": after[1], "n": batch})).all()
    if not rows:
        return [], set()
    params: dict[str, Any] = {"z": zone_id, "kid": pii.key_id, "o": [r.org_id for r in rows],
                              "i": [r.id for r in rows]}
    for column, kind in columns:
        sealed = [_reseal(pii, kind, getattr(r, f"{column}_encrypted")) for r in rows]
        params[f"{column}_e"], params[f"{column}_i"] = [e for e, _ in sealed], [i for _, i in sealed]
    sets = ", ".join(f"{c}_encrypted = v.{c}_e, {c}_index = v.{c}_i" for c, _ in columns)
    arrays = ", ".join(f"CAST(:{c}_e AS text[]), CAST(:{c}_i AS bytea[])" for c, _ in columns)
    names = ", ".join(f"{c}_e, {c}_i" for c, _ in columns)
    await s.execute(text(
        f"UPDATE tenant.{table} t SET {sets}, pii_key_id = :kid"
        f" FROM unnest(CAST(:o AS uuid[]), CAST(:i AS uuid[]), {arrays}) AS v(o, i, {names})"
        " WHERE t.zone_id = :z AND t.org_id = v.o AND t.id = v.i"), params)
    return rows, {r.pii_key_id for r in rows}


async def rotate_pii(sessions: async_sessionmaker[AsyncSession], pii: TenantPii, *, batch: int = BATCH,
                     progress: Callable[[int, str], None] | None = None) -> Rotation:
    """Re-encrypt and re-index every row not under the current keys (see module doc); one
    transaction per `batch` rows of one table in one zone (RLS bounds a context to a zone)."""
    result = Rotation(pii.key_id, rows=dict.fromkeys(TABLES, 0))
    start = (uuid.UUID(int=0), uuid.UUID(int=0))
    for zone in registry().zones:
        for table in TABLES:
            after = start
            while True:
                async with tenant_transaction(sessions, TenantContext(zone_id=zone.id, role="zone_admin")) as s:
                    rows, replaced = await _rotate_chunk(s, pii, table, zone.id, after, batch)
                if not rows:
                    break
                after = (rows[-1].org_id, rows[-1].id)
                result.rows[table] += len(rows)
                zone_rows = result.zones.setdefault(zone.id, dict.fromkeys(TABLES, 0))
                zone_rows[table] += len(rows)
                result.replaced |= replaced
                result.zone_replaced.setdefault(zone.id, set()).update(replaced)
                if progress is not None:
                    progress(len(rows), f"{zone.key} {table}")
        if zone.id in result.zones:
            async with tenant_transaction(sessions, TenantContext(zone_id=zone.id, role="zone_admin")) as s:
                await record_audit(s, schema="tenant", actor=AuditActor.system("pii-rotate"), zone_id=zone.id,
                                   org_id=None, target_type="pii_key", target_id=pii.key_id,
                                   action="tenant.pii.key_rotated", before={"key_ids": sorted(result.zone_replaced[zone.id])},
                                   after={"key_id": pii.key_id, "rows": result.zones[zone.id]})
    return result


async def _run(args: argparse.Namespace) -> None:
    from megacity.db import make_engine, make_sessionmaker
    from services.tenant.pii import tenant_pii
    from services.tenant.settings import Settings

    settings = Settings()
    if not settings.database_url:
        raise SystemExit("TENANT_DATABASE_URL is not set")
    engine = make_engine(settings.database_url, pool_size=1)
    sessions = make_sessionmaker(engine)
    pii = tenant_pii(settings)
    try:
        total = sum((await pending_rows(sessions, pii)).values())
        line = ProgressLine(sys.stderr, total)
        try:
            done = await rotate_pii(sessions, pii, batch=args.batch, progress=line.advance)
        finally:
            line.close()
        per_table = ", ".join(f"{t} {n}" for t, n in done.rows.items())
        print(f"re-encrypted {done.total} rows ({per_table}) under keys {pii.key_id}")
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m services.tenant.admin", description="Tenant operator commands.")
    sub = parser.add_subparsers(dest="command", required=True)
    rotate = sub.add_parser("rotate-pii", help="re-encrypt roster phones and emails under the first TENANT_PII_KEYS key")
    rotate.add_argument("--batch", type=int, default=BATCH, help="rows per transaction (default %(default)s)")
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
