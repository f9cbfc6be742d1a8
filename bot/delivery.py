"""The outbox sender: one task in every `carebot serve` process, any number of them at once.

Rows are claimed in one short transaction (leased), sent with no transaction open, and
finished in another. The one window in which a crash sends a message twice: the platform
accepted it but the process died before the finishing transaction committed (a few
milliseconds); the lease (60 s) then expires and another sender sends the row again. A
platform that accepts a message but answers after the client's timeout
(CAREBOT_PLATFORM_TIMEOUT) causes the same: the attempt is retried. Neither platform's send API
takes an idempotency key that would let us close either.
"""
from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from bot.store import outbox
from bot.store.db import Database
from bot.store.models import Account, Customer, Message, OutboxItem, Thread
from bot.waiting import within

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
BATCH = 20
STALE_PENDING = timedelta(seconds=30)


class Undeliverable(Exception):
    """Raised by a platform sender: `retry` says whether a later attempt may succeed."""

    def __init__(self, reason: str, retry: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry = retry


# platform -> send(account, recipient, text); raises Undeliverable
PlatformSend = Callable[[Account, str, str], Awaitable[None]]


def backoff(attempts: int, rng: random.Random = random.Random()) -> timedelta:
    """Exponential backoff with full jitter: 1 s, 2 s, 4 s ... up to 5 minutes."""
    return timedelta(seconds=rng.uniform(0.5, 1.0) * min(300, 2 ** max(0, attempts - 1)))


class Sender:
    def __init__(self, db: Database, platforms: dict[str, PlatformSend], wake: asyncio.Event) -> None:
        self.db = db
        self.platforms = platforms
        self.wake = wake

    async def run(self, interval: float = 0.5) -> None:
        while True:
            try:
                sent = await self.run_once()
            except Exception:  # the sender must survive a database hiccup; the rows stay leased
                log.exception("outbox sender failed; retrying")
                sent = 0
            if not sent:
                await within(self.wake.wait(), interval)
                self.wake.clear()

    async def run_once(self) -> int:
        now = datetime.now(timezone.utc)
        async with self.db.uow() as session:
            stale = await outbox.stale_pending(session, now - STALE_PENDING)
            if stale:
                await outbox.queue_pending(session, stale, now)
            items = await outbox.claim_due(session, now, BATCH, not self.db.is_sqlite)
        await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def _deliver(self, item: OutboxItem) -> None:
        async with self.db.sessions() as session:
            account = await session.get(Account, item.account_id)
            message = await session.get(Message, item.message_id)
            thread = await session.get(Thread, message.thread_id) if message else None
            customer = await session.get(Customer, thread.customer_id) if thread else None
        now = datetime.now(timezone.utc)
        try:
            if account is None or customer is None:
                raise Undeliverable("account or customer no longer exists", retry=False)
            if customer.unsubscribed:
                raise Undeliverable("客户已取消关注，无法发送", retry=False)
            send = self.platforms.get(account.platform)
            if send is None:
                raise Undeliverable(f"no sender for platform {account.platform}", retry=False)
            await send(account, item.recipient, item.payload["text"])
        except Undeliverable as exc:
            async with self.db.uow() as session:
                if exc.retry and item.attempts + 1 < MAX_ATTEMPTS:
                    await outbox.finish(session, item.id, state="queued", now=now, error=exc.reason,
                                        retry_at=now + backoff(item.attempts + 1))
                else:
                    await outbox.finish(session, item.id, state="failed", now=now, error=exc.reason)
            log.warning("outbox %s: %s", item.id, exc.reason)
            return
        async with self.db.uow() as session:
            await outbox.finish(session, item.id, state="sent", now=now)
