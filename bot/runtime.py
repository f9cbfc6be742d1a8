"""Wiring shared by the CLI and the server: settings, database, model, NLU workers.

Any command that needs the database creates or upgrades it first; any command that needs
a model and finds none trains one, so a new home works without extra steps.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import asyncio
from dataclasses import dataclass, field

from bot.conversation.pipeline import Conversation
from bot.nlu.pool import NluPool
from bot.nlu.training import ensure_model, load_default_faqs, progress
from bot.settings import Settings
from bot.store.db import Database


@dataclass
class Runtime:
    settings: Settings
    db: Database
    pool: NluPool
    conversation: Conversation
    sender_wake: asyncio.Event = field(default_factory=asyncio.Event)

    def wake_sender(self) -> None:
        """New rows in the outbox: the sender need not wait for its next poll."""
        self.sender_wake.set()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    db = Database(settings.database_url)
    try:
        await db.migrate()
        await load_default_faqs(db, settings)
        yield db
    finally:
        await db.dispose()


@asynccontextmanager
async def runtime(settings: Settings | None = None) -> AsyncIterator[Runtime]:
    settings = settings or Settings.from_env()
    async with database(settings) as db:
        model, _ = await ensure_model(db, settings, say=progress)
        pool = NluPool(settings)
        await pool.start(model.path)
        try:
            yield Runtime(settings, db, pool, Conversation(db, pool.parse, settings))
        finally:
            await pool.close()
