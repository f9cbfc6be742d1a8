"""The SLA breach checker every `carebot serve` runs, reporting to the optional breach webhook
(bot/desk/webhook.py).

Any number of processes check at once; `mark_breaches` makes sure each breach is reported
by exactly one of them. A background task, it opens its own transaction for each pass (no
request to take one from).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.desk import events
from bot.desk.webhook import WebhookPoster, every
from bot.store.sla import Breach, mark_breaches
from bot.store.db import Database
from bot.store.models import utcnow

log = logging.getLogger(__name__)


class SlaWatch:
    def __init__(self, db: Database, *, interval: float, webhook: WebhookPoster | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db, self.interval, self.webhook, self.clock = db, interval, webhook, clock

    async def check(self) -> list[Breach]:
        """One pass: mark and announce (pages hear of it when the marks commit), then the webhook."""
        async with self.db.uow() as session:
            breaches = await mark_breaches(session, self.clock())
            for breach in breaches:
                await events.publish(session, "sla", kind=breach.kind, ticket_id=breach.ticket_id,
                                     thread_id=breach.thread_id, account_id=breach.account_id)
        for breach in breaches:
            log.warning("SLA %s breached: ticket %s (%s, %s)", breach.kind, breach.number, breach.account,
                        breach.priority)
            if self.webhook is not None:
                self.webhook.submit(breach)
        return breaches

    async def run(self) -> None:
        await every(self.interval, self.check, "SLA check", self.webhook)
