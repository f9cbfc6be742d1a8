"""What every channel's webhook does the same way: find the account's credentials (cached
briefly), verify the GET check, and for a POST read the capped body, verify and parse it,
let the intake answer within the budget and render the platform's passive reply.

Each channel says only how its pushes are verified, parsed and answered (`WeChatWebhook`,
`WeiboWebhook`); answering in time is the platform-free intake's (bot/channels/intake.py).
"""
from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from typing import Any, Generic, TypeVar

from aiohttp import web

from bot.channels.signed_push import WebhookError
from bot.conversation.messages import InboundMessage
from bot.runtime import Runtime
from bot.secret_box import SecretKeyError
from bot.store import accounts
from bot.store.models import Account
from bot.telemetry import WEBHOOK_SECONDS
from bot.channels.intake import Intake, Split, read_body

log = logging.getLogger(__name__)
ACCOUNT_TTL = 10.0  # seconds a changed account takes to apply
C = TypeVar("C")  # a channel's credentials
P = TypeVar("P")  # a channel's verified push (with its InboundMessage as `message`)


class ChannelWebhook(ABC, Generic[C, P]):
    platform = ""
    label = ""  # how messages name the platform
    ack = ""  # the body that acknowledges a push without a reply
    content_type = "text/plain"  # of a passive reply

    def __init__(self, rt: Runtime, intake: Intake) -> None:
        self.rt = rt
        self.intake = intake
        self._accounts: dict[str, tuple[float, C]] = {}

    # --- what each channel says ---
    @abstractmethod
    def credentials(self, account: Account) -> C:
        ...

    @abstractmethod
    def verify_url(self, credentials: C, query: dict[str, str]) -> str:
        ...

    @abstractmethod
    def parse(self, credentials: C, slug: str, query: dict[str, str], body: bytes) -> P:
        ...

    @abstractmethod
    def split(self, push: P) -> Split:
        ...

    @abstractmethod
    def render(self, push: P, credentials: C, reply: str) -> str:
        ...

    # --- the same for every channel ---
    async def account(self, slug: str) -> C:
        """The credentials, cached briefly (read and unsealed for every push otherwise);
        404 for an unknown slug, 503 when they cannot be unsealed."""
        now = asyncio.get_running_loop().time()
        cached = self._accounts.get(slug)
        if cached and now - cached[0] < ACCOUNT_TTL:
            return cached[1]
        async with self.rt.db.sessions() as session:
            account = await accounts.by_slug(session, slug)
        if account is None or account.platform != self.platform:
            raise web.HTTPNotFound(text=f"no {self.label} account {slug!r}")
        try:
            credentials = self.credentials(account)
        except (SecretKeyError, KeyError) as exc:
            log.error("account %s: %s", slug, exc)
            raise web.HTTPServiceUnavailable(text="account credentials unavailable") from None
        self._accounts[slug] = (now, credentials)
        return credentials

    async def verify(self, request: web.Request) -> web.Response:
        credentials = await self.account(request.match_info["slug"])
        try:
            return web.Response(text=self.verify_url(credentials, dict(request.query)))
        except WebhookError as exc:
            return web.Response(status=exc.status, text=exc.reason)

    async def receive(self, request: web.Request) -> web.Response:
        body = await read_body(request)
        credentials = await self.account(request.match_info["slug"])
        try:
            push = self.parse(credentials, request.match_info["slug"], dict(request.query), body)
        except WebhookError as exc:
            log.info("refused %s push: %s", self.label, exc.reason)
            return web.Response(status=exc.status, text=exc.reason)
        message: InboundMessage = push.message  # type: ignore[attr-defined]  # every channel's Push has one
        reply = await self.intake.passive_reply(message, self.split(push))
        if reply is None:
            return web.Response(text=self.ack)
        return web.Response(text=self.render(push, credentials, reply), content_type=self.content_type)


def routes(app: web.Application, hook: ChannelWebhook[Any, Any]) -> None:
    timer = WEBHOOK_SECONDS.labels(hook.platform)  # bound once: one observe per push, nothing more

    async def receive(request: web.Request) -> web.Response:
        with timer.time():
            return await hook.receive(request)

    app.router.add_get(f"/webhooks/{hook.platform}/{{slug}}", hook.verify)
    app.router.add_post(f"/webhooks/{hook.platform}/{{slug}}", receive)
