"""Engine, unit of work and migrations.

One `Database` per process. Each piece of work runs in a unit of work (`async with
db.uow() as session`): it commits on success and rolls back on error, so a failure half
way never leaves half a conversation step stored.

SQLite: Python's sqlite3 driver runs its own transactions (BEGIN only before a data change,
none before SAVEPOINT), so a savepoint opened before the unit of work's first change became
the transaction itself and its RELEASE committed: an error later in the unit of work could
not roll back what was written until then. The driver's handling is switched off and the transaction
begun here instead (SQLAlchemy's recipe for pysqlite/aiosqlite): a unit of work begins
IMMEDIATE, taking the one write lock at once (waiting up to busy_timeout for it), because a
deferred transaction that read first cannot take the lock later once another process has
written (SQLITE_BUSY at once, busy_timeout or not); a read-only session begins DEFERRED and
reads one snapshot.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BEGIN = "carebot_sqlite_begin"  # execution option: the BEGIN a SQLite connection emits
IMMEDIATE = {SQLITE_BEGIN: "IMMEDIATE"}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver emits no BEGIN/COMMIT of its own
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql(f"BEGIN {connection.get_execution_options().get(SQLITE_BEGIN, 'DEFERRED')}")


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            Path(url.split(":///", 1)[1]).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(url)
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        else:
            self.engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            async with session.begin():
                if self.is_sqlite:  # the write lock from the start (see the module's docstring)
                    await session.connection(execution_options=IMMEDIATE)
                yield session

    async def migrate(self) -> None:
        """Create or upgrade the schema to the latest revision (idempotent)."""
        async with self.engine.execution_options(**IMMEDIATE).begin() as connection:
            await connection.run_sync(_upgrade)

    async def dispose(self) -> None:
        await self.engine.dispose()


async def notify(session: AsyncSession, channel: str, payload: str) -> None:
    """PostgreSQL NOTIFY, sent when the session's transaction commits (nothing on rollback)."""
    await session.execute(select(func.pg_notify(channel, payload)))


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "heads")


def run(coro: Any) -> Any:
    """Run a coroutine from synchronous CLI code."""
    return asyncio.run(coro)
