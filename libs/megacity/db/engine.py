"""Async SQLAlchemy engines on psycopg 3.

Server-side prepared statements are off by default (prepare_threshold=None) because PgBouncer
in transaction mode hands each transaction a different server connection.
"""
from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """Normalise postgres://, postgresql:// and postgresql+psycopg:// to the psycopg dialect."""
    u = make_url(url.replace("postgres://", "postgresql://", 1))
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def with_database(base_url: str, dbname: str, user: str | None = None) -> str:
    """`base_url` pointed at another database (and, if given, another role without password)."""
    u = make_url(base_url.replace("postgres://", "postgresql://", 1))
    if user:
        u = u.set(username=user, password=None)
    return u.set(database=dbname).render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 10, prepare_threshold: int | None = None) -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"prepare_threshold": prepare_threshold, "connect_timeout": 5},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
