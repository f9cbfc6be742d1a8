"""Answering a push within the platform's time budget, for any channel.

The bot's reply goes back passively in the HTTP response when it is ready within the
budget (WeChat drops a request after 5 s); otherwise the push is only acknowledged and the
reply, once ready, goes through the outbox. The handling itself is never cancelled by the
budget: a slow answer is late, never lost.

A platform never resends a push it got an answer for, so nothing is acknowledged before it
is stored: an answer in time was stored by its decision; a push the bot could not decide in
time (too slow, or the NLU down) is kept undecided first, then acknowledged, and decided
later by this process or any other (bot/conversation/recovery.py). Only a database that
cannot store it makes a push fail (5xx), so that the platform sends it again. Channels differ
only in how long one passive reply may be (`split`), which is why this module knows no platform.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from bot.conversation.messages import InboundMessage, Outcome
from bot.runtime import Runtime
from bot.store import outbox
from bot.store.models import Message

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
Split = Callable[[str], list[str]]


async def read_body(request: web.Request) -> bytes:
    """The whole request body, however many TCP segments it came in (`content.read(n)` returns
    only what has arrived so far); refused with 413 past the cap before it is all read."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(MAX_BODY, request.content_length, text="body too large")
    body = bytearray()
    while chunk := await request.content.readany():
        body += chunk
        if len(body) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(MAX_BODY, len(body), text="body too large")
    return bytes(body)


class Intake:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.background: set[asyncio.Task] = set()

    async def passive_reply(self, message: InboundMessage, split: Split) -> str | None:
        """Handle the message; the text to answer in the response, or None to only acknowledge."""
        budget = self.rt.settings.passive_budget
        deadline = asyncio.get_running_loop().time() + budget
        task = self._spawn(self.rt.conversation.handle(message, passive_until=deadline))
        try:
            outcome = await asyncio.wait_for(asyncio.shield(task), budget)
        except asyncio.TimeoutError:
            # too late for a passive answer: once the bot is done, its replies go to the outbox;
            # until then, the message is kept, leased to this process while it decides it
            await self.rt.conversation.keep(message, lease=self.rt.conversation.decision_lease)
            task.add_done_callback(lambda done: self._spawn(self._queue_late(done)))
            return None
        except Exception as exc:  # the NLU is down: kept, decided once it is back
            log.warning("could not decide a %s message now (%r): kept for later", message.platform, exc)
            await self.rt.conversation.keep(message, lease=0)
            return None
        return await self._claim(outcome, split)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    async def _queue_late(self, done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None:  # kept: another attempt decides it
            log.warning("deciding a late message failed: %r", None if done.cancelled() else done.exception())
            return
        outcome: Outcome = done.result()
        if outcome.duplicate:
            return  # the request that stored it answers for it
        if await self.rt.conversation.queue_replies(outcome.reply_ids, passive_too=True):
            self.rt.wake_sender()

    async def _claim(self, outcome: Outcome, split: Split) -> str | None:
        """The passive answer (the first reply, or its first part); the rest goes to the outbox.

        None: acknowledge only (nothing to say, or the outbox has it already).
        """
        if not outcome.reply_ids:
            return None
        first, rest = outcome.reply_ids[0], outcome.reply_ids[1:]
        if outcome.reply_states[0] == "pending":  # a retry of a message answered too late
            async with self.rt.db.uow() as session:
                if not await outbox.claim_passive(session, [first]):
                    return None
        elif outcome.reply_states[0] != "passive":
            return None  # queued or sent through the API
        parts = split(outcome.replies[0])
        if not outcome.duplicate and (len(parts) > 1 or rest):
            async with self.rt.db.uow() as session:
                if len(parts) > 1:
                    message = await session.get(Message, first)
                    await outbox.enqueue(session, message, parts[1:], self.rt.conversation.clock())
                if rest:
                    await outbox.queue_pending(session, rest, self.rt.conversation.clock(), passive_too=True)
            self.rt.wake_sender()
        return parts[0]

    async def close(self) -> None:
        """Let handling that outlived its request finish (its replies go to the outbox)."""
        if self.background:
            await asyncio.wait(self.background, timeout=10)
