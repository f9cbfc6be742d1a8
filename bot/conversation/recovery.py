"""Deciding the messages that were stored but not decided, in whatever process is alive.

A webhook that cannot decide a push in time (the NLU is down, or slower than the passive
budget) keeps it undecided and acknowledges it (pipeline.keep). Every `carebot serve` runs
this loop: it leases undecided messages whose lease has run out (the process that kept them
died, or could not decide them), decides them like any message and hands the replies to the
outbox. The decision adopts the stored row under the thread's lock, so a message decided by
two processes at once is still decided, stored and answered once.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from bot.conversation.messages import InboundMessage, Outcome
from bot.conversation.pipeline import Conversation
from bot.store import undecided

log = logging.getLogger(__name__)
BATCH = 64
RETRY_AFTER = timedelta(seconds=2)  # a message that could not be decided is tried again this much later


class Recovery:
    def __init__(self, conversation: Conversation, queued: Callable[[], None]) -> None:
        self.conversation = conversation
        self.queued = queued  # replies went to the outbox: wake the sender
        self.lease = timedelta(seconds=conversation.decision_lease)

    async def run(self, interval: float = 1.0) -> None:
        while True:
            try:
                done = await self.run_once()
            except Exception:  # the loop must survive a database hiccup; the leases run out
                log.exception("recovering undecided messages failed; retrying")
                done = 0
            if done < BATCH:
                await asyncio.sleep(interval)

    async def run_once(self) -> int:
        """Lease the due undecided messages and decide them; how many were taken."""
        db, clock = self.conversation.db, self.conversation.clock
        now = clock()
        async with db.uow() as session:
            claimed = await undecided.claim_due(session, now, now + self.lease, BATCH, not db.is_sqlite)
        if not claimed:
            return 0
        results = await asyncio.gather(*(self.conversation.handle(_inbound(c)) for c in claimed),
                                       return_exceptions=True)
        failed = [c.message.id for c, r in zip(claimed, results) if isinstance(r, BaseException)]
        if failed:
            log.warning("%d undecided messages could not be decided yet (%r); again in %s s",
                        len(failed), next(r for r in results if isinstance(r, BaseException)),
                        RETRY_AFTER.total_seconds())
            async with db.uow() as session:
                await undecided.release(session, failed, clock() + RETRY_AFTER)
        replies = [i for r in results if isinstance(r, Outcome) and not r.duplicate for i in r.reply_ids]
        if replies and await self.conversation.queue_replies(replies):
            self.queued()
        log.info("recovered %d of %d undecided messages", len(claimed) - len(failed), len(claimed))
        return len(claimed)


def _inbound(claimed: undecided.Claimed) -> InboundMessage:
    """The message as its webhook parsed it, from the stored row."""
    row, envelope = claimed.message, claimed.message.envelope or {}
    return InboundMessage(platform=claimed.platform, account=claimed.account, sender=claimed.sender,
                          text=row.text, msg_type=row.msg_type, dedupe_key=row.dedupe_key, raw=row.raw,
                          event=envelope.get("event"), event_key=envelope.get("event_key"),
                          public=bool(envelope.get("public")), received_at=row.created_at)
