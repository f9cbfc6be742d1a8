"""Wiring shared by the CLI and the server: settings, database, model, NLU workers.

Any command that needs the database creates or upgrades it first; any command that needs
a model and finds none trains one, so a new home works without extra steps. `Runtime.assemble`
is the one place a runtime is put together; `Context` is what every CLI command is given.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import argparse
import asyncio
from dataclasses import dataclass, field
from functools import cached_property

from bot.conversation.pipeline import Conversation
from bot.conversation.retraining import judge_on_test_set
from bot.nlu.pool import NluPool
from bot.nlu.training import ensure_model, load_default_faqs, progress
from bot.settings import Settings
from bot.store.db import Database


class CliError(Exception):
    """A command that cannot do what was asked (a wrong flag, file or account): the CLI prints
    it as one line and exits with `exit_code` (2 for a mistake in what was typed, 1 for one in
    the data), having changed nothing."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def positive(value: str) -> int:
    """An argparse type: an id or a count, 1 or more."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


@dataclass
class Runtime:
    settings: Settings
    db: Database
    pool: NluPool
    conversation: Conversation
    sender_wake: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def assemble(cls, settings: Settings, db: Database, pool: NluPool | None = None) -> "Runtime":
        """The runtime over an open database; its NLU pool (a new one unless given) is not
        started here, so that a server can listen before the model is loaded."""
        pool = pool or NluPool(settings)
        return cls(settings, db, pool, Conversation(db, pool.parse, settings))

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
        model, _ = await ensure_model(db, settings, judge=judge_on_test_set(db, settings, progress), say=progress)
        rt = Runtime.assemble(settings, db)
        await rt.pool.start(model.path)
        try:
            yield rt
        finally:
            await rt.pool.close()


class Context:
    """What every CLI command is given: the settings (read from the environment once, when
    first needed, so that `--help` works with a broken `.env`) and the ways to open the
    database or a whole runtime."""

    @cached_property
    def settings(self) -> Settings:
        return Settings.from_env()

    def database(self):
        """`async with ctx.database() as db`: migrated, with the default FAQs loaded."""
        return database(self.settings)

    def runtime(self):
        """`async with ctx.runtime() as rt`: the database, a model (trained if none) and workers."""
        return runtime(self.settings)

    def local_url(self) -> str:
        """This host's server, as CAREBOT_HOST and CAREBOT_PORT say."""
        return f"http://{self.settings.host}:{self.settings.port}"

    def public_url(self) -> str:
        """How the platforms reach this server (CAREBOT_PUBLIC_URL, else the local URL)."""
        return (self.settings.public_url or self.local_url()).rstrip("/")
