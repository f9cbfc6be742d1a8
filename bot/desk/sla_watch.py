"""The SLA breach checker every `carebot serve` runs, and the optional breach webhook.

Any number of processes check at once; `mark_breaches` makes sure each breach is reported
by exactly one of them. The webhook POST runs on its own task behind a queue: a slow or
failing receiver costs retries and a log line, never a delayed check. A background task, it
opens its own transaction for each pass (no request to take one from).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlsplit

import aiohttp

from bot.desk import events
from bot.store.sla import Breach, mark_breaches
from bot.store.db import Database
from bot.store.models import utcnow

log = logging.getLogger(__name__)


class BreachWebhook:
    """POSTs each breach as JSON; retries with backoff, then gives up with a log line."""

    def __init__(self, url: str, *, attempts: int = 4, base_delay: float = 0.5, timeout: float = 5.0) -> None:
        self.url = url
        self.attempts, self.base_delay = attempts, base_delay
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.queue: asyncio.Queue[Breach] = asyncio.Queue(maxsize=10_000)
        self._where = urlsplit(url).netloc  # the URL may carry a token: only the host is logged

    def submit(self, breach: Breach) -> None:
        try:
            self.queue.put_nowait(breach)
        except asyncio.QueueFull:
            log.error("SLA webhook queue full, dropping breach of %s", breach.number)

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            while True:
                breach = await self.queue.get()
                await self._deliver(http, breach)

    async def _deliver(self, http: aiohttp.ClientSession, breach: Breach) -> bool:
        problem = ""
        for attempt in range(self.attempts):
            try:
                async with http.post(self.url, json=breach.as_json()) as response:
                    if response.status < 300:
                        return True
                    problem = f"HTTP {response.status}"
                    if 400 <= response.status < 500 and response.status not in (408, 429):
                        break  # the receiver refuses this request: sending it again will not help
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                problem = type(exc).__name__
            if attempt + 1 < self.attempts:
                await asyncio.sleep(self.base_delay * 2 ** attempt * (0.5 + random.random()))
        log.error("SLA webhook to %s failed for %s (%s): %s", self._where, breach.number, breach.kind, problem)
        return False


class SlaWatch:
    def __init__(self, db: Database, *, interval: float, webhook: BreachWebhook | None = None,
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
        tasks = [asyncio.create_task(self.webhook.run())] if self.webhook is not None else []
        try:
            while True:
                try:
                    await self.check()
                except Exception:  # a database hiccup: try again next round
                    log.exception("SLA check failed")
                await asyncio.sleep(self.interval)
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
