"""What the end-to-end tests of every channel share: carebot's real web app on a free
loopback port (real model, real database), and polling the database with a timeout."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.nlu.pool import NluPool
from bot.nlu.training import ensure_model
from bot.runtime import Runtime, database
from bot.settings import Settings
from bot.store.models import Message
from bot.web.app import create_app
from bot.web.hardening import app_runner

SECRET_KEY = "test-secret-key-of-at-least-32-characters"


@asynccontextmanager
async def serving(nlu_pool: NluPool, settings: Settings,
                  setup: Callable[[AsyncSession], Awaitable[object]]) -> AsyncIterator[tuple[str, Runtime]]:
    """carebot's app on 127.0.0.1 (base URL, runtime); `setup` adds accounts first."""
    async with database(settings) as db:
        async with db.uow() as session:
            await setup(session)
        await ensure_model(db, settings, say=lambda _: None)
        rt = Runtime.assemble(settings, db, nlu_pool)
        runner = app_runner(create_app(rt), settings)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        try:
            yield f"http://127.0.0.1:{port}", rt
        finally:
            await runner.cleanup()  # stops the app's tasks; the shared worker lives on


async def wait_for(predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0, every: float = 0.05) -> bool:
    """Whether `predicate` comes true within `timeout` seconds (asked every `every` s)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return True
        await asyncio.sleep(every)
    return False


@dataclass
class Probe:
    """Looking into carebot's database from a test."""

    rt: Runtime

    async def count(self, model, *where) -> int:
        async with self.rt.db.sessions() as session:
            return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()

    async def wait_for(self, predicate: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> bool:
        return await wait_for(predicate, timeout)

    async def reaches(self, state: str, n: int = 1) -> bool:
        """Whether `n` messages reach delivery state `state` (sent, failed ...) in time."""

        async def there() -> bool:
            return await self.count(Message, Message.state == state) == n

        return await self.wait_for(there)
