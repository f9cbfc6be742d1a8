"""The retention purge (`CAREBOT_RETENTION_DAYS`): message text older than N days becomes a marker,
and so do its copies (misses, outbox items, audit entries) and the summaries of closed tickets.

Run by every `carebot serve` (a background task, so it owns its transactions) and by `carebot
purge`. It works in batches of BATCH messages, one short transaction each, so a large backlog
never holds locks the webhooks wait for; several servers may purge at once (a batch skips the
rows another one holds, and is idempotent: a row two of them reach is simply marked twice).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store import privacy
from bot.store.db import Database
from bot.store.models import utcnow

log = logging.getLogger(__name__)
BATCH = 500
PAUSE = 0.05  # seconds between batches: the service's own writes get their turn
# what is purged -> one batch of it, in the caller's transaction (bot/store/privacy.py)
PASSES = {"messages": privacy.purge_messages, "tickets": privacy.purge_tickets}


async def purge(db: Database, days: int, now: datetime, *, batch: int = BATCH) -> dict[str, int]:
    """Purge the text of every message (and closed ticket) created more than `days` days
    before `now`; how many of each were purged."""
    purged = dict.fromkeys(PASSES, 0)
    if days <= 0:
        return purged
    cutoff = now - timedelta(days=days)
    for kind, purge_batch in PASSES.items():
        after_id = 0
        while True:
            async with db.uow() as session:
                ids = await purge_batch(session, cutoff, after_id=after_id, limit=batch)
            purged[kind] += len(ids)
            if len(ids) < batch:
                break
            after_id = ids[-1]
            await asyncio.sleep(PAUSE)
    return purged


def described(purged: dict[str, int]) -> str:
    return " and ".join(f"{count} {kind}" for kind, count in purged.items())


class RetentionWatch:
    """Purges every `interval` seconds (the first time soon after start) while the server runs."""

    def __init__(self, db: Database, days: int, *, interval: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.days, self.interval, self.clock = db, days, interval, clock

    async def run(self) -> None:
        while True:
            try:
                purged = await purge(self.db, self.days, self.clock())
                if any(purged.values()):
                    log.info("retention: purged the text of %s older than %d days", described(purged), self.days)
            except Exception:  # a failed pass (the database away) must not end the task: the next one retries
                log.exception("retention purge failed")
            await asyncio.sleep(self.interval)
