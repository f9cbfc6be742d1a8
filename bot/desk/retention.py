"""The retention purge (`CAREBOT_RETENTION_DAYS`): message text older than N days becomes a marker.

Run by every `carebot serve` (a background task, so it owns its transactions) and by `carebot
purge`. It works in batches of BATCH messages, one short transaction each, so a large backlog
never holds locks the webhooks wait for; several servers may purge at once (each batch is
idempotent: a row two of them reach is simply marked twice).
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


async def purge(db: Database, days: int, now: datetime, *, batch: int = BATCH) -> int:
    """Purge every message created more than `days` days before `now`; how many were purged."""
    if days <= 0:
        return 0
    cutoff, after_id, total = now - timedelta(days=days), 0, 0
    while True:
        async with db.uow() as session:
            ids = await privacy.purge_batch(session, cutoff, after_id=after_id, limit=batch)
        total += len(ids)
        if len(ids) < batch:
            return total
        after_id = ids[-1]
        await asyncio.sleep(PAUSE)


class RetentionWatch:
    """Purges every `interval` seconds (the first time soon after start) while the server runs."""

    def __init__(self, db: Database, days: int, *, interval: float,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.days, self.interval, self.clock = db, days, interval, clock

    async def run(self) -> None:
        while True:
            try:
                purged = await purge(self.db, self.days, self.clock())
                if purged:
                    log.info("retention: purged the text of %d messages older than %d days", purged, self.days)
            except Exception:  # a failed pass (the database away) must not end the task: the next one retries
                log.exception("retention purge failed")
            await asyncio.sleep(self.interval)
