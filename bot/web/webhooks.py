"""Webhook routes: `/webhooks/wechat/{slug}`.

The bot's reply goes back passively in the HTTP response when it is ready within the
budget (WeChat drops a request after 5 s); otherwise the push is acknowledged with
`success` and the reply, once ready, goes through the outbox. The handling itself is never
cancelled by the budget: a slow answer is late, never lost.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.channels import wechat
from bot.conversation.messages import Outcome
from bot.runtime import Runtime
from bot.secret_box import SecretKeyError, unseal
from bot.store import outbox, threads
from bot.store.models import Account, Message

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
ACCOUNT_TTL = 10.0  # seconds a changed account takes to apply
ACK = "success"


def wechat_credentials(account: Account) -> wechat.Credentials:
    sealed = account.credentials or {}
    return wechat.Credentials(app_id=account.app_id or "", secret=unseal(sealed["secret"]),
                              token=unseal(sealed["token"]),
                              aes_key=unseal(sealed["aes_key"]) if sealed.get("aes_key") else None)


class WeChatWebhook:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.background: set[asyncio.Task] = set()
        self._accounts: dict[str, tuple[float, wechat.Credentials]] = {}

    async def _account(self, slug: str) -> wechat.Credentials:
        """The account's credentials, cached briefly (read and unsealed for every push)."""
        now = asyncio.get_running_loop().time()
        cached = self._accounts.get(slug)
        if cached and now - cached[0] < ACCOUNT_TTL:
            return cached[1]
        async with self.rt.db.sessions() as session:
            account = await threads.account_by_slug(session, slug)
        if account is None or account.platform != wechat.PLATFORM:
            raise web.HTTPNotFound(text=f"no WeChat account {slug!r}")
        try:
            credentials = wechat_credentials(account)
        except SecretKeyError as exc:
            log.error("account %s: %s", slug, exc)
            raise web.HTTPServiceUnavailable(text="account credentials unavailable") from None
        self._accounts[slug] = (now, credentials)
        return credentials

    async def verify(self, request: web.Request) -> web.Response:
        credentials = await self._account(request.match_info["slug"])
        try:
            return web.Response(text=wechat.verify_url(credentials, dict(request.query)))
        except wechat.WebhookError as exc:
            return web.Response(status=exc.status, text=exc.reason)

    async def receive(self, request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return web.Response(status=413, text="body too large")
        body = await request.content.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            return web.Response(status=413, text="body too large")
        credentials = await self._account(request.match_info["slug"])
        try:
            push = wechat.parse_push(credentials, request.match_info["slug"], dict(request.query), body,
                                     self.rt.settings.replay_window)
        except wechat.WebhookError as exc:
            log.info("refused WeChat push: %s", exc.reason)
            return web.Response(status=exc.status, text=exc.reason)
        budget = self.rt.settings.passive_budget
        deadline = asyncio.get_running_loop().time() + budget
        task = asyncio.ensure_future(self.rt.conversation.handle(push.message, passive_until=deadline))
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        try:
            outcome = await asyncio.wait_for(asyncio.shield(task), budget)
        except asyncio.TimeoutError:
            # too late for a passive answer: once the bot is done, its replies go to the outbox
            task.add_done_callback(lambda done: self._spawn(self._queue_late(done)))
            return web.Response(text=ACK)
        reply = await self._claim(outcome)
        if reply is None:
            return web.Response(text=ACK)
        return web.Response(text=wechat.render_reply(push, credentials, reply), content_type="application/xml")

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _queue_late(self, done: asyncio.Future) -> None:
        if done.cancelled() or done.exception() is not None:
            log.error("handling a WeChat message failed: %r", None if done.cancelled() else done.exception())
            return
        outcome: Outcome = done.result()
        if outcome.duplicate:
            return  # the request that stored it answers for it
        if await self.rt.conversation.queue_replies(outcome.reply_ids, passive_too=True):
            self.rt.wake_sender()

    async def _claim(self, outcome: Outcome) -> str | None:
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
        parts = wechat.split_content(outcome.replies[0])
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
